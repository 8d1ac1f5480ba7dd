#!/usr/bin/env python
"""Evaluate tracker results in PySOT's layout (PySOT's eval CLI); see rasnet_plugin/cli/eval.py (also: `rasnet-eval`)."""
import sys
from rasnet_plugin.cli.eval import main
if __name__ == "__main__":
    sys.exit(main())
