"""The datasets the comparison and speed tools use when none is given.

Real annotated sequences come from the folder named by the environment variable
RASNET_TEST_DATA (with `OTB-dev/` and `VOT-dev/` inside); without it the bundled,
offline RASNetBench is built and used, so the tools always have something to run on.
"""
import os

from .bundled import ensure_bundled

__all__ = ["TEST_DATA_ENV", "REAL_SUBSETS", "default_datasets"]

TEST_DATA_ENV = "RASNET_TEST_DATA"
REAL_SUBSETS = ("OTB-dev", "VOT-dev")


def default_datasets(bundled_root, order=REAL_SUBSETS):
    """Paths of $RASNET_TEST_DATA/<subset> for each subset in `order` when the variable is
    set (a missing folder is reported by the loader), else [the bundled benchmark built
    under `bundled_root`]."""
    base = os.environ.get(TEST_DATA_ENV)
    if base:
        return [os.path.join(base, d) for d in order]
    return [ensure_bundled(bundled_root)]
