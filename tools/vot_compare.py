#!/usr/bin/env python
"""Check our VOT evaluation against the VOT toolkit's; see rasnet_plugin/cli/vot_compare.py (also: `rasnet-vot-compare`)."""
import sys
from rasnet_plugin.cli.vot_compare import main
if __name__ == "__main__":
    sys.exit(main())
