"""Scenario schema: the validated form of a scenario YAML.

Every field carries its unit in its name. Sign convention everywhere in the twin:
positive power = consumption / charging / import.

Asset groups accept two forms::

    pv: {count: 10, defaults: {p_dc_kwp: 5}, items: [{bus: f2_b3}]}   # count with overrides
    battery: [{capacity_kwh: 100, bus: f1_b2}, {capacity_kwh: 50}]    # explicit list

In the count form ``items[i]`` overrides ``defaults`` for asset ``i``; assets without a
``bus`` are spread over the feeder's low-voltage buses in a fixed round-robin order.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from twin.scenario.base import Strict
from twin.scenario.hil import HIL_KINDS, Hil
from twin.scenario.line_types import LINE_STD_TYPES
from twin.scenario.market import Market
from twin.scenario.specs import Assets
from twin.timeparse import parse_duration_s

MARTINIQUE_TZ = "America/Martinique"
#: Longest run (ten years of 366 days) and most steps in a run.
MAX_DURATION_S = 3660 * 86400
MAX_STEPS = 2_000_000


# ----------------------------------------------------------------------------- site, grid


def _known_zone(v: str) -> str:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown IANA time zone {v!r} (e.g. 'America/Martinique')") from None
    return v


class Site(Strict):
    latitude: float = Field(14.6, ge=-90, le=90, description="Site latitude [deg north]")
    longitude: float = Field(-61.07, ge=-180, le=180, description="Site longitude [deg east]")
    timezone: str = Field(MARTINIQUE_TZ, max_length=64,
                          description="IANA time zone of the site")
    altitude_m: float = Field(50.0, ge=-500, le=9000, description="Altitude [m]")

    @field_validator("timezone")
    @classmethod
    def _known_tz(cls, v: str) -> str:
        return _known_zone(v)


class Grid(Strict):
    """Radial LV feeder behind a MV/LV transformer (builder ``lv_radial``)."""

    builder: Literal["lv_radial"] = Field("lv_radial", description="Network builder")
    mv_vn_kv: float = Field(20.0, gt=0, le=400, description="Medium-voltage nominal voltage [kV]")
    lv_vn_kv: float = Field(0.4, gt=0, le=1, description="Low-voltage nominal voltage [kV]")
    ext_grid_vm_pu: float = Field(1.0, gt=0.8, lt=1.2, description="MV slack voltage [pu]")
    trafo_sn_kva: float = Field(250.0, gt=0, le=100_000,
                               description="MV/LV transformer rating [kVA]")
    trafo_vk_percent: float = Field(4.0, gt=0, lt=100, description="Short-circuit voltage [%]")
    trafo_vkr_percent: float = Field(1.2, ge=0, lt=100, description="Its resistive part [%]")
    trafo_pfe_kw: float = Field(0.36, ge=0, le=1000, description="No-load (iron) losses [kW]")
    trafo_i0_percent: float = Field(0.3, ge=0, lt=100, description="No-load current [%]")
    n_feeders: int = Field(3, ge=1, le=20, description="Number of LV feeders from the busbar")
    buses_per_feeder: int = Field(8, ge=1, le=100, description="Cable sections per feeder")
    line_length_m: float = Field(40.0, gt=0, le=100_000,
                                description="Length of each cable section [m]")
    line_std_type: str = Field("NAYY 4x150 SE", description="pandapower line standard type")
    vm_min_pu: float = Field(0.9, gt=0, le=2, description="Lower voltage limit (EN 50160) [pu]")
    vm_max_pu: float = Field(1.1, gt=0, le=2, description="Upper voltage limit (EN 50160) [pu]")
    loading_max_percent: float = Field(100.0, gt=0, le=1000, description="Line/trafo loading limit [%]")

    @field_validator("line_std_type")
    @classmethod
    def _known_line_type(cls, v: str) -> str:
        known = list(LINE_STD_TYPES)
        if v not in known:
            close = difflib.get_close_matches(v, known, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"unknown pandapower line type {v!r}{hint} (e.g. 'NAYY 4x150 SE')")
        return v

    @model_validator(mode="after")
    def _limits_ordered(self) -> Grid:
        if self.trafo_vkr_percent >= self.trafo_vk_percent:
            raise ValueError(
                f"trafo_vkr_percent ({self.trafo_vkr_percent}) must be below "
                f"trafo_vk_percent ({self.trafo_vk_percent})"
            )
        if self.vm_min_pu >= self.vm_max_pu:
            raise ValueError(
                f"vm_min_pu ({self.vm_min_pu}) must be below vm_max_pu ({self.vm_max_pu})"
            )
        return self

    def lv_bus_names(self) -> list[str]:
        """Names of the buses that can host assets: the busbar and each feeder's buses."""
        return ["lv_busbar"] + [
            f"f{f}_b{b}" for f in range(1, self.n_feeders + 1)
            for b in range(1, self.buses_per_feeder + 1)
        ]


