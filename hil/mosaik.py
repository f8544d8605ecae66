"""mosaik adapter of the HIL bridges: real devices as entities with the attributes of
the simulators they replace. No physics and no strategy here.

Real time: with ``hil.pacing: deadline`` (the default) each step of this simulator
waits until its own wall-clock time, ``start + t x rt_factor``; every simulator that
depends on the devices follows it. With ``mosaik``, mosaik's ``rt_factor`` paces.

Sign convention: positive = consumption / charging / import.

Models: ``PvBridge``, ``BatteryBridge``, ``ChargerBridge``, ``LoadBridge`` (one entity
per HIL asset, same attributes as the PV, battery, charger and household simulators);
``HilSet`` (lists over the HIL devices in ``hil_assets`` order: what the world connects.
In: ``battery_p_set_kw`` and ``charger_p_set_kw``, the control's set-points over every
battery and charger; out: the simulator attributes the devices stand in for
(:data:`STAND_IN_ATTRS`, NaN where a device has none) and, for the recorder:
``p_meas_kw``, ``p_req_kw`` (setpoint sent), ``p_pred_kw`` (for chargers, the power the
twin expects for that setpoint), ``soc_meas_percent``, ``e_meas_kwh`` (a battery's
stored energy, a station's session energy meter), ``age_s`` (of the measurement, wall s)
and ``link_state``
(0 fresh, 1 hold, 2 fallback)); ``Clock`` (``lag_s``: how far the run is behind the
wall clock); ``Ven`` (the OpenADR VEN: site power in, ``grid_signals`` out: the
constraint windows ``[start_s, end_s, site_limit_kw, price_eur_per_kwh]`` in simulated
seconds, and the ``site_limit_kw`` and ``price_eur_per_kwh`` in force, for the record);
``Publisher`` (device outputs to MQTT, each step's at the next step, stamped with its
start). At the end it writes ``hil/samples.csv`` (every device sample with its simulated
time) and ``hil/openadr_events.json`` (every event interval, opted in or out) for the
validation.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time as time_mod
from pathlib import Path

import numpy as np
from mosaik_api_v3.types import Meta

from hil import views
from hil.base import Watchdog
from hil.origin import publish_origin
from hil.session import HilSession
from simulators.base import ArraySimulator, meta
from simulators.ev.part import CHARGER_ATTRS, PLUGGED_EV_ATTRS
from twin.scenario.assets import resolve_assets

HIL_ATTRS = ["p_meas_kw", "p_req_kw", "p_pred_kw", "soc_meas_percent", "e_meas_kwh", "age_s",
             "link_state"]
# what the HIL devices stand in for, in the power flow and before the control
STAND_IN_ATTRS = ["p_kw", "q_kvar", "p_avail_kw", "p_charge_avail_kw", "p_discharge_avail_kw",
                  "soc_percent", "e_kwh", *PLUGGED_EV_ATTRS]
SETPOINT_INPUTS = {"battery": "battery_p_set_kw", "ev_charger": "charger_p_set_kw"}
PUBLISHED = {"pv_p_kw": "pv", "load_p_kw": "load", "battery_p_kw": "battery",
             "ev_charger_p_kw": "ev_charger"}
_ENTITY = {"public": True, "params": ["ids"], "trigger": []}
META: Meta = meta("PvBridge", ["p_kw", "p_avail_kw", "p_limit_kw"], extra={
    "BatteryBridge": {**_ENTITY, "attrs": ["p_set_kw", "p_kw", "soc_percent", "e_kwh",
                                           "p_charge_avail_kw", "p_discharge_avail_kw"]},
    "ChargerBridge": {**_ENTITY, "attrs": [*CHARGER_ATTRS, *PLUGGED_EV_ATTRS]},
    "LoadBridge": {**_ENTITY, "attrs": ["p_kw", "q_kvar"]},
    "HilSet": {**_ENTITY, "params": [],
               "attrs": [*HIL_ATTRS, *STAND_IN_ATTRS, *SETPOINT_INPUTS.values()]},
    "Clock": {**_ENTITY, "params": [], "attrs": ["lag_s"]},
    "Ven": {**_ENTITY, "params": [], "attrs": [
        "site_p_kw", "battery_p_kw", "battery_discharge_kw", "charger_p_kw",  # in
        "grid_signals", "site_limit_kw", "price_eur_per_kwh"]},  # out
    "Publisher": {**_ENTITY, "params": [], "attrs": list(PUBLISHED)},
})
MODELS = {"pv": "PvBridge", "battery": "BatteryBridge", "ev_charger": "ChargerBridge",
          "load": "LoadBridge"}


class HilSim(ArraySimulator):
    kinds = {model: kind for kind, model in MODELS.items()}

    def __init__(self):
        super().__init__(META)
        self.session: HilSession | None = None
        self.run_dir: Path | None = None

    def init(self, sid, time_resolution=1.0, scenario=None, run_dir: str = "",
             origin_file: str | None = None, **params):
        out = super().init(sid, time_resolution, scenario, **params)
        self.origin_file = origin_file
        self.run_dir = Path(run_dir) if run_dir else None
        self.rt_factor = self.scenario.hil.rt_factor
        # connect before the run: the wall clock starts with mosaik's first step
        self.session = HilSession(self.scenario)
        f = self.scenario.hil.faults
        silent = self.session.wait_ready(max(10.0, 3 * f.stale_after_s + f.timeout_s))
        if silent:
            print(f"HIL: no measurement yet from {', '.join(silent)}; starting anyway",
                  file=sys.stderr)
        return out

    def create(self, num, model, ids=None):
        if model in ("HilSet", "Clock", "Ven", "Publisher"):  # one entity each
            self._index[model.lower()] = (model, None if model == "HilSet" else 0)
            return [{"eid": model.lower(), "type": model}]
        return super().create(num, model, ids)

    def setup(self):
        self.wall_t0 = time_mod.monotonic()  # the first step: the run's wall-clock origin
        if self.origin_file is not None:  # shared with the emulators (hil.origin)
            self.wall_t0 += publish_origin(self.origin_file) - time_mod.time()
        self.devices = [a for m in MODELS.values() for a in self.assets.get(m, [])]
        self.watchdogs = {a.id: Watchdog(a.id, self.session.policy, self.session.faults)
                          for a in self.devices}
        self.last_safe_kw = {a.id: 0.0 for a in self.devices}
        assets = resolve_assets(self.scenario)
        self.ev_spec = {a.id: views.paired_ev(assets, a.id)
                        for a in self.assets.get("ChargerBridge", [])}
        self.set_ids = {kind: [a.id for a in items] for kind, items in assets.items()}
        self.lag = 0.0
        self._last_warn = -1e9
        self.rows: dict[str, dict[str, float]] = {}
        self.signals: list = []
        self._time = 0
        self._windows: dict = {}
        self.events: dict = {}  # every OpenADR event interval seen, for hil/openadr_events.json

    def advance(self, time, inputs):
        session = self.session
        session.faults.sim_time_s = float(time)
        self._time = time
        if self.scenario.hil.pacing == "deadline":  # wait for this step's wall time
            wait = self.wall_t0 + time * self.rt_factor - time_mod.monotonic()
            if wait > 0:
                time_mod.sleep(wait)
        now_mono, now_unix = time_mod.monotonic(), time_mod.time()
        self.lag = views.lag_s(now_mono - self.wall_t0, time, self.rt_factor)
        if self.lag > self.scenario.hil.lag_warn_s and now_mono - self._last_warn > 10:
            print(f"HIL run behind real time by {self.lag:.1f} s at t = {time} s",
                  file=sys.stderr)
            self._last_warn = now_mono
        for asset in self.devices:
            self.rows[asset.id] = self._device_row(asset, time, inputs, now_mono, now_unix)
        if session.ven is not None:
            self._ven_step(time, inputs)
        if session.publisher is not None:
            self._publish(time, inputs)

    def _device_row(self, asset, time, inputs, now_mono: float, now_unix: float) -> dict:
        """One device this step: its watchdog state, the simulator's attributes from its
        measurement, the setpoint sent, and the HIL series for the record."""
        bridge = self.session.bridges[asset.id]
        m = bridge.latest()
        age = None if m is None else m.age_s(now_mono)
        state = self.watchdogs[asset.id].update(age, now_mono)
        values = None if m is None else m.values
        if asset.kind == "pv":
            row = views.pv_view(values, state)
        elif asset.kind == "battery":
            row = views.battery_view(values, state, asset.spec)
        elif asset.kind == "ev_charger":
            row = views.charger_view(values, state, self.ev_spec[asset.id], time, now_unix,
                                     self.rt_factor)
        else:
            row = views.load_view(values, state, asset.spec)
        if asset.kind in ("battery", "ev_charger"):
            wanted = self._setpoint_kw(inputs, asset)
            row["p_set_kw"] = views.held_setpoint(state, wanted, self.last_safe_kw[asset.id])
            if state == "fresh":
                self.last_safe_kw[asset.id] = wanted
            bridge.request(row["p_set_kw"])
        row["_age"] = float("nan") if age is None else age
        row["_state"] = views.LINK_STATES[state]
        row["_soc"] = views.value(values, "soc_percent")
        if asset.kind == "ev_charger":  # the twin does not simulate the real EV
            row["_pred"] = views.charger_prediction_kw(row, values, self.step_s, row["_age"],
                                                       self.rt_factor)
            row["_e"] = views.metered_energy_kwh(values, row["_age"], self.rt_factor)
        else:
            row["_e"] = views.value(values, "e_kwh")
        return row

    def _setpoint_kw(self, inputs: dict, asset) -> float:
        """The control's set-point for ``asset`` this step (0 where none is connected)."""
        lists = inputs.get("hilset", {}).get(SETPOINT_INPUTS[asset.kind])
        if not lists:
            return 0.0
        i = self.set_ids[asset.kind].index(asset.id)
        return float(sum(values[i] for values in lists.values()))

    def _ven_step(self, time, inputs):
        ven_in = inputs.get("ven", {})
        site = ven_in.get("site_p_kw")
        if site:
            site_kw = float(sum(site.values()))
            self.session.ven.set_site_power_kw(site_kw)
            lists = [next(iter(ven_in.get(a, {}).values()), []) for a in
                     ("battery_p_kw", "battery_discharge_kw", "charger_p_kw")]
            self.session.ven.set_site_state(*views.site_flexibility(site_kw, *lists))
        now_utc = dt.datetime.now(dt.UTC)
        out = []
        for c in self.session.ven.constraints():
            key = (c.event_id, c.start_utc.isoformat(), c.end_utc.isoformat())
            if key not in self._windows:  # wall-clock window onto simulated time, once
                self._windows[key] = [
                    round(time + (t - now_utc).total_seconds() / self.rt_factor)
                    for t in (c.start_utc, c.end_utc)]
            self.events[key] = views.event_record(c, *self._windows[key])
            if not c.opted_in:  # the site said it cannot comply: plan without it
                continue
            out.append([*self._windows[key], c.site_limit_kw, c.price_eur_per_kwh])
        self.signals = out

    def _publish(self, time, inputs):
        """Each device's power over the last step on its sensor topic (the seed's
        format), stamped with that step's start: a step's power is known at its end."""
        if time < self.step_s:
            return
        stamp = self.scenario.start + dt.timedelta(seconds=time - self.step_s)
        values = {}
        for attr, kind in PUBLISHED.items():
            for series in inputs.get("publisher", {}).get(attr, {}).values():
                for aid, v in zip(self.set_ids[kind], series, strict=True):
                    values[(kind, aid)] = (float(v), "kW")
        self.session.publisher.publish_step(stamp, values)

    def outputs(self, model, attr):
        if model == "Clock":
            return [self.lag]
        if model == "Ven":
            if attr == "grid_signals":
                return [self.signals]
            return [views.signal_at(self.signals, self._time, attr)]
        if model == "HilSet":
            key = {"p_meas_kw": "p_kw", "p_req_kw": "p_set_kw", "p_pred_kw": "_pred",
                   "soc_meas_percent": "_soc", "e_meas_kwh": "_e",
                   "age_s": "_age", "link_state": "_state"}.get(attr, attr)
            return [self.rows.get(a.id, {}).get(key, float("nan")) for a in self.devices]
        if model == "Publisher":
            return [float("nan")]
        return np.array([self.rows[a.id][attr] if a.id in self.rows else np.nan
                         for a in self.assets[model]], dtype=float)

    def _write_samples(self, folder: Path) -> None:
        """Every device sample the bridges kept (``hil/samples.csv``: ``t_s`` simulated
        seconds from the start, ``asset_id``, ``p_kw``, ``e_kwh``) and every OpenADR
        event interval the VEN saw (``hil/openadr_events.json``)."""
        if not hasattr(self, "wall_t0"):  # the run ended before its first step
            return
        folder.mkdir(parents=True, exist_ok=True)
        rows = [(round((t - self.wall_t0) / self.rt_factor, 3), aid, p, e)
                for aid, bridge in self.session.bridges.items()
                for t, p, e in list(getattr(bridge, "samples", []))]
        with (folder / "samples.csv").open("w", encoding="utf-8") as fh:
            fh.write("t_s,asset_id,p_kw,e_kwh\n")
            fh.writelines(f"{t},{aid},{p:.6g},{e:.6g}\n" for t, aid, p, e in sorted(rows))
        if self.session.ven is not None:
            (folder / "openadr_events.json").write_text(
                json.dumps(list(self.events.values()), indent=1), encoding="utf-8")

    def finalize(self):
        if self.session is None:
            return
        try:
            if self.run_dir is not None:
                self.session.write_faults(self.run_dir / "hil" / "faults.csv")
                self._write_samples(self.run_dir / "hil")
        finally:
            self.session.stop()
            self.session = None
