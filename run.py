"""Cariflex Twin: `python run.py` runs the default scenario; `python run.py --help` for more."""

import sys
import time

STARTED = time.perf_counter()  # the command's wall time counts from here, imports included

from twin.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(started=STARTED))
