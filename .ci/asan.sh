#!/usr/bin/env bash
# Build the fused op with AddressSanitizer (RASNET_SANITIZE=address) in a temporary copy of
# the repo and run tests/test_ops.py against that build.  Any ASan report fails (exit 1).
# Skips (exit 0) when gcc has no libasan.  Usage: bash .ci/asan.sh   (PYTHON=... to pick one)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
libasan=$(gcc -print-file-name=libasan.so 2>/dev/null || true)
if [ -z "$libasan" ] || [ ! -e "$libasan" ]; then
  echo "asan: gcc has no libasan.so, skipped"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rasnet-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# a copy of the sources without any built extension
cp -r setup.py pyproject.toml csrc rasnet_plugin "$work"/
find "$work/rasnet_plugin" \( -name '_C*.so' -o -name '__pycache__' \) -prune -exec rm -rf {} +
mkdir "$work/tests"
cp tests/test_ops.py "$work/tests/"

echo "asan: building the extension with -fsanitize=address in $work"
(cd "$work" && RASNET_SANITIZE=address RASNET_WITH_CUDA=0 "$PY" setup.py -q build_ext --inplace \
   >"$work/build.log" 2>&1) || { cat "$work/build.log"; echo "asan: build FAILED"; exit 1; }
so=$(ls "$work"/rasnet_plugin/_C*.so)
# (no grep -q: it would exit at the first match and, under pipefail, nm's SIGPIPE
# would then read as "not instrumented")
if ! nm -D "$so" | grep __asan >/dev/null; then
  echo "asan: $so is not instrumented (no __asan symbols)"; exit 1
fi
echo "asan: built $so in $(( $(date +%s) - start ))s"

mkdir "$work/reports"
# libstdc++ is preloaded too: python itself does not link it, and without it ASan's
# __cxa_throw interceptor finds no real function when the op throws (a c10::Error)
libstdcxx=$(readlink -f "$(gcc -print-file-name=libstdc++.so)")
export LD_PRELOAD="$libasan $libstdcxx"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$work/reports/asan"
export PYTHONPATH="$work"
export RASNET_REQUIRE_FUSED=1
cd "$work"
"$PY" - <<PY
import os, rasnet_plugin
from rasnet_plugin import _extension, ops
print("asan: rasnet_plugin from", rasnet_plugin.__file__)
assert os.path.realpath(rasnet_plugin.__file__).startswith(os.path.realpath("$work")), \
    "asan: the ASan build is not the one imported"
assert ops.has_fused(), "asan: the fused op did not load"
import rasnet_plugin._C as C
print("asan: _C from", C.__file__)
assert os.path.realpath(C.__file__) == os.path.realpath("$so")
PY
status=0
"$PY" -m pytest -q -p no:cacheprovider tests/test_ops.py || status=$?
unset LD_PRELOAD
if compgen -G "$work/reports/asan*" >/dev/null; then
  echo "asan: AddressSanitizer reported errors:"
  cat "$work"/reports/asan*
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "asan: tests/test_ops.py failed under ASan (exit $status)"
  exit "$status"
fi
echo "asan: ok, no AddressSanitizer reports ($(( $(date +%s) - start ))s)"
