#!/usr/bin/env python
"""Train RASNet (PySOT's train CLI); see rasnet_plugin/cli/train.py (also: `rasnet-train`)."""
import sys
from rasnet_plugin.cli.train import main
if __name__ == "__main__":
    sys.exit(main())
