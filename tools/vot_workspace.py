#!/usr/bin/env python
"""Write a ready offline VOT toolkit workspace for RASNet; see rasnet_plugin/cli/vot_workspace.py (also: `rasnet-vot-workspace`)."""
import sys
from rasnet_plugin.cli.vot_workspace import main
if __name__ == "__main__":
    sys.exit(main())