# ----------------------------------------------------------------------------- weather, tariff


class SyntheticWeather(Strict):
    source: Literal["synthetic"] = "synthetic"
    mean_kc: float = Field(0.75, gt=0, le=1.2, description="Mean clear-sky index [-]")
    variability: float = Field(0.25, ge=0, le=1, description="Clear-sky index variability [-]")
    persistence_s: float = Field(1800.0, gt=0, le=604_800,
                                 description="Cloud correlation time [s]")
    temp_mean_c: float = Field(27.0, ge=-40, le=50, description="Mean air temperature [°C]")
    temp_amplitude_c: float = Field(3.5, ge=0, le=20, description="Diurnal half-range [°C]")
    wind_mean_m_per_s: float = Field(5.0, ge=0, le=40, description="Mean wind speed [m/s]")


class CsvWeather(Strict):
    """Measured weather; each step gets the mean over the step of the straight lines
    joining the CSV's samples (see the README, "Scenario format")."""

    source: Literal["csv"]
    path: Path = Field(description="CSV with timestamp, ghi_w_per_m2, temp_air_c, ... "
                       "(relative to the scenario file's folder; with --set, to the "
                       "working directory)")
    timezone: str | None = Field(
        None, max_length=64, description="IANA zone in which to read timestamps without "
        "a UTC offset, e.g. America/Martinique (null: such stamps are refused)")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return v if v is None else _known_zone(v)


class TouPeriod(Strict):
    start: dt.time = Field(description="Local start time, e.g. '06:00'")
    end: dt.time = Field(description="Local end time, exclusive; '00:00' means midnight")
    price_eur_per_kwh: float = Field(ge=-10, le=10)


def _default_tou() -> list[TouPeriod]:
    # Regulated EDF SEI blue tariff with off-peak hours, as an illustrative default.
    return [
        TouPeriod(start=dt.time(0), end=dt.time(6), price_eur_per_kwh=0.1547),
        TouPeriod(start=dt.time(6), end=dt.time(18), price_eur_per_kwh=0.2062),
        TouPeriod(start=dt.time(18), end=dt.time(22), price_eur_per_kwh=0.2462),
        TouPeriod(start=dt.time(22), end=dt.time(0), price_eur_per_kwh=0.1547),
    ]


class Tariff(Strict):
    import_tou: list[TouPeriod] = Field(
        default_factory=_default_tou, description="Time-of-use import prices covering 24 h"
    )
    feed_in_price_eur_per_kwh: float = Field(0.10, ge=-10, le=10)
    co2_g_per_kwh: float = Field(720.0, ge=0, le=2000, description="Grid CO2 intensity")

    @field_validator("import_tou")
    @classmethod
    def _covers_day(cls, periods: list[TouPeriod]) -> list[TouPeriod]:
        covered = [0] * 1440
        for p in periods:
            a = p.start.hour * 60 + p.start.minute
            b = p.end.hour * 60 + p.end.minute or 1440
            mins = range(a, b) if a < b else [*range(a, 1440), *range(0, b)]
            for m in mins:
                covered[m] += 1
        gaps = [m for m, c in enumerate(covered) if c == 0]
        overlaps = [m for m, c in enumerate(covered) if c > 1]
        if gaps or overlaps:
            m = (gaps or overlaps)[0]
            what = "not covered" if gaps else "covered twice"
            raise ValueError(
                f"periods must cover each minute of the day exactly once; "
                f"{m // 60:02d}:{m % 60:02d} is {what}"
            )
        return periods


