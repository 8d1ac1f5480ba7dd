#!/usr/bin/env python
"""Long-run (soak) check of the tracker: no memory growth, no slowdown; see rasnet_plugin/cli/soak.py (also: `rasnet-soak`)."""
import sys
from rasnet_plugin.cli.soak import main
if __name__ == "__main__":
    sys.exit(main())
