#!/usr/bin/env bash
# One-call CPU speed report (`make cpu-check`): the measurements behind README's speed
# tables, on this machine, into one report: which CPU and ISA, the fused op against the
# plain formula, the tracker per precision, and (given a siamfc-pytorch checkout) the
# tracker against siamfc-pytorch, quiet and beside one busy process.  Run it on a quiet
# machine (no training or tests beside it).  Every step runs even when an earlier one
# fails; the exit status says whether all passed.
#   Usage: tools/cpu_check.sh [REPORT] [SIAMFC_PYTORCH_CHECKOUT]   (default: cpu_check_report.md)
# The sequences are $RASNET_TEST_DATA's when it is set (README's tables), else the bundled
# benchmark's; the peer step needs a sequence named Crossing, so it runs only with both.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
REPORT=${1:-cpu_check_report.md}
PEER=${2:-${SIAMFC_PYTORCH:-}}
source tools/report_steps.sh

{ echo "# rasnet_plugin CPU check"; echo; date -u; } > "$REPORT"
step "machine" bash -c "lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Core|Socket|L2|L3'; \
$PY -c 'import torch, rasnet_plugin.ops as o; from rasnet_plugin import hardware as h, _extension as e; \
print(\"torch\", torch.__version__, \"|\", h.describe(), \"| fused op:\", o.has_fused(), e.cpu_isa(), \
\"| precision auto ->\", h.resolve_precision(\"auto\"))'"
step "op benchmark" $PY tools/bench_op.py --device cpu --repeat 30
step "tracker benchmark (AlexNet)" $PY tools/bench.py --config rasnet --precision fp32 bf16 --quantize none int8 --repeat 2
step "tracker benchmark (MobileNetV2)" $PY tools/bench.py --config rasnet_mobilenetv2 --precision fp32 bf16
if [ -n "$PEER" ] && [ -n "${RASNET_TEST_DATA:-}" ]; then
  step "against siamfc-pytorch, quiet and beside 1 busy process" $PY tools/bench_peer.py \
      --siamfc-pytorch "$PEER" --config rasnet_mobilenetv2 rasnet --sequence Crossing --rounds 3 --load 1
else
  { echo; echo "## against siamfc-pytorch"; echo; echo "not run: it needs a siamfc-pytorch checkout (second argument or \$SIAMFC_PYTORCH) and \$RASNET_TEST_DATA (Crossing)"; } >> "$REPORT"
fi
echo "report: $REPORT"
exit $failed
