"""One run's HIL connections: the bridges of the scenario's HIL assets, the twin's CSMS,
the MQTT feed and publisher, and the site's OpenADR VEN, on one background loop.

Built from a scenario (``backend`` of each asset and the ``hil:`` section); the mosaik
adapter (:mod:`hil.mosaik`) reads and drives them step by step. Every fault any of them
meets goes to the one :class:`~hil.base.FaultLog`, written with the run's results.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict
from pathlib import Path

from hil.base import BackgroundLoop, Bridge, FaultLog, FaultPolicy
from hil.mqtt import MqttFeed, MqttPublisher, MqttSensorBridge
from hil.sunspec.bridge import SunSpecBatteryBridge, SunSpecPvBridge
from twin.scenario.assets import Asset, hil_assets, resolve_assets
from twin.scenario.schema import Scenario

FAULT_COLUMNS = ["t_utc", "t_s", "asset_id", "kind", "detail"]


def fault_policy(scenario: Scenario) -> FaultPolicy:
    f = scenario.hil.faults
    return FaultPolicy(timeout_s=f.timeout_s, stale_after_s=f.stale_after_s, hold_s=f.hold_s,
                       max_clock_skew_s=f.max_clock_skew_s)


class HilSession:
    """The bridges of a scenario's HIL assets, by asset id, and the VEN (or None)."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.loop = BackgroundLoop()
        self.faults = FaultLog()
        self.policy = fault_policy(scenario)
        self.assets: dict[str, Asset] = {}
        self.bridges: dict[str, Bridge] = {}
        self.csms = None
        self.feed = None
        self.publisher = None
        self.ven = None
        try:
            self._build()
        except BaseException:
            self.stop()
            raise

    # -- construction ------------------------------------------------------------------
    def _build(self) -> None:
        for asset in hil_assets(resolve_assets(self.scenario)):
            self.assets[asset.id] = asset
            self.bridges[asset.id] = self._bridge(asset)
        hil = self.scenario.hil
        if hil.mqtt.publish:
            self.publisher = MqttPublisher(hil.mqtt.host, hil.mqtt.port, qos=hil.mqtt.qos,
                                           faults=self.faults, policy=self.policy)
        if hil.openadr is not None:
            # openleadr takes ~0.4 s to import, and every run imports this module: only a
            # scenario with a VEN loads it
            from hil.openadr.ven import VenBridge

            o = hil.openadr
            self.ven = VenBridge(o.vtn_url, o.ven_name, self.loop, self.faults,
                                 site_capacity_kw=self.scenario.grid.trafo_sn_kva,
                                 policy=self.policy, report_interval_s=o.report_interval_s)
        for bridge in self.bridges.values():
            bridge.start()
        if self.ven is not None:
            self.ven.start()

    def _bridge(self, asset: Asset) -> Bridge:
        backend = asset.spec.backend
        common = (asset.id, self.loop, self.faults, self.policy)
        if backend.type == "modbus":
            cls = SunSpecPvBridge if asset.kind == "pv" else SunSpecBatteryBridge
            return cls(*common, host=backend.host, port=backend.port,
                       device_id=backend.unit_id, poll_s=backend.poll_s)
        if backend.type == "ocpp":
            # the ocpp package takes ~1.8 s to import (its JSON schemas), and every run
            # imports this module: only a scenario with an OCPP charger loads it
            from hil.ocpp.bridge import OcppChargerBridge, start_csms

            if self.csms is None:
                c = self.scenario.hil.csms
                self.csms = start_csms(self.loop, c.host, c.port, password=c.password,
                                       tls_cert=c.tls_cert, tls_key=c.tls_key)
            bridge = OcppChargerBridge(*common, csms=self.csms,
                                       station_id=backend.station_id or asset.id,
                                       p_max_kw=asset.spec.p_max_kw, hold_at_boot=True)
            bridge.setpoint_kw = 0.0  # the safe state: no charging until the twin says so
            return bridge
        if backend.type == "mqtt":
            if self.feed is None:
                m = self.scenario.hil.mqtt
                self.feed = MqttFeed(self.faults, self.policy, host=m.host, port=m.port,
                                     name="mqtt")
                self.feed.start()
            return MqttSensorBridge(*common, feed=self.feed,
                                    asset_type=backend.asset_type or asset.kind, kind=asset.kind,
                                    capacity_kwh=getattr(asset.spec, "capacity_kwh", None))
        raise ValueError(f"asset {asset.id}: no bridge for backend {backend.type!r}")

    def wait_ready(self, timeout_s: float) -> list[str]:
        """Wait (at most ``timeout_s``) until every bridge has a first measurement;
        returns the ids of those still silent (the watchdog takes it from there)."""
        deadline = time.monotonic() + timeout_s
        while True:
            silent = [aid for aid, b in self.bridges.items() if b.latest() is None]
            if not silent or time.monotonic() >= deadline:
                return silent
            time.sleep(0.05)

    # -- results -----------------------------------------------------------------------
    def write_faults(self, path: Path) -> int:
        """Write every recorded fault as CSV; returns how many."""
        faults = self.faults.all()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, FAULT_COLUMNS)
            writer.writeheader()
            for fault in faults:
                writer.writerow({k: v for k, v in asdict(fault).items() if k in FAULT_COLUMNS})
        return len(faults)

    def stop(self) -> None:
        """Stop every bridge, the VEN, the CSMS and MQTT clients, then the loop (bounded)."""
        for thing in [*self.bridges.values(), self.ven]:
            if thing is not None:
                try:
                    thing.stop()
                except Exception:  # noqa: BLE001 - stopping: keep stopping the others
                    pass
        if self.csms is not None:
            try:
                self.loop.run(self.csms.stop(), timeout_s=5)
            except Exception:  # noqa: BLE001
                pass
        for client, close in ((self.feed, "stop"), (self.publisher, "close")):
            if client is not None:
                try:
                    getattr(client, close)()
                except Exception:  # noqa: BLE001
                    pass
        self.loop.stop()
