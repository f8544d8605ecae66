"""One scenario seed feeds every random generator, through named, independent streams."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator for one named purpose (``"weather"``, ``"load"``, ``"ev"``, ...).

    Streams with different names are independent; the same seed and name give the
    same numbers whatever else the scenario contains.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))
