"""SunSpec Modbus TCP emulator of one PV inverter or battery of a scenario.

The physics is the twin's own: PV available power from :func:`twin.inputs.pv_available_kw`
curtailed with :func:`simulators.pv.model.curtail`; a battery is a one-unit
:class:`simulators.battery.model.BatteryFleet`. Scenario time runs at ``speed`` scenario
seconds per wall second from ``scenario.start`` and stops at the scenario end.

Register map (holding registers, Modbus PDU addresses): 'SunS' at 40000 (SunSpec's
documented base register 40001; a client sends ``read_holding_registers(40000,
count=2)``), then the models, then the end model 0xFFFF with length 0.

- PV: 1, 101, 120, 123, 701, 704. Model 101 (single phase): the twin's PV systems are
  residential (4.6 kW by default) and single-phase inverters at that size are the rule.
- battery: 1, 103, 120, 124, 701, 704, 713, 802. Model 103 (three phase) for a
  50 kW-class storage converter.

Controls obeyed (others are stored, range-checked and read back, not acted upon;
reversion timers are not run):

- PV: 123 ``Conn`` (0 = disconnected: no power), 123 ``WMaxLimPct`` when
  ``WMaxLim_Ena`` = 1, 704 ``WMaxLimPct`` when ``WMaxLimPctEna`` = 1, 704 ``WSet`` /
  ``WSetPct`` (per ``WSetMod``) when ``WSetEna`` = 1, as a cap on injection. The most
  restrictive active limit wins; percentages refer to 120 ``WRtg``.
- battery: 704 ``WSet`` / ``WSetPct`` when ``WSetEna`` = 1 (takes precedence), else
  124 ``StorCtl_Mod``: bit 0 (CHARGE) bounds charging at ``InWRte`` % of ``WChaMax``,
  bit 1 (DISCHARGE) bounds discharging at ``OutWRte`` % of ``WChaMax`` (124 defines no
  WDisChaMax; as in common implementations both rates refer to ``WChaMax``). Negative
  rates move the bound past zero, so ``InWRte = -OutWRte = x`` forces charging at x %
  and ``OutWRte = -InWRte = x`` forces discharging. With no local load to serve the
  emulated battery runs at the point of that window nearest to zero. 124 ``WChaMax``
  caps charging; 704 ``WMaxLimPct`` (enabled) caps discharging.

Sign conversion (SunSpec W positive = injection) is :func:`hil.sunspec.codec.twin_p_kw`.
Writes to read-only registers answer ILLEGAL_DATA_ADDRESS; writes outside a point's
enumeration or allowed range answer ILLEGAL_DATA_VALUE, and change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from pathlib import Path

import numpy as np
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from hil.origin import read_origin
from hil.sunspec import models as sm
from hil.sunspec.codec import decode_raw, sunspec_w, twin_p_kw
from hil.sunspec.image import BASE_ADDRESS, RegisterImage
from simulators.battery.model import BatteryFleet, BatteryParams
from simulators.pv.model import curtail
from twin.inputs import pv_available_kw
from twin.scenario.assets import params_from, resolve_assets
from twin.scenario.loading import load_scenario

NOMINAL_V = 230.0  # line to neutral [V]
NOMINAL_HZ = 50.0  # Martinique (EDF SEI) grid frequency [Hz]
PCT_SF = -2  # every percentage with 0.01 % resolution
PV_MODELS = (sm.COMMON, sm.INVERTER_1PH, sm.NAMEPLATE, sm.CONTROLS, sm.DER_MEASURE_AC,
             sm.DER_CTL_AC)
BATTERY_MODELS = (sm.COMMON, sm.INVERTER_3PH, sm.NAMEPLATE, sm.STORAGE, sm.DER_MEASURE_AC,
                  sm.DER_CTL_AC, sm.DER_STORAGE_CAPACITY, sm.BATTERY)


def _sf_for(max_abs: float, limit: int = 32767) -> int:
    """Smallest non-negative scale factor that fits ``max_abs`` in ``limit``."""
    sf = 0
    while max_abs / 10.0 ** sf > limit:
        sf += 1
    return sf


def _find_asset(scenario, asset_id: str):
    assets = resolve_assets(scenario)
    allowed = [a.id for k in ("pv", "battery") for a in assets.get(k, [])]
    for kind in ("pv", "battery"):
        for index, asset in enumerate(assets.get(kind, [])):
            if asset.id == asset_id:
                return kind, index, asset
    other = [a.kind for k in assets.values() for a in k if a.id == asset_id]
    what = f"is a {other[0]}, not a pv or battery asset" if other else "is not in the scenario"
    raise ValueError(f"asset {asset_id!r} {what}; the SunSpec emulator serves pv and battery "
                     f"assets: {', '.join(allowed) or '(none in this scenario)'}")


class SunSpecEmulator:
    """A SunSpec Modbus TCP server for one scenario asset (pv or battery).

    Parameters
    ----------
    scenario : twin.scenario.schema.Scenario or path
        A loaded scenario, or a YAML path loaded with ``twin.scenario.loading.load_scenario``.
    asset_id : str
        Id of a pv or battery asset of the scenario.
    host, port : str, int
        Where to listen; port 0 picks a free port (returned by :meth:`start`).
    speed : float
        Scenario seconds per wall second, > 0. [-]
    device_id : int
        Modbus unit id answered, 1..247 (other ids get no answer but the gateway default).
    tick_s : float
        Wall time between physics steps. [s]
    origin_unix_s, origin_file : float, path, optional
        The wall time at which scenario time starts (default: on start), or a file it
        will be written to (:mod:`hil.origin`); until then scenario time stands at 0.
    """

    def __init__(self, scenario, asset_id: str, host: str = "127.0.0.1", port: int = 0,
                 speed: float = 1.0, device_id: int = 1, tick_s: float = 0.1,
                 origin_unix_s: float | None = None, origin_file: str | Path | None = None):
        for name, ok, allowed in (("speed", speed > 0 and math.isfinite(speed), "> 0"),
                                  ("device_id", 1 <= device_id <= 247, "1..247"),
                                  ("port", 0 <= port <= 65535, "0..65535"),
                                  ("tick_s", 0 < tick_s <= 5, "in (0, 5]")):
            if not ok:
                raise ValueError(f"SunSpecEmulator {name}={locals()[name]!r}: must be {allowed}")
        if isinstance(scenario, str | Path):
            scenario = load_scenario(scenario)
        self.scenario, self.asset_id = scenario, asset_id
        self.kind, index, self.asset = _find_asset(scenario, asset_id)
        self.host, self.port, self.speed = host, port, float(speed)
        self.origin_unix_s, self.origin_file = origin_unix_s, origin_file
        self.device_id, self.tick_s = device_id, tick_s
        self.step_s, self.duration_s = scenario.step_s, scenario.duration_s
        spec = self.asset.spec
        if self.kind == "pv":
            self._p_avail_kw = np.asarray(pv_available_kw(scenario))[:, index]
            self.w_rtg = spec.p_ac_kw * 1000.0
            self.phases, models = 1, PV_MODELS
        else:
            self.params = params_from(BatteryParams, spec)
            self.fleet = BatteryFleet([self.params], dt_s=tick_s * self.speed)
            self.w_cha_max = self.params.p_charge_max_kw * 1000.0
            self.w_dis_max = self.params.p_discharge_max_kw * 1000.0
            self.w_rtg = max(self.w_cha_max, self.w_dis_max)
            self.phases, models = 3, BATTERY_MODELS
        self.image = RegisterImage(models, BASE_ADDRESS)
        self.model_ids = [m.id for m in models]
        self.inverter_id = models[1].id
        # (model id, point name) -> the engineering range a write may take [point unit]
        self.write_ranges = self._point_ranges()
        self.t_s = 0.0  # scenario seconds since scenario.start
        self.p_kw = 0.0  # twin sign [kW]
        self.p_limit_kw = math.inf  # PV: active limit magnitude [kW]
        self.p_set_kw = 0.0  # battery: requested power, twin sign [kW]
        self.setpoint_t_s = 0.0  # scenario time the current setpoint took effect [s]
        self._wh_inj = self._wh_abs = 0.0
        self._t0_mono: float | None = None
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task | None = None
        self._init_registers()
        self._apply_controls()
        self.tick()  # t = 0: PV power of the first step, registers filled

    # ------------------------------------------------------------------ state for tests

    @property
    def soc_percent(self) -> float:
        return float(self.fleet.soc_percent[0]) if self.kind == "battery" else math.nan

    @property
    def e_kwh(self) -> float:
        return float(self.fleet.e_kwh[0]) if self.kind == "battery" else math.nan

    @property
    def p_avail_kw(self) -> float:
        """PV available power at the current scenario step (<= 0). [kW]"""
        k = min(int(self.t_s // self.step_s), len(self._p_avail_kw) - 1)
        return float(self._p_avail_kw[k])

    # ------------------------------------------------------------------ server

    async def start(self) -> int:
        """Listen and start the physics clock; returns the bound port."""
        if self._server is not None:
            raise RuntimeError("SunSpecEmulator already started")
        device = SimDevice(self.device_id, simdata=[SimData(
            BASE_ADDRESS, values=list(self.image.regs), datatype=DataType.REGISTERS)],
            action=self._action)
        self._server = ModbusTcpServer(device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        self.port = self._server.transport.sockets[0].getsockname()[1]
        self._t0_mono = time.monotonic() - self.t_s / self.speed
        if self.origin_unix_s is not None:  # scenario time starts at this wall time
            self._t0_mono = time.monotonic() + (self.origin_unix_s - time.time())
        elif self.origin_file is not None:  # at the time written there, once it is
            self._t0_mono = None
        self._task = asyncio.create_task(self._run(), name=f"sunspec-emulator-{self.asset_id}")
        return self.port

    async def stop(self) -> None:
        """Stop serving (open connections are closed) and stop the clock."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.tick()

    async def _action(self, function_code, start_address, address, count, registers, values):
        """pymodbus hook on every request: serve reads from the image, check writes."""
        i = address - start_address
        if values is None:
            registers[i:i + count] = self.image.regs[i:i + count]
            return None
        return self._write(address, [int(v) for v in values])

    # ------------------------------------------------------------------ physics

    def tick(self, now_mono: float | None = None) -> None:
        """Advance scenario time to now and step the physics, then refresh registers."""
        now = time.monotonic() if now_mono is None else now_mono
        if self._t0_mono is None and self.origin_file is not None:
            origin = read_origin(self.origin_file)
            if origin is not None:
                self._t0_mono = now + (origin - time.time())
        t_new = min(max((now - (self._t0_mono or now)) * self.speed, 0.0),
                    float(self.duration_s))
        dt_s, self.t_s = t_new - self.t_s, t_new
        if self.kind == "pv":
            self.p_kw = float(curtail(np.array([self.p_avail_kw]), self.p_limit_kw)[0])
        elif dt_s > 0:
            self.fleet.step([self.p_set_kw], dt_s)
            self.p_kw = float(self.fleet.p_kw[0])
        if dt_s > 0:
            self._wh_inj += max(-self.p_kw, 0.0) * 1000.0 * dt_s / 3600.0
            self._wh_abs += max(self.p_kw, 0.0) * 1000.0 * dt_s / 3600.0
        self._refresh()

    def _pct(self, model_id: int, name: str) -> float:
        return float(self.image.get(model_id, name) or 0.0)

    def _on(self, model_id: int, name: str) -> bool:
        return self.image.get(model_id, name) == 1

    def _wset_w(self) -> float:
        """704 active power setpoint in W (SunSpec sign) per WSetMod."""
        if self.image.get(704, "WSetMod") == 1:
            return float(self.image.get(704, "WSet") or 0.0)
        return self._pct(704, "WSetPct") / 100.0 * self.w_rtg

    def _apply_controls(self) -> None:
        """Derive the active limit (PV) or setpoint (battery) from the control points."""
        if self.kind == "pv":
            limits = [math.inf]
            if self.image.get(123, "Conn") == 0:
                limits.append(0.0)
            if self._on(123, "WMaxLim_Ena"):
                limits.append(self._pct(123, "WMaxLimPct") / 100.0 * self.w_rtg)
            if self._on(704, "WMaxLimPctEna"):
                limits.append(self._pct(704, "WMaxLimPct") / 100.0 * self.w_rtg)
            if self._on(704, "WSetEna"):
                limits.append(max(self._wset_w(), 0.0))
            self.p_limit_kw = min(limits) / 1000.0
            return
        w_cha_max = float(self.image.get(124, "WChaMax") or 0.0)
        if self._on(704, "WSetEna"):
            p_kw = twin_p_kw(self._wset_w())
        else:
            mode = self.image.get(124, "StorCtl_Mod") or 0
            hi = self._pct(124, "InWRte") / 100.0 * w_cha_max if mode & 1 else w_cha_max
            lo = -self._pct(124, "OutWRte") / 100.0 * w_cha_max if mode & 2 else -self.w_dis_max
            p_kw = min(max(0.0, lo), hi) / 1000.0
        p_kw = min(p_kw, w_cha_max / 1000.0)
        if self._on(704, "WMaxLimPctEna"):
            p_kw = max(p_kw, -self._pct(704, "WMaxLimPct") / 100.0 * self.w_rtg / 1000.0)
        if p_kw != self.p_set_kw:
            self.p_set_kw, self.setpoint_t_s = p_kw, self.t_s

    # ------------------------------------------------------------------ writes

    def _point_ranges(self) -> dict[tuple[int, str], tuple[float, float]]:
        """Allowed engineering ranges of the writable points the emulator checks."""
        pct = (0.0, 100.0)
        signed_pct = (-100.0, 100.0) if self.kind == "battery" else pct
        wset = ((-self.w_cha_max, self.w_dis_max) if self.kind == "battery"
                else (0.0, self.w_rtg))
        ranges = {(123, n): pct for n in ("WMaxLimPct",)}
        ranges |= {(704, n): pct for n in ("WMaxLimPct", "WMaxLimPctRvrt")}
        ranges |= {(704, n): wset for n in ("WSet", "WSetRvrt")}
        ranges |= {(704, n): signed_pct for n in ("WSetPct", "WSetPctRvrt")}
        ranges |= {(704, f"{g}.PF"): (0.0, 1.0)
                   for g in ("PFWInj", "PFWInjRvrt", "PFWAbs", "PFWAbsRvrt")}
        ranges |= {(123, "OutPFSet"): (-1.0, 1.0)}
        if self.kind == "battery":
            ranges |= {(124, n): (-100.0, 100.0) for n in ("InWRte", "OutWRte")}
            ranges |= {(124, "WChaMax"): (0.0, self.w_rtg), (124, "MinRsvPct"): pct,
                       (802, "SocRsvMax"): pct, (802, "SoCRsvMin"): pct}
        return ranges

    def _write(self, address: int, values: list[int]) -> ExcCodes | None:
        owners = self.image.points_at(address, len(values))
        if any(o is None or not o[1].writable for o in owners):
            return ExcCodes.ILLEGAL_ADDRESS
        new = list(self.image.regs)
        i = address - self.image.base
        new[i:i + len(values)] = values
        for m, p in owners:  # type: ignore[misc]
            first = self.image.starts[m.id] + p.offset - self.image.base
            raw = decode_raw(p, new[first:first + p.size])
            if raw is None or not self._allowed(m, p, raw, new):
                return ExcCodes.ILLEGAL_VALUE
        self.image.regs[i:i + len(values)] = values
        self._apply_controls()
        self._refresh()
        return None

    def _allowed(self, m: sm.Model, p: sm.Point, raw: int, regs: list[int]) -> bool:
        if p.symbols is not None and p.type.startswith("enum") and raw not in p.symbols:
            return False
        if p.symbols is not None and p.type.startswith("bitfield"):
            if raw & ~sum(1 << b for b in p.symbols):
                return False
        bounds = self.write_ranges.get((m.id, p.name))
        if bounds is None:
            return True
        sf_point = m.point(p.sf) if p.sf else None
        sf = 0
        if sf_point is not None:
            first = self.image.starts[m.id] + sf_point.offset - self.image.base
            sf = decode_raw(sf_point, regs[first:first + 1]) or 0
        value = raw * 10.0 ** sf
        return bounds[0] - 1e-9 <= value <= bounds[1] + 1e-9

    # ------------------------------------------------------------------ registers

    def _init_registers(self) -> None:
        img, w_sf = self.image, _sf_for(self.w_rtg * 1.2)
        wh_sf = _sf_for(self.params.capacity_kwh * 1000.0, 65534) if self.kind == "battery" else 0
        md = "Twin PV inverter" if self.kind == "pv" else "Twin battery"
        img.set(1, {"Mn": "Cariflex", "Md": md, "Opt": self.kind, "Vr": "1.0",
                    "SN": self.asset_id[:32], "DA": self.device_id})
        inv = self.inverter_id
        img.set_sfs(inv, {"A_SF": -2, "V_SF": -1, "W_SF": w_sf, "Hz_SF": -2, "VA_SF": w_sf,
                          "VAr_SF": w_sf, "WH_SF": 0})
        img.set(inv, {"Evt1": 0, "Evt2": 0})
        img.set_sfs(120, {"WRtg_SF": w_sf, "VARtg_SF": w_sf, "ARtg_SF": -1,
                          "WHRtg_SF": wh_sf, "MaxChaRte_SF": w_sf, "MaxDisChaRte_SF": w_sf})
        a_rtg = self.w_rtg / NOMINAL_V / self.phases
        img.set(120, {"DERTyp": 4 if self.kind == "pv" else 82, "WRtg": self.w_rtg,
                      "VARtg": self.w_rtg, "ARtg": a_rtg})
        img.set(701, {"ACType": 0 if self.phases == 1 else 2, "St": 1, "ConnSt": 1, "Alrm": 0})
        img.set_sfs(701, {"A_SF": -2, "V_SF": -1, "Hz_SF": -3, "W_SF": w_sf, "VA_SF": w_sf,
                          "Var_SF": w_sf, "TotWh_SF": 0})
        img.set_sfs(704, {"PF_SF": -3, "WMaxLimPct_SF": PCT_SF, "WSet_SF": 0,
                          "WSetPct_SF": PCT_SF, "VarSet_SF": 0, "VarSetPct_SF": PCT_SF})
        zero = [p.name for p in sm.DER_CTL_AC.points
                if p.writable and p.type != "sunssf" and not p.name.endswith(".PF")]
        img.set(704, dict.fromkeys(zero, 0) | {"WMaxLimPct": 100.0, "WMaxLimPctRvrt": 100.0,
                                               "WSetMod": 1, "PFWInj.PF": 1.0,
                                               "PFWInjRvrt.PF": 1.0, "PFWAbs.PF": 1.0,
                                               "PFWAbsRvrt.PF": 1.0})
        img.set(704, {n: 0 for n in ("PFWInjRvrtRem", "PFWAbsRvrtRem", "WMaxLimPctRvrtRem",
                                     "WSetRvrtRem", "VarSetRvrtRem")})
        if self.kind == "pv":
            img.set_sfs(123, {"WMaxLimPct_SF": PCT_SF, "OutPFSet_SF": -3, "VArPct_SF": PCT_SF})
            writable = [p.name for p in sm.CONTROLS.points if p.writable]
            img.set(123, dict.fromkeys(writable, 0) | {"Conn": 1, "WMaxLimPct": 100.0,
                                                       "OutPFSet": 1.0})
            return
        par = self.params
        img.set(120, {"WHRtg": par.capacity_kwh * 1000.0, "MaxChaRte": self.w_cha_max,
                      "MaxDisChaRte": self.w_dis_max})
        img.set_sfs(124, {"WChaMax_SF": w_sf, "WChaDisChaGra_SF": PCT_SF, "MinRsvPct_SF": PCT_SF,
                          "ChaState_SF": PCT_SF, "InOutWRte_SF": PCT_SF})
        img.set(124, {"WChaMax": self.w_rtg, "WChaGra": 100.0, "WDisChaGra": 100.0,
                      "StorCtl_Mod": 0, "MinRsvPct": par.soc_min_percent, "InWRte": 100.0,
                      "OutWRte": 100.0, "InOutWRte_WinTms": 0, "InOutWRte_RvrtTms": 0,
                      "InOutWRte_RmpTms": 0, "ChaGriSet": 1})
        img.set_sfs(713, {"WH_SF": wh_sf, "Pct_SF": PCT_SF})
        img.set(713, {"WHRtg": par.capacity_kwh * 1000.0, "SoH": 100, "Sta": 0})
        img.set_sfs(802, {"WHRtg_SF": wh_sf, "WChaDisChaMax_SF": w_sf, "DisChaRte_SF": PCT_SF,
                          "SoC_SF": PCT_SF, "DoD_SF": PCT_SF, "SoH_SF": 0,
                          "W_SF": w_sf})
        img.set(802, {"WHRtg": par.capacity_kwh * 1000.0, "WChaRteMax": self.w_cha_max,
                      "WDisChaRteMax": self.w_dis_max,
                      "DisChaRte": par.self_discharge_percent_per_day,
                      "SoCMax": par.soc_max_percent, "SoCMin": par.soc_min_percent,
                      "SocRsvMax": par.soc_max_percent, "SoCRsvMin": par.soc_min_percent,
                      "SoH": 100, "LocRemCtl": 0, "CtrlHb": 0, "AlmRst": 0, "Typ": 4,
                      "State": 3, "Evt1": 0, "Evt2": 0, "SetOp": 1, "SetInvState": 3})

    def _refresh(self) -> None:
        """Write the measurements of the current state into the registers."""
        img, w = self.image, sunspec_w(self.p_kw)
        a = abs(w) / NOMINAL_V
        limited = self.kind == "pv" and math.isfinite(self.p_limit_kw)
        throttled = limited and -self.p_avail_kw > self.p_limit_kw + 1e-9
        st = 4 if abs(w) > 0 else 8  # 101-103 St: MPPT / STANDBY, THROTTLED 5
        st = 5 if throttled else st
        inv_st = st - 1  # 701 InvSt numbers the same states from 0 (RUNNING 3, STANDBY 7)
        img.set(self.inverter_id, {"W": w, "VA": abs(w), "VAr": 0.0, "A": a,
                                   "AphA": a / self.phases,
                                   "PhVphA": NOMINAL_V, "Hz": NOMINAL_HZ,
                                   "WH": round(self._wh_inj) % (1 << 32), "St": st})
        if self.phases == 3:
            img.set(self.inverter_id, {"AphB": a / 3, "AphC": a / 3, "PhVphB": NOMINAL_V,
                                       "PhVphC": NOMINAL_V})
        phase = {"WL1": w / self.phases, "VAL1": abs(w) / self.phases, "VarL1": 0.0,
                 "AL1": a / self.phases, "VL1": NOMINAL_V}
        if self.phases == 3:
            for ph in ("L2", "L3"):
                phase |= {f"W{ph}": w / 3, f"VA{ph}": abs(w) / 3, f"Var{ph}": 0.0,
                          f"A{ph}": a / 3, f"V{ph}": NOMINAL_V}
        pct = 100.0 * self.p_limit_kw * 1000.0 / self.w_rtg if limited else 0.0
        img.set(701, phase | {
            "InvSt": inv_st, "DERMode": 4 if throttled else 0, "W": w, "VA": abs(w), "Var": 0.0,
            "A": a, "LNV": NOMINAL_V, "Hz": NOMINAL_HZ, "TotWhInj": round(self._wh_inj),
            "TotWhAbs": round(self._wh_abs), "ThrotPct": round(min(pct, 100.0)),
            "ThrotSrc": 1 if throttled else 0})
        if self.kind == "battery":
            self._refresh_battery(w)

    def _refresh_battery(self, w: float) -> None:
        img, par, soc = self.image, self.params, self.soc_percent
        p = self.p_kw
        if p > 0:
            cha_st = 4  # CHARGING
        elif p < 0:
            cha_st = 3  # DISCHARGING
        elif soc >= par.soc_max_percent - 1e-9:
            cha_st = 5  # FULL
        elif soc <= par.soc_min_percent + 1e-9:
            cha_st = 2  # EMPTY
        else:
            cha_st = 6  # HOLDING
        hb = int(time.monotonic() - (self._t0_mono or time.monotonic())) % 65535
        img.set(124, {"ChaState": soc, "ChaSt": cha_st})
        img.set(713, {"WHAvail": self.e_kwh * 1000.0, "SoC": soc})
        img.set(802, {"SoC": soc, "DoD": 100.0 - soc, "ChaSt": cha_st, "W": w, "Hb": hb})

