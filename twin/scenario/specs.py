"""Asset specifications of a scenario: PV, batteries, EV chargers, EVs and households.

Every field carries its unit in its name; positive power = consumption / charging / import.
Each kind is a group accepting two forms::

    pv: {count: 10, defaults: {p_dc_kwp: 5}, items: [{bus: f2_b3}]}   # count with overrides
    battery: [{capacity_kwh: 100, bus: f1_b2}, {capacity_kwh: 50}]    # explicit list

In the count form ``items[i]`` overrides ``defaults`` for asset ``i``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)

from twin.scenario.base import Strict
from twin.scenario.hil import Backend, SimBackend

#: Most assets in one group (count, items or list form).
MAX_GROUP = 10_000


class AssetBase(Strict):
    id: str | None = Field(None, description="Asset id (default: <kind>_<nn>)")
    bus: str | None = Field(None, description="Feeder bus name, e.g. 'f2_b5' (default: spread)")
    backend: Backend = Field(  # type: ignore[valid-type]
        default_factory=SimBackend,
        description="sim (the twin's simulator) or a HIL endpoint: modbus, ocpp, mqtt")


class PvSpec(AssetBase):
    p_dc_kwp: float = Field(5.0, gt=0, le=10_000, description="DC nameplate [kWp]")
    p_ac_kw: float = Field(4.6, gt=0, le=10_000,
                            description="Inverter AC rating, clipping limit [kW]")
    tilt_deg: float = Field(15.0, ge=0, le=90, description="Panel tilt [deg]")
    azimuth_deg: float = Field(180.0, ge=0, lt=360, description="Panel azimuth, 180 = south [deg]")
    gamma_pdc_per_c: float = Field(-0.0037, ge=-0.01, le=0, description="Power temp. coeff. [1/°C]")
    losses_percent: float = Field(14.0, ge=0, lt=100, description="DC system losses [%]")
    inverter_eta_nom: float = Field(0.96, gt=0, le=1, description="Inverter efficiency [-]")


class BatterySpec(AssetBase):
    capacity_kwh: float = Field(100.0, gt=0, le=100_000,
                                description="Usable energy capacity [kWh]")
    p_charge_max_kw: float = Field(50.0, gt=0, le=100_000, description="Max charging power [kW]")
    p_discharge_max_kw: float = Field(50.0, gt=0, le=100_000,
                                      description="Max discharging power [kW]")
    eta_charge: float = Field(0.95, gt=0, le=1, description="Charging efficiency [-]")
    eta_discharge: float = Field(0.95, gt=0, le=1, description="Discharging efficiency [-]")
    self_discharge_percent_per_day: float = Field(0.1, ge=0, lt=100, description="[%/day]")
    soc_min_percent: float = Field(5.0, ge=0, le=100, description="Lower SoC limit [%]")
    soc_max_percent: float = Field(95.0, ge=0, le=100, description="Upper SoC limit [%]")
    soc_initial_percent: float = Field(50.0, ge=0, le=100, description="SoC at start [%]")

    @model_validator(mode="after")
    def _soc_order(self) -> BatterySpec:
        if not self.soc_min_percent <= self.soc_initial_percent <= self.soc_max_percent:
            raise ValueError(
                "need soc_min_percent <= soc_initial_percent <= soc_max_percent, got "
                f"{self.soc_min_percent} / {self.soc_initial_percent} / {self.soc_max_percent}"
            )
        return self


class EvChargerSpec(AssetBase):
    p_max_kw: float = Field(22.0, gt=0, le=1000, description="Charger rating [kW]")
    v2g: bool = Field(True, description="Bidirectional (ISO 15118-20 V2G) capable")
    location: Literal["home", "workplace"] = "home"


class EvSpec(Strict):
    id: str | None = None
    capacity_kwh: float = Field(75.0, gt=0, le=1000, description="Battery capacity [kWh]")
    p_max_kw: float = Field(22.0, gt=0, le=1000, description="On-board charger limit [kW]")
    v2g: bool = Field(True, description="Vehicle allows discharging to the grid")
    pattern: Literal["home", "workplace"] = "home"
    kwh_per_km: float = Field(0.17, gt=0, le=5, description="Driving consumption [kWh/km]")
    daily_km_mean: float = Field(35.0, ge=0, le=2000, description="Mean daily distance [km]")
    soc_min_percent: float = Field(10.0, ge=0, le=100)
    soc_max_percent: float = Field(100.0, ge=0, le=100)
    soc_target_percent: float = Field(90.0, ge=0, le=100, description="SoC wanted at departure [%]")
    soc_initial_percent: float = Field(60.0, ge=0, le=100)
    eta_charge: float = Field(0.95, gt=0, le=1)
    eta_discharge: float = Field(0.95, gt=0, le=1)


class LoadSpec(AssetBase):
    annual_kwh: float = Field(2800.0, gt=0, le=10_000_000,
                              description="Annual consumption [kWh]")
    profile: Literal["residential", "commercial"] = "residential"
    power_factor: float = Field(0.95, gt=0, le=1, description="cos(phi), inductive [-]")
    noise_percent: float = Field(15.0, ge=0, le=100, description="Noise std [% of mean]")


def _group_tag(v: Any) -> str:
    return "list_form" if isinstance(v, list) else "count_form"


def _partial(spec: type[BaseModel]) -> type[BaseModel]:
    """``spec`` with every field optional (same constraints) and no cross-field checks."""
    def optional(f):
        tp = Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation
        return tp | None

    fields = {
        name: (optional(f), Field(None, description=f.description))
        for name, f in spec.model_fields.items()
    }
    return create_model(f"{spec.__name__}Override", __base__=Strict, **fields)


def _group(spec: type[BaseModel], default_count: int, doc: str):
    """Annotated type for an asset group: list form or count+defaults+items form."""
    override = _partial(spec)

    class CountGroup(Strict):
        __qualname__ = f"{spec.__name__}Group"  # the name in the JSON Schema's $defs
        _resolved: list = PrivateAttr(default_factory=list)
        count: int = Field(default_count, ge=0, le=MAX_GROUP, description=f"Number of {doc}")
        defaults: spec = Field(default_factory=spec)  # type: ignore[valid-type]
        items: list[override] = Field(  # type: ignore[valid-type]
            default_factory=list, max_length=MAX_GROUP,
            description=f"Per-asset overrides of the defaults, in order (at most {MAX_GROUP:,})"
        )

        @model_validator(mode="after")
        def _items_fit(self):
            if len(self.items) > self.count:
                raise ValueError(
                    f"{len(self.items)} items given but count is {self.count}: "
                    "raise count or remove items"
                )
            base = self.defaults.model_dump()
            resolved, problems = [], []
            for i in range(self.count):
                over = self.items[i].model_dump(exclude_none=True) if i < len(self.items) else {}
                try:
                    resolved.append(spec(**{**base, **over}))
                except ValidationError as exc:
                    problems += [
                        f"items[{i}] with the defaults: {e.get('ctx', {}).get('error', e['msg'])}"
                        for e in exc.errors()
                    ]
            if problems:
                raise ValueError("; ".join(problems))
            self._resolved = resolved
            return self

        def resolve(self) -> list:
            return list(self._resolved)

    CountGroup.__name__ = f"{spec.__name__}Group"
    return Annotated[
        Annotated[list[spec], Field(max_length=MAX_GROUP), Tag("list_form")] | Annotated[CountGroup, Tag("count_form")],  # type: ignore[valid-type]
        Discriminator(_group_tag),
    ], CountGroup


PvGroupT, PvGroup = _group(PvSpec, 10, "PV systems")
BatteryGroupT, BatteryGroup = _group(BatterySpec, 10, "batteries")
EvChargerGroupT, EvChargerGroup = _group(EvChargerSpec, 10, "EV chargers")
EvGroupT, EvGroup = _group(EvSpec, 10, "EVs")
LoadGroupT, LoadGroup = _group(LoadSpec, 30, "households")

ASSET_KINDS = ("pv", "battery", "ev_charger", "ev", "load")


class Assets(Strict):
    pv: PvGroupT = Field(default_factory=PvGroup)  # type: ignore[valid-type]
    battery: BatteryGroupT = Field(default_factory=BatteryGroup)  # type: ignore[valid-type]
    ev_charger: EvChargerGroupT = Field(default_factory=EvChargerGroup)  # type: ignore[valid-type]
    ev: EvGroupT = Field(default_factory=EvGroup)  # type: ignore[valid-type]
    load: LoadGroupT = Field(default_factory=LoadGroup)  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _group_sizes(cls, data: Any) -> Any:
        """Refuse oversized groups before validating their entries one by one."""
        for kind, group in (data.items() if isinstance(data, dict) else ()):
            items = group.get("items") if isinstance(group, dict) else group
            if isinstance(items, list) and len(items) > MAX_GROUP:
                where = f"{kind}.items" if isinstance(group, dict) else kind
                raise ValueError(f"{where}: {len(items):,} entries; at most {MAX_GROUP:,} "
                                 "per asset group")
        return data

    def resolved(self, kind: str) -> list:
        group = getattr(self, kind)
        return list(group) if isinstance(group, list) else group.resolve()
