#!/usr/bin/env python
"""End-to-end tracker speed (and accuracy per precision) on real sequences; see rasnet_plugin/cli/bench.py (also: `rasnet-bench`)."""
import sys
from rasnet_plugin.cli.bench import main
if __name__ == "__main__":
    sys.exit(main())