class RuleBased(Strict):
    """Rules: batteries absorb PV surplus and cover evening import; EVs at full power."""

    strategy: Literal["rule_based"] = "rule_based"
    evening_start: dt.time = Field(dt.time(17), description="Batteries cover load from ...")
    evening_end: dt.time = Field(dt.time(22), description="... until (local time)")
    ev_full_power: bool = Field(True, description="EVs charge at full power on arrival")


class FlexMeasuresScheduling(Strict):
    """FlexMeasures' storage scheduling of batteries and EV chargers (see the README)."""

    strategy: Literal["flexmeasures"]
    backend: Literal["builtin", "flexmeasures", "server"] = Field(
        "builtin", description="builtin: HiGHS directly; flexmeasures: FlexMeasures' own "
        "device_scheduler in process (the flexmeasures extra); server: a FlexMeasures "
        "server (FLEXMEASURES_URL, FLEXMEASURES_EMAIL, FLEXMEASURES_PASSWORD)")
    server_asset: int | None = Field(
        None, description="The server's asset id (backend: server); the twin adds a sensor "
        "per device under it")
    horizon: str = Field("PT24H", description="Planning horizon of intraday plans, ISO 8601")
    replan_every: str | None = Field(
        "PT1H", description="Intraday re-planning cadence, ISO 8601 (null: none)")
    day_ahead_at: dt.time | None = Field(
        None, description="Local time of a day-ahead plan until the end of the next day "
        "(null: none)")
    replan_on_arrival: bool = Field(True, description="Also re-plan when an EV plugs in")
    forecast: Literal["persistence", "oracle"] = Field(
        "persistence",
        description="persistence: clear-sky PV x a persisted clear-sky index relaxing to "
        "its mean, households of the day before; oracle: the simulated future exactly",
    )
    flex_model: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Flex-model overrides by asset id or kind (battery, ev_charger): "
        "FlexMeasures fields and forms, e.g. {battery_00: {soc-min: 20 kWh}}")
    flex_context: dict[str, Any] = Field(
        default_factory=dict,
        description="Flex-context overrides: FlexMeasures fields and forms, e.g. "
        "{site-peak-consumption-price: 20 EUR/kW}")

    @field_validator("horizon", "replan_every")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration_s(v)
        return v

    @model_validator(mode="after")
    def _server_asset(self) -> FlexMeasuresScheduling:
        if self.backend == "server" and self.server_asset is None:
            raise ValueError("server_asset: the server backend needs the FlexMeasures asset "
                             "id to schedule under, e.g. server_asset: 1")
        return self


class Outputs(Strict):
    dir: Path = Field(Path("results"), description="Root folder for run outputs")
    flush_every_steps: int = Field(960, ge=1, le=1_000_000, description="Steps per Parquet part (at most)")
    flush_interval_s: float = Field(10.0, gt=0, le=86_400, description="Wall time between writes (at most)")
    report: bool = Field(True, description="Write report.html")
    compare_baseline: bool = Field(
        True, description="With a strategy other than rule_based, also run the rule-based "
        "baseline on the same scenario and seed (in baseline/) and compare in the report")
    detail: Literal["standard", "full"] = Field(
        "standard",
        description="standard: the attributes KPIs and report use; full: every device output",
    )


# ----------------------------------------------------------------------------- scenario


