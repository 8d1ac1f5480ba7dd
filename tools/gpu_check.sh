#!/usr/bin/env bash
# One-call GPU check (`make gpu-check`): build the CUDA kernels, run the CUDA tests, the op
# and tracker benchmarks on the GPU and a short training-throughput run, all into one
# report. Every step runs even when an earlier one fails; the exit status says whether
# all passed.  Usage: tools/gpu_check.sh [REPORT]   (default: gpu_check_report.md)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
REPORT=${1:-gpu_check_report.md}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failed=0

step() {  # step TITLE COMMAND...: run, log its output and status into the report
  local title=$1; shift
  echo "== $title"
  { echo; echo "## $title"; echo; echo '```'; echo "\$ $*"; } >> "$REPORT"
  local t0=$SECONDS
  "$@" >> "$REPORT" 2>&1
  local rc=$?
  { echo "(exit $rc, $((SECONDS - t0)) s)"; echo '```'; } >> "$REPORT"
  [ $rc -eq 0 ] || { failed=1; echo "   FAILED (exit $rc)"; }
}

{ echo "# rasnet_plugin GPU check"; echo; date -u; } > "$REPORT"
step "device" bash -c "nvidia-smi -L; $PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))'"
step "build with CUDA" env RASNET_WITH_CUDA=1 $PY -m pip install -q --no-build-isolation --no-deps -e .
step "CUDA kernels loaded" $PY -c "import rasnet_plugin.ops as o; from rasnet_plugin import _extension as e; import torch; assert torch.cuda.is_available() and e.has_cuda_kernels(), e.load_error(); print('fused op with CUDA kernels')"
step "CUDA tests" env RASNET_REQUIRE_FUSED=1 $PY -m pytest -q -rs -k cuda tests
step "op benchmark (CUDA)" $PY tools/bench_op.py --device cuda
step "tracker benchmark (CUDA)" $PY tools/bench.py --device cuda --precision fp32 bf16
# training throughput on synthetic stills (no dataset needed): pairs/s from train_log.csv
step "training throughput (CUDA)" bash -c "
$PY - '$WORK/stills' <<'PYEOF'
import sys, os, numpy as np, cv2
os.makedirs(sys.argv[1], exist_ok=True)
for k in range(32):
    n = cv2.GaussianBlur(np.random.default_rng(k).random((360, 480, 3)).astype(np.float32), (0, 0), 3)
    cv2.imwrite(os.path.join(sys.argv[1], 'still%02d.jpg' % k), (255 * (n - n.min()) / (n.max() - n.min())).astype(np.uint8))
PYEOF
$PY tools/train.py --config experiments/rasnet.yaml --device cuda --output '$WORK/train' --no-progress \
    --data still='$WORK/stills' --max-steps 60 --set TRAIN.BATCH_SIZE 32 TRAIN.VAL_PAIRS 0 TRAIN.NUM_WORKERS 8 &&
tail -n 5 '$WORK/train/train_log.csv'"
echo "report: $REPORT"
exit $failed
