"""The package installs and runs like a library: its configs and weights ship inside it,
its metadata names every runtime dependency, its console scripts exist, and a
non-editable install tracks from a folder outside the checkout."""
import ast
import importlib
import importlib.util
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

import rasnet_plugin
from rasnet_plugin import config as C

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_py():
    with open(os.path.join(REPO_ROOT, "setup.py")) as f:
        return f.read()


def test_every_bundled_config_loads_by_name_and_through_experiments():
    names = C.bundled_configs()
    assert {"rasnet", "siamfc", "rasnet_mobilenetv2", "offline/rasnet"} <= set(names)
    for name in names:
        a = C.load_config(name)
        b = C.load_config(os.path.join(REPO_ROOT, "experiments", name + ".yaml"))
        assert a == b, name
    assert C.resolve_config("experiments/rasnet.yaml") in (
        "experiments/rasnet.yaml", os.path.join(C.CONFIG_DIR, "rasnet.yaml"))
    assert os.path.samefile(C.resolve_config("rasnet_mobilenetv2"), C.TRACKER_CONFIG)
    assert C.DEFAULT_CONFIG.startswith(os.path.dirname(rasnet_plugin.__file__))


def test_unknown_config_names_the_file_and_lists_the_bundled_ones():
    with pytest.raises(C.ConfigError, match=r"not found: nope\.yaml \(bundled configs: .*rasnet_mobilenetv2"):
        C.load_config("nope.yaml")
    with pytest.raises(C.ConfigError, match="not found"):
        C.resolve_config("../setup")          # no escaping the config folder


def test_one_version_number():
    assert re.search(r"version=read_version\(\)", _setup_py())
    assert md.version("rasnet_plugin") == rasnet_plugin.__version__


def _runtime_requirements():
    return {Requirement(r).name.lower(): Requirement(r) for r in md.requires("rasnet_plugin")
            if "extra ==" not in r}


