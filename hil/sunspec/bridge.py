"""HIL bridges to SunSpec devices over Modbus TCP: a PV inverter and a battery.

Each bridge runs one task on the shared :class:`hil.base.BackgroundLoop`: connect (with
the policy's backoff between attempts), scan the model chain, read the nameplate, then
poll every ``poll_s`` and publish the twin's attributes (each poll's power and energy
also kept in ``samples`` with its time, for the validation); setpoints requested from the
mosaik side are written, clamped to the nameplate, and read back.

Sign convention: the twin's (positive = consumption / charging), so a producing PV
inverter has ``p_kw < 0``. SunSpec ``W`` is positive for injection; the conversion is
:func:`hil.sunspec.codec.twin_p_kw` / :func:`hil.sunspec.codec.sunspec_w` only.

Faults recorded (``hil.base.FAULT_KINDS``): ``connection_refused`` (once per outage),
``disconnected``, ``timeout``, ``malformed`` (garbage bytes, no 'SunS', a broken chain,
or an exception reply to a read), ``reconnected`` (link and data back after any of
those), ``out_of_range`` (SoC outside 0..100 %, ``|W|`` above 1.2 x the rating: the
value is not published), ``not_implemented`` (once per point the bridge needs) and
``write_rejected`` (a Modbus exception reply to a write, or a read-back more than one
LSB off).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from hil.base import BackgroundLoop, Bridge, FaultLog, FaultPolicy
from hil.sunspec.client import (
    SunSpecClient,
    SunSpecDisconnected,
    SunSpecError,
    SunSpecException,
    SunSpecMalformed,
    SunSpecNotFound,
    SunSpecTimeout,
)
from hil.sunspec.codec import sunspec_w, twin_p_kw
from hil.sunspec.models import model

OVER_RATING = 1.2  # |W| above this multiple of the rating is out of range


class _SunSpecBridge(Bridge):
    """Connection, polling, fault handling and write/read-back shared by both kinds."""

    def __init__(self, asset_id: str, loop: BackgroundLoop, faults: FaultLog,
                 policy: FaultPolicy | None = None, host: str = "127.0.0.1", port: int = 502,
                 device_id: int = 1, poll_s: float = 0.5):
        super().__init__(asset_id, loop, faults, policy)
        if not poll_s > 0:
            raise ValueError(f"{type(self).__name__} poll_s={poll_s!r}: must be > 0")
        self.host, self.port, self.device_id, self.poll_s = host, port, device_id, poll_s
        # every poll's (monotonic time, p_kw, e_kwh), for the sub-step tracking delay
        self.samples: list[tuple[float, float, float]] = []
        self.models: dict[int, tuple[int, int]] = {}
        self.nameplate: dict[str, float] = {}
        self.link = "down"  # down | up
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._pending: float | None = None
        self._reported: set[str] = set()

    # ------------------------------------------------------------------ public

    @property
    def polling(self) -> bool:
        """True from :meth:`start` until :meth:`stop`: the poll task runs (after a fault
        it reconnects by itself)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        async def spawn() -> None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._main(), name=f"sunspec-{self.asset_id}")

        if self._task is None:
            self.loop.run(spawn(), 5)

    def stop(self) -> None:
        async def cancel() -> None:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(self._task, 5)
                self._task = None

        with contextlib.suppress(Exception):
            self.loop.run(cancel(), 6)

    def request(self, p_set_kw: float) -> None:
        value = self._check_request(p_set_kw)
        self.setpoint_kw = value
        self._pending = value
        if self._wake is not None:
            self.loop.loop.call_soon_threadsafe(self._wake.set)

    # ------------------------------------------------------------------ loop

    async def _main(self) -> None:
        backoff, refused, faulted = self.policy.backoff(), 0, False
        while True:
            client = SunSpecClient(self.host, self.port, self.device_id, self.policy.timeout_s)
            try:
                await client.connect()
            except ConnectionError as exc:
                if refused == 0:
                    self.faults.record(self.asset_id, "connection_refused", str(exc))
                refused, faulted = refused + 1, True
                client.close()
                await asyncio.sleep(backoff.next_delay_s())
                continue
            refused = 0
            try:
                await self._session(client, backoff, faulted)
            except SunSpecDisconnected as exc:
                self.faults.record(self.asset_id, "disconnected", str(exc))
            except SunSpecTimeout as exc:
                self.faults.record(self.asset_id, "timeout", str(exc))
            except (SunSpecMalformed, SunSpecNotFound, SunSpecException) as exc:
                self.faults.record(self.asset_id, "malformed", f"{type(exc).__name__}: {exc}")
            except SunSpecError as exc:  # pragma: no cover - every subclass is listed
                self.faults.record(self.asset_id, "malformed", str(exc))
            finally:
                self.link = "down"
                client.close()
            faulted = True
            await asyncio.sleep(backoff.next_delay_s())

    async def _session(self, client: SunSpecClient, backoff, faulted: bool) -> None:
        self.models = await client.scan()
        self._check_chain()
        self.nameplate = await self._read_nameplate(client)
        self.link = "up"
        if self.setpoint_kw is not None and self._pending is None:
            self._pending = self.setpoint_kw  # a restarted device lost it
        first = True
        while True:
            if not client.connected:
                raise SunSpecDisconnected("link lost")
            values = await self._poll(client)
            if values is not None:
                self._publish(values)
                self.samples.append((time.monotonic(), values.get("p_kw", math.nan),
                                     values.get("e_kwh", math.nan)))
                if first and faulted:
                    self.faults.record(self.asset_id, "reconnected", "link and data back")
                backoff.reset()
                first = False
            if self._pending is not None:
                value, self._pending = self._pending, None
                await self._write(client, value)
            assert self._wake is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    # ------------------------------------------------------------------ helpers

    def _check_chain(self) -> None:
        if 1 not in self.models:
            raise SunSpecMalformed(f"no common model 1 in the chain {list(self.models)}")

    def _missing(self, what: str) -> None:
        """Record a not-implemented point once."""
        if what not in self._reported:
            self._reported.add(what)
            self.faults.record(self.asset_id, "not_implemented", what)

    def _first(self, blocks: dict[int, dict], *where: tuple[int, str]) -> float | None:
        """First implemented value of (model, point) in preference order."""
        for model_id, name in where:
            value = blocks.get(model_id, {}).get(name)
            if value is not None:
                return float(value)
        if any(m in blocks for m, _ in where):
            self._missing(" / ".join(f"{m}.{n}" for m, n in where if m in blocks))
        return None

    async def _read(self, client: SunSpecClient, *model_ids: int) -> dict[int, dict]:
        return {m: await client.read_model(m) for m in model_ids if m in self.models}

    def _inverter(self) -> int | None:
        return next((m for m in (101, 102, 103) if m in self.models), None)

    def _power_w(self, blocks: dict[int, dict]) -> float | None:
        """Active power (SunSpec sign), None when missing or out of range."""
        inv = self._inverter()
        w = self._first(blocks, (701, "W"), *(((inv, "W"),) if inv else ()))
        rating = self.nameplate.get("w_rtg")
        if w is not None and rating and abs(w) > OVER_RATING * rating:
            self.faults.record(self.asset_id, "out_of_range",
                               f"W = {w:g} W beyond {OVER_RATING} x WRtg {rating:g} W")
            return None
        return w

    async def _write_checked(self, client: SunSpecClient, model_id: int,
                             values: dict[str, float]) -> None:
        """Write, read back and compare within one LSB; write_rejected otherwise."""
        try:
            await client.write_points(model_id, values)
        except SunSpecException as exc:
            self.faults.record(self.asset_id, "write_rejected", f"{model_id} {values}: {exc}")
            return
        except ValueError as exc:
            self.faults.record(self.asset_id, "write_rejected", str(exc))
            return
        back = await client.read_model(model_id)
        mdef = model(model_id)
        for name, want in values.items():
            p = mdef.point(name)
            sf = int(back.get(p.sf) or 0) if p.sf else 0
            got = back.get(name)
            if got is None or abs(float(got) - want) > 10.0 ** sf * 1.0001:
                self.faults.record(self.asset_id, "write_rejected",
                                   f"{model_id}.{name}: wrote {want:g}, read back {got}")
                return

    # subclasses -------------------------------------------------------

    def _check_request(self, value: float) -> float:
        raise NotImplementedError

    async def _read_nameplate(self, client: SunSpecClient) -> dict[str, float]:
        raise NotImplementedError

    async def _poll(self, client: SunSpecClient) -> dict[str, float] | None:
        raise NotImplementedError

    async def _write(self, client: SunSpecClient, value: float) -> None:
        raise NotImplementedError


