#!/usr/bin/env python
"""Shipped RASNet vs its SiamFC ablation vs OpenCV's CSRT, one-pass, side by side; see rasnet_plugin/cli/compare.py (also: `rasnet-compare`)."""
import sys
from rasnet_plugin.cli.compare import main
if __name__ == "__main__":
    sys.exit(main())
