"""The integrations moved to rasnet_plugin.integrations; their old module paths still work
(users' scripts, pytracking checkouts and `python -m rasnet_plugin.pysot_plugin`)."""
import os
import subprocess
import sys

import torch

from rasnet_plugin.config import REPO_ROOT, get_default_config
from rasnet_plugin.models import build_model


def test_old_paths_are_the_new_modules_objects():
    from rasnet_plugin import pysot_plugin
    from rasnet_plugin.integrations import pysot, pytracking
    from rasnet_plugin.tracker import pytracking as old_pytracking
    for name in pysot.__all__:
        assert getattr(pysot_plugin, name) is getattr(pysot, name), name
    for name in pytracking.__all__:
        assert getattr(old_pytracking, name) is getattr(pytracking, name), name
    assert old_pytracking.get_tracker_class() is pytracking.RASNetPyTracker
    import rasnet_plugin
    assert rasnet_plugin.register_pysot is pysot.register_pysot


def test_convert_from_the_shell(tmp_path):
    torch.manual_seed(0)
    state = build_model(get_default_config()).state_dict()
    src, dst = tmp_path / "plugin.pth", tmp_path / "out" / "pysot.pth"
    torch.save({"state_dict": state}, src)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, PYTHONWARNINGS="error::RuntimeWarning")
    r = subprocess.run([sys.executable, "-m", "rasnet_plugin.pysot_plugin", str(src), str(dst)],
                       env=env,
                       cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrote %s" % dst in r.stdout
    from rasnet_plugin.integrations.pysot import convert_checkpoint_to_pysot
    out = torch.load(dst, weights_only=True)  # a bare state_dict
    expected = convert_checkpoint_to_pysot(state)
    assert out.keys() == expected.keys()
    assert all(torch.equal(out[k], expected[k]) for k in out)
    assert not [n for n in os.listdir(dst.parent) if n.endswith(".tmp")]


def test_convert_from_the_shell_refuses_code(tmp_path):
    class Code:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "ran"),))

    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": Code()}, tmp_path / "code.pth")
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    r = subprocess.run([sys.executable, "-m", "rasnet_plugin.pysot_plugin",
                        str(tmp_path / "code.pth"), str(tmp_path / "o.pth")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "refused to unpickle code" in r.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "o.pth").exists()