class SunSpecPvBridge(_SunSpecBridge):
    """A SunSpec PV inverter as the twin's PV simulator.

    Publishes ``p_kw`` (negative when producing; from 701 ``W``, else the 101-103
    inverter model) and ``p_limit_kw`` (active limit magnitude, inf when none).
    :meth:`request` takes the active-power limit magnitude [kW] (>= 0, inf = none) and
    writes ``WMaxLimPct`` + enable in model 704 when the device has it (the DER model of
    the IEEE 1547-2018 profile that supersedes 123), else in model 123.
    """

    kind = "pv"

    def _check_request(self, value: float) -> float:
        value = float(value)
        if math.isnan(value) or value < 0:
            raise ValueError(f"SunSpecPvBridge.request p_limit_kw={value!r}: must be >= 0 "
                             "(a production limit magnitude; inf = no limit)")
        return value

    async def _read_nameplate(self, client):
        blocks = await self._read(client, 120)
        w_rtg = self._first(blocks, (120, "WRtg"))
        if w_rtg is None or w_rtg <= 0:
            raise SunSpecMalformed(f"nameplate 120 WRtg = {w_rtg}: need a rating > 0")
        return {"w_rtg": w_rtg}

    async def _poll(self, client):
        blocks = await self._read(client, 701 if 701 in self.models else self._inverter(),
                                  704, 123)
        w = self._power_w(blocks)
        if w is None:
            return None
        w_rtg, limits = self.nameplate["w_rtg"], [math.inf]
        for model_id, ena in ((704, "WMaxLimPctEna"), (123, "WMaxLim_Ena")):
            if blocks.get(model_id, {}).get(ena) == 1:
                pct = self._first(blocks, (model_id, "WMaxLimPct"))
                if pct is not None:
                    limits.append(pct / 100.0 * w_rtg / 1000.0)
        return {"p_kw": twin_p_kw(w), "p_limit_kw": min(limits)}

    async def _write(self, client, value):
        w_rtg = self.nameplate["w_rtg"]
        model_id = 704 if 704 in self.models else 123 if 123 in self.models else None
        if model_id is None:
            self._missing("704 / 123 WMaxLimPct (no active power limit control)")
            return
        ena = "WMaxLimPctEna" if model_id == 704 else "WMaxLim_Ena"
        if math.isinf(value):
            await self._write_checked(client, model_id, {ena: 0})
            return
        pct = min(max(value * 1000.0 / w_rtg * 100.0, 0.0), 100.0)
        await self._write_checked(client, model_id, {"WMaxLimPct": pct, ena: 1})


