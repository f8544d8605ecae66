"""The time origin of a loopback run: the wall time at which scenario time starts,
shared by the run and its emulator processes so that the devices' clocks agree with
the twin's.

The run fixes it only once its bridges are connected and have their first
measurements (:func:`publish_origin`, a short lead after that moment) and writes it to
a file that the emulators watch (``emulate --origin-file``, :func:`read_origin`,
:func:`wait_origin`). Until the file appears a device's scenario time stands at 0: a
PV inverter or battery serves its state at the start, a station is up but its EV has
not plugged in. However long the processes take to start, the first step is on time.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from pathlib import Path

# from the moment the run publishes the origin to the origin: time for the emulators to
# notice the file (they poll every POLL_S) and act on it [wall s]
ORIGIN_LEAD_S = 2.0
POLL_S = 0.05


def publish_origin(path: Path | str, lead_s: float = ORIGIN_LEAD_S) -> float:
    """Fix the origin ``lead_s`` from now and write it to ``path`` in one step (no
    reader sees half a file); returns it [s since the epoch]."""
    path = Path(path)
    origin = time.time() + lead_s
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{origin:.6f}\n", encoding="utf-8")
    os.replace(tmp, path)
    return origin


def read_origin(path: Path | str) -> float | None:
    """The origin written at ``path`` [s since the epoch], or None while there is none.
    Raises ValueError if the file holds anything but a finite number."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"origin file {path}: {text[:40]!r} is not a wall time "
                         "(seconds since the epoch)")
    return value


async def wait_origin(path: Path | str, stop: asyncio.Event | None = None) -> float | None:
    """Wait until the origin is written at ``path`` and return it; None if ``stop`` is
    set first."""
    while stop is None or not stop.is_set():
        origin = read_origin(path)
        if origin is not None:
            return origin
        await asyncio.sleep(POLL_S)
    return None
