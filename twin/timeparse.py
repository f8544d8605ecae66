"""ISO 8601 durations with exact lengths in seconds (weeks, days, hours, minutes, seconds)."""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration_s(text: str) -> int:
    """Length of an ISO 8601 duration such as ``P1D`` or ``PT15M``. [s]

    Years and months are refused: their length depends on the calendar.
    Raises ``ValueError`` naming the value and the accepted form.
    """
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(
            f"not an ISO 8601 duration: {text!r}; use e.g. 'PT15M', 'PT1H', 'P1D', 'P365D' "
            "(weeks, days, hours, minutes, seconds; no years or months)"
        )
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    seconds = (
        parts["w"] * 604800 + parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    )
    if not seconds < 1e15:  # about 30 million years; also catches inf from huge digits
        raise ValueError(f"duration {text[:40]!r}... is too long" if len(text) > 40
                         else f"duration {text!r} is too long")
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError(f"duration {text!r} must be a positive whole number of seconds")
    return int(seconds)


def iso_duration(seconds: float) -> str:
    """``PT15M``, ``PT24H``, ``P2DT6H``: a whole number of seconds as ISO 8601."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "") \
        if seconds else "PT0S"
