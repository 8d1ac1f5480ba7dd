"""`python -m rasnet_plugin.vot`: the TraX tracker server the VOT toolkit starts."""
import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
