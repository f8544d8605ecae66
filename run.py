"""Cariflex Twin: `python run.py` runs the default scenario; `python run.py --help` for more."""

import sys

from twin.cli import main

if __name__ == "__main__":
    sys.exit(main())
