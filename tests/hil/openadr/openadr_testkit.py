"""Shared pieces of the OpenADR tests: the example events file, a time origin and an
event as openleadr hands it to the VEN."""

from __future__ import annotations

import datetime as dt

from tests import REPO

EXAMPLE = REPO / "examples" / "vtn_events.yaml"
T0 = dt.datetime(2026, 5, 1, 22, 0, tzinfo=dt.UTC)  # 18:00 in Martinique


def make_event(name, stype, values, measurement=None, start=T0, step_s=900, event_id="e1"):
    """An event as openleadr hands it to the VEN (snake_case dict): one signal
    ``name``/``stype`` with one ``step_s`` interval per value from ``start``."""
    intervals = [{"dtstart": start + dt.timedelta(seconds=i * step_s),
                  "duration": dt.timedelta(seconds=step_s), "uid": i, "signal_payload": v}
                 for i, v in enumerate(values)]
    signal = {"intervals": intervals, "signal_name": name, "signal_type": stype,
              "signal_id": "s1"}
    if measurement is not None:
        signal["measurement"] = measurement
    return {"event_descriptor": {"event_id": event_id, "modification_number": 0},
            "active_period": {"dtstart": start,
                              "duration": dt.timedelta(seconds=step_s * len(values))},
            "event_signals": [signal], "response_required": "always"}
