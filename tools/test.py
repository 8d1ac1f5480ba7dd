#!/usr/bin/env python
"""Run RASNet on a tracking dataset, results in PySOT's layout (PySOT's test CLI); see rasnet_plugin/cli/test.py (also: `rasnet-test`)."""
import sys
from rasnet_plugin.cli.test import main
if __name__ == "__main__":
    sys.exit(main())
