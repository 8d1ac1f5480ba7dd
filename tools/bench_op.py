#!/usr/bin/env python
"""Benchmark the fused attention_xcorr op against the plain PyTorch formula; see rasnet_plugin/cli/bench_op.py (also: `rasnet-bench-op`)."""
import sys
from rasnet_plugin.cli.bench_op import main
if __name__ == "__main__":
    sys.exit(main())
