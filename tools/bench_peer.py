#!/usr/bin/env python
"""Tracker frame rate against siamfc-pytorch, quiet and under load; see rasnet_plugin/cli/bench_peer.py (also: `rasnet-bench-peer`)."""
import sys
from rasnet_plugin.cli.bench_peer import main
if __name__ == "__main__":
    sys.exit(main())
