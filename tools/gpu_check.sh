#!/usr/bin/env bash
# One-call GPU check (`make gpu-check`): build the CUDA kernels, run the CUDA tests, the op
# and tracker benchmarks on the GPU and a short training-throughput run, all into one
# report. Every step runs even when an earlier one fails; the exit status says whether
# all passed.  Usage: tools/gpu_check.sh [REPORT]   (default: gpu_check_report.md)
# It installs nothing: it builds the extension in place against the CUDA torch already
# there (GPU machines often have no network; a missing package is named in the first step).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
REPORT=${1:-gpu_check_report.md}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
source tools/report_steps.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the package from this checkout

{ echo "# rasnet_plugin GPU check"; echo; date -u; } > "$REPORT"
step "device" bash -c "nvidia-smi -L; $PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))'"
step "python packages" $PY -c "
import importlib.util
need = ['torch', 'numpy', 'yacs', 'cv2', 'skimage', 'tqdm', 'matplotlib', 'pytest', 'hypothesis']
missing = [m for m in need if importlib.util.find_spec(m) is None]
print('missing:', ' '.join(missing) or 'none')
raise SystemExit(1 if missing else 0)"
step "build with CUDA" env RASNET_WITH_CUDA=1 $PY setup.py -q build_ext --inplace
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
