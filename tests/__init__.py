"""The test suite, mirroring the packages; ``REPO`` is the repository's root folder."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