def test_every_runtime_import_is_an_install_requirement_and_the_pins_satisfy_it():
    reqs = _runtime_requirements()
    dist_of_module = {"torch": "torch", "numpy": "numpy", "yacs": "yacs", "tqdm": "tqdm",
                      "cv2": "opencv-contrib-python-headless", "skimage": "scikit-image",
                      "matplotlib": "matplotlib"}
    assert set(dist_of_module.values()) <= set(reqs), sorted(reqs)
    # and nothing the package imports (at the top or inside a function) is missing from it
    pkg = os.path.dirname(rasnet_plugin.__file__)
    top = set()
    for d, _, files in os.walk(pkg):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(d, f)) as fh:
                    tree = ast.parse(fh.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        top |= {a.name.split(".")[0] for a in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        top.add(node.module.split(".")[0])
    third_party = {m for m in top if m not in sys.stdlib_module_names and m != "rasnet_plugin"}
    # extras, and siamfc: the user's siamfc-pytorch checkout that tools/bench_peer.py times
    optional = {"pysot", "pytracking", "trax", "vot", "got10k", "yaml", "PIL", "siamfc"}
    assert third_party - optional <= set(dist_of_module), third_party - optional
    # requirements.txt's exact pins are inside the declared ranges
    with open(os.path.join(REPO_ROOT, "requirements.txt")) as f:
        pins = [Requirement(line.split("#")[0].strip()) for line in f if line.split("#")[0].strip()]
    for pin in pins:
        if pin.name.lower() in reqs:
            (version,) = [s.version for s in pin.specifier]
            assert reqs[pin.name.lower()].specifier.contains(version), (pin, reqs[pin.name.lower()])


def test_console_scripts_point_at_cli_mains():
    eps = {e.name: e.value for e in md.entry_points(group="console_scripts")
           if e.value.startswith("rasnet_plugin.")}
    assert {"rasnet-test", "rasnet-eval", "rasnet-train", "rasnet-vot-workspace"} <= set(eps)
    for name, target in eps.items():
        module, func = target.split(":")
        main = getattr(importlib.import_module(module), func)
        with pytest.raises(SystemExit) as e:
            main(["--help"])
        assert e.value.code == 0, name
        tool = os.path.join(REPO_ROOT, "tools", module.rsplit(".", 1)[1] + ".py")
        assert os.path.isfile(tool), "%s has no tools/ twin" % name


_OUTSIDE = r"""
import json, os, sys
import numpy as np
import rasnet_plugin
from rasnet_plugin import ops
img = np.zeros((240, 320, 3), np.uint8); img[100:140, 140:180] = (40, 200, 90)
t = rasnet_plugin.build_tracker(device="cpu")
t.init(img, [140, 100, 40, 40])
out = t.track(np.roll(img, 6, axis=1))
print(json.dumps({"file": rasnet_plugin.__file__, "fused": ops.has_fused(),
                  "config": rasnet_plugin.config.TRACKER_CONFIG, "bbox": list(map(float, out["bbox"]))}))
"""


@pytest.mark.slow
def test_non_editable_install_tracks_from_outside_the_checkout(tmp_path):
    target, elsewhere, src = tmp_path / "site", tmp_path / "elsewhere", tmp_path / "src"
    elsewhere.mkdir()
    # a clean copy of the sources: an in-tree build/ could carry modules deleted since
    shutil.copytree(REPO_ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", "*.so", "results", "snapshot",
        "training_dataset", ".pytest_cache", ".hypothesis"))
    # --no-build-isolation --no-deps: build against the installed torch, reuse what is installed
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", "--target", str(target), str(src)], check=True,
                   env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    shutil.rmtree(src)              # nothing may come from the sources from here on
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", _OUTSIDE], cwd=elsewhere, env=env,
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["file"].startswith(str(target)), res
    assert res["config"].startswith(str(target)) and os.path.isfile(res["config"])
    assert res["fused"] is True
    x, y, w, h = res["bbox"]
    assert abs((x + w / 2) - 166) < 6 and abs((y + h / 2) - 120) < 6, res   # followed the shift
    # a console script of the installed copy runs from there too
    help_ = subprocess.run([str(target / "bin" / "rasnet-test"), "--help"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True)
    assert "--config" in help_.stdout


def _setup_module():
    spec = importlib.util.spec_from_file_location("rasnet_setup", os.path.join(REPO_ROOT, "setup.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its setup() call runs only as __main__
    return module


def _fake_toolkit(root, script):
    os.makedirs(os.path.join(root, "bin"))
    nvcc = os.path.join(root, "bin", "nvcc")
    with open(nvcc, "w") as f:
        f.write("#!/bin/sh\n" + script)
    os.chmod(nvcc, 0o755)
    return str(root)


@pytest.mark.parametrize("listed, expected", [
    # CUDA 12.x lists compute_50 .. compute_90: Volta, Ampere and Hopper
    ("50 52 60 61 70 75 80 86 87 89 90", "7.0;8.0;9.0+PTX"),
    # CUDA 13 starts at compute_75: naming 7.0 would fail the build
    ("75 80 86 87 88 89 90 100 103 110 120 121", "8.0;9.0+PTX"),
    ("60 61 70 75 80 86", "7.0;8.0+PTX"),          # CUDA 11.1-11.7: no Hopper yet
])
def test_cuda_arch_list_keeps_only_what_the_toolkit_compiles(tmp_path, listed, expected):
    setup_py = _setup_module()
    home = _fake_toolkit(tmp_path / "cuda", "for a in %s; do echo compute_$a; done\n" % listed)
    assert setup_py.cuda_arch_list(home) == expected


def test_cuda_arch_list_leaves_the_choice_to_torch_when_nvcc_cannot_say(tmp_path):
    setup_py = _setup_module()
    assert setup_py.cuda_arch_list(str(tmp_path / "missing")) is None
    assert setup_py.cuda_arch_list(_fake_toolkit(tmp_path / "old", "exit 1\n")) is None
    assert setup_py.cuda_arch_list(_fake_toolkit(tmp_path / "odd", "echo sm_52\n")) is None
