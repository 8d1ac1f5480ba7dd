#!/usr/bin/env python
"""Gather the offline training data (opencv-doc stills and videos); see rasnet_plugin/cli/prepare_offline_data.py."""
import sys
from rasnet_plugin.cli.prepare_offline_data import main
if __name__ == "__main__":
    sys.exit(main())