class Scenario(Strict):
    """A complete, validated scenario."""

    model_config = ConfigDict(extra="forbid", title="Cariflex Twin scenario")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100,
                      description="Used for the results folder")
    description: str = Field("", max_length=10_000, description="Free text shown in the report")
    start: dt.datetime = Field(description="Timezone-aware start, e.g. 2026-06-01T00:00:00-04:00")
    duration: str = Field("P1D", max_length=40,
                          description="ISO 8601 duration, e.g. P1D, P365D, PT6H (at most "
                          f"P{MAX_DURATION_S // 86400}D and {MAX_STEPS:,} steps)")
    step: str = Field("PT15M", max_length=40,
                      description="ISO 8601 step of the power flow, e.g. PT15M")
    seed: int = Field(42, ge=0, le=2**63 - 1, description="Seeds every random generator")
    site: Site = Field(default_factory=Site)
    grid: Grid = Field(default_factory=Grid)
    assets: Assets = Field(default_factory=Assets)
    weather: Annotated[SyntheticWeather | CsvWeather, Field(discriminator="source")] = Field(
        default_factory=SyntheticWeather
    )
    tariff: Tariff = Field(default_factory=Tariff)
    scheduling: Annotated[RuleBased | FlexMeasuresScheduling, Field(discriminator="strategy")] = (
        Field(default_factory=RuleBased)
    )
    market: Market | None = Field(
        None, description="Peer-to-peer market of prosumer agents (null: no market; the "
        "scheduling strategy drives the batteries and chargers)")
    hil: Hil = Field(default_factory=Hil, description="Hardware in the loop: real-time "
                     "pacing, the CSMS, OpenADR, MQTT, faults and validation tolerances")
    outputs: Outputs = Field(default_factory=Outputs)

    @field_validator("start")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError(
                f"must be timezone-aware, got {v.isoformat()} without offset; "
                "write e.g. 2026-06-01T00:00:00-04:00 (Martinique is UTC-4)"
            )
        return v

    @field_validator("duration", "step")
    @classmethod
    def _iso_duration(cls, v: str) -> str:
        parse_duration_s(v)
        return v

    @field_validator("step")
    @classmethod
    def _step_fits(cls, step: str, info) -> str:
        duration = info.data.get("duration")
        if duration is None:  # the duration itself was invalid: reported there
            return step
        step_s, dur_s = parse_duration_s(step), parse_duration_s(duration)
        if dur_s > MAX_DURATION_S:
            raise ValueError(f"duration ({duration}) is longer than "
                             f"P{MAX_DURATION_S // 86400}D")
        if dur_s // step_s > MAX_STEPS:
            raise ValueError(f"duration / step = {dur_s // step_s:,} steps; at most "
                             f"{MAX_STEPS:,}: use a longer step or a shorter duration")
        if step_s > dur_s:
            raise ValueError(f"step ({step}) is longer than duration ({duration})")
        if dur_s % step_s:
            raise ValueError(f"duration ({duration}) must be a whole number of steps ({step})")
        return step

    @model_validator(mode="after")
    def _market_fits(self) -> Scenario:
        if self.market is None:
            return self
        if self.is_hil:
            raise ValueError("market: HIL assets and OpenADR run with the scheduling "
                             "strategies, not the market; use backend: sim with a market")
        if self.market.slot_s != self.step_s:
            raise ValueError(f"market.slot: {self.market.slot} must equal the step "
                             f"({self.step}): one delivery slot per power-flow step")
        if self.scheduling.strategy != "rule_based":
            raise ValueError("scheduling.strategy: with a market the prosumer agents drive "
                             "the batteries and chargers from their trades; leave scheduling "
                             f"out (got {self.scheduling.strategy!r})")
        return self

    @property
    def is_hil(self) -> bool:
        """Whether any asset is behind a protocol, or a VEN talks to a VTN."""
        return self.hil.openadr is not None or any(
            a.backend.type != "sim" for kind in HIL_KINDS
            for a in self.assets.resolved(kind))

    @property
    def step_s(self) -> int:
        return parse_duration_s(self.step)

    @property
    def duration_s(self) -> int:
        return parse_duration_s(self.duration)

    @property
    def n_steps(self) -> int:
        return self.duration_s // self.step_s
