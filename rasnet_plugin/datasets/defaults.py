"""The datasets the comparison and speed tools use when none is given.

Real annotated sequences come from the folder named by the environment variable
RASNET_TEST_DATA (with `OTB-dev/` and `VOT-dev/` inside); without it the bundled,
offline RASNetBench is built and used, so the tools always have something to run on.
"""
import os

from .bundled import ensure_bundled

__all__ = ["TEST_DATA_ENV", "REAL_SUBSETS", "default_datasets", "default_dataset_root"]

TEST_DATA_ENV = "RASNET_TEST_DATA"
REAL_SUBSETS = ("OTB-dev", "VOT-dev")


def default_dataset_root():
    """PySOT's `testing_dataset/`: the checkout's when the package runs from one (so the
    tools find it from any folder), else the one in the current folder; never a folder
    inside site-packages."""
    from ..config import REPO_ROOT
    if os.path.isfile(os.path.join(REPO_ROOT, "setup.py")):
        return os.path.join(REPO_ROOT, "testing_dataset")
    return os.path.abspath("testing_dataset")


def default_datasets(bundled_root, order=REAL_SUBSETS):
    """Paths of $RASNET_TEST_DATA/<subset> for each subset in `order` when the variable is
    set (a missing folder is reported by the loader), else [the bundled benchmark built
    under `bundled_root`]."""
    base = os.environ.get(TEST_DATA_ENV)
    if base:
        return [os.path.join(base, d) for d in order]
    return [ensure_bundled(bundled_root)]