class SunSpecBatteryBridge(_SunSpecBridge):
    """A SunSpec battery (storage inverter) as the twin's battery simulator.

    Publishes ``p_kw`` (twin sign), ``soc_percent`` (802 SoC, else 124 ChaState, else
    713 SoC), ``e_kwh`` (713 WHAvail, else SoC x capacity), ``capacity_kwh`` (713 WHRtg,
    else 802 / 120 WHRtg), ``p_charge_avail_kw`` / ``p_discharge_avail_kw`` (the
    nameplate maximum, 0 at 802 SoCMax / SoCMin or 0 / 100 %).
    :meth:`request` takes a signed setpoint (positive = charge) [kW], clamped to
    120 MaxChaRte / MaxDisChaRte (else 802 WChaRteMax / WDisChaRteMax), written as 704
    ``WSet`` (W, ``WSetMod`` = WATTS, enabled) when the device has 704, else as 124
    ``InWRte = -OutWRte = 100 p / WChaMax`` with both ``StorCtl_Mod`` bits set, which
    pins the charge/discharge window on p.
    """

    kind = "battery"

    def _check_request(self, value: float) -> float:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"SunSpecBatteryBridge.request p_set_kw={value!r}: must be a "
                             "finite power, positive = charging")
        return value

    async def _read_nameplate(self, client):
        blocks = await self._read(client, 120, 802, 124, 713)
        plate = {
            "w_rtg": self._first(blocks, (120, "WRtg")),
            "w_cha_max": self._first(blocks, (120, "MaxChaRte"), (802, "WChaRteMax"),
                                     (124, "WChaMax")),
            "w_dis_max": self._first(blocks, (120, "MaxDisChaRte"), (802, "WDisChaRteMax"),
                                     (124, "WChaMax")),
            "wh_rtg": self._first(blocks, (713, "WHRtg"), (802, "WHRtg"), (120, "WHRtg")),
            "w_cha_ref": self._first(blocks, (124, "WChaMax")),
        }
        for key in ("w_cha_max", "w_dis_max", "wh_rtg"):
            if plate[key] is None or plate[key] <= 0:
                raise SunSpecMalformed(f"battery nameplate {key} = {plate[key]}: need > 0")
        if plate["w_rtg"] is None:
            plate["w_rtg"] = max(plate["w_cha_max"], plate["w_dis_max"])
        return {k: v for k, v in plate.items() if v is not None}

    async def _poll(self, client):
        blocks = await self._read(client, 701 if 701 in self.models else self._inverter(),
                                  802, 124, 713)
        w = self._power_w(blocks)
        soc = self._first(blocks, (802, "SoC"), (124, "ChaState"), (713, "SoC"))
        if w is None or soc is None:
            return None
        if not 0.0 <= soc <= 100.0:
            self.faults.record(self.asset_id, "out_of_range", f"SoC = {soc:g} % outside 0..100")
            return None
        plate = self.nameplate
        capacity_kwh = (self._first(blocks, (713, "WHRtg"), (802, "WHRtg"))
                        or plate["wh_rtg"]) / 1000.0
        wh_avail = blocks.get(713, {}).get("WHAvail")
        e_kwh = wh_avail / 1000.0 if wh_avail is not None else soc / 100.0 * capacity_kwh
        soc_max = blocks.get(802, {}).get("SoCMax")
        soc_min = blocks.get(802, {}).get("SoCMin")
        full = soc >= (100.0 if soc_max is None else soc_max)
        empty = soc <= (0.0 if soc_min is None else soc_min)
        return {"p_kw": twin_p_kw(w), "soc_percent": soc, "e_kwh": e_kwh,
                "capacity_kwh": capacity_kwh,
                "p_charge_avail_kw": 0.0 if full else plate["w_cha_max"] / 1000.0,
                "p_discharge_avail_kw": 0.0 if empty else plate["w_dis_max"] / 1000.0}

    async def _write(self, client, value):
        plate = self.nameplate
        p_kw = min(max(value, -plate["w_dis_max"] / 1000.0), plate["w_cha_max"] / 1000.0)
        if 704 in self.models:
            await self._write_checked(client, 704, {"WSetMod": 1, "WSet": sunspec_w(p_kw),
                                                    "WSetEna": 1})
        elif 124 in self.models and plate.get("w_cha_ref"):
            pct = min(max(100.0 * p_kw * 1000.0 / plate["w_cha_ref"], -100.0), 100.0)
            await self._write_checked(client, 124, {"InWRte": pct, "OutWRte": -pct,
                                                    "StorCtl_Mod": 3})
        else:
            self._missing("704 WSet / 124 InWRte (no active power setpoint control)")
