"""Where the tests find optional real annotated sequences: the folder named by the
environment variable RASNET_TEST_DATA (with OTB-dev/ and VOT-dev/ inside). `.ci/run` sets
it when such a folder is at hand; without it those tests skip and say why."""
import os

_path = os.environ.get("RASNET_TEST_DATA")
REAL_DATA = os.path.abspath(_path) if _path and os.path.isdir(_path) else None
SKIP_REASON = ("RASNET_TEST_DATA is not set" if not _path else
               "RASNET_TEST_DATA=%s is not a folder" % _path)
