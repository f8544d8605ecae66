"""Scenario schema of hardware in the loop: each asset's ``backend`` and the ``hil:`` section.

An asset's backend is ``sim`` (the default: the twin's own simulator) or a protocol
endpoint: a SunSpec device over Modbus TCP (PV inverters, batteries), an OCPP 2.0.1
charging station connecting to the twin's CSMS (EV chargers), or MQTT sensor topics
(any asset: the digital-twin mode, where the model follows a real site). A run with
any HIL asset, or with an OpenADR VEN, is paced in real time (``hil.rt_factor``).
Times in ``hil.faults`` are wall seconds; tolerances are in simulated units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from twin.scenario.base import Strict
from twin.timeparse import parse_duration_s


class SimBackend(Strict):
    type: Literal["sim"] = "sim"


class ModbusBackend(Strict):
    """A SunSpec device over Modbus TCP (PV inverter or battery)."""

    type: Literal["modbus"] = "modbus"
    host: str = Field("127.0.0.1", min_length=1, description="Device address")
    port: int = Field(502, ge=1, le=65535, description="Modbus TCP port")
    unit_id: int = Field(1, ge=0, le=247, description="Modbus unit (device) id")
    poll_s: float = Field(0.5, gt=0, le=60, description="Polling period [wall s]")


class OcppBackend(Strict):
    """An OCPP 2.0.1 charging station that connects to the twin's CSMS (``hil.csms``)."""

    type: Literal["ocpp"] = "ocpp"
    station_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The station's identity in its websocket path (default: the asset id)")


class MqttBackend(Strict):
    """Sensor readings on ``cariflex/sensors/{asset_type}/{asset id}/power``; the twin's
    setpoints go to ``cariflex/setpoints/{asset_type}/{asset id}/power``."""

    type: Literal["mqtt"] = "mqtt"
    asset_type: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]+$",
                                   description="Topic's asset type (default: the asset kind)")


def _backend_shorthand(v: Any) -> Any:
    """``backend: sim`` is short for ``backend: {type: sim}``."""
    return {"type": v} if isinstance(v, str) else v


Backend = Annotated[
    SimBackend | ModbusBackend | OcppBackend | MqttBackend,
    Field(discriminator="type"), BeforeValidator(_backend_shorthand),
]

# which backends each asset kind can have
BACKENDS_BY_KIND = {
    "pv": ("sim", "modbus", "mqtt"),
    "battery": ("sim", "modbus", "mqtt"),
    "ev_charger": ("sim", "ocpp"),
    "load": ("sim", "mqtt"),
}
HIL_KINDS = tuple(BACKENDS_BY_KIND)  # the kinds that can have a backend, in bridge order


class HilFaults(Strict):
    """How bridges treat a silent or misbehaving device (wall seconds)."""

    timeout_s: float = Field(2.0, gt=0, le=60, description="Per request [s]")
    stale_after_s: float = Field(3.0, gt=0, le=3600, description="A measurement older than "
                                 "this is stale [s]")
    hold_s: float = Field(5.0, ge=0, le=3600, description="Hold the last safe setpoint this "
                          "long while stale, then fall back to zero power [s]")
    max_clock_skew_s: float = Field(5.0, gt=0, description="Device clock tolerance [s]")


class Tolerances(Strict):
    """Pass/fail limits of the HIL validation report (measured against predicted)."""

    p_rmse_kw: float = Field(1.0, gt=0, description="RMSE of device power [kW]")
    p_max_error_kw: float = Field(5.0, gt=0, description="Largest power error [kW]")
    soc_max_error_percent: float = Field(3.0, gt=0, description="Largest SoC error [%]")
    tracking_delay_s: float = Field(300.0, gt=0, description="Time for a device to reach a "
                                    "new setpoint [simulated s]")
    p_band_kw: float = Field(0.5, gt=0, description="Band around the setpoint counted as "
                             "reached [kW]")
    settle_s: float = Field(0.0, ge=0, description="Start-up left out of the comparison: "
                            "devices act on their own until the first setpoints arrive "
                            "[simulated s]")


class Csms(Strict):
    """The twin's CSMS, to which OCPP stations connect at ``ws://host:port/<station_id>``."""

    host: str = "127.0.0.1"
    port: int = Field(9000, ge=1, le=65535)
    password: str | None = Field(None, description="Security profile 1: basic auth password")
    tls_cert: Path | None = Field(None, description="Security profile 2: certificate (PEM)")
    tls_key: Path | None = Field(None, description="Security profile 2: private key (PEM)")

    @model_validator(mode="after")
    def _tls_pair(self) -> Csms:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together (security profile 2)")
        return self


class OpenAdr(Strict):
    """A VEN of the site that registers with the grid operator's VTN."""

    vtn_url: str = Field(pattern=r"^https?://", description="e.g. http://127.0.0.1:8080/OpenADR2/Simple/2.0b")
    ven_name: str = Field("cariflex-site", min_length=1)
    report_interval_s: float = Field(5.0, gt=0, description="TELEMETRY_USAGE period [wall s]")
    events: Path | None = Field(None, description="With hil.emulators: the local test VTN "
                                "sends these events (YAML, see examples/vtn_events.yaml)")


class Mqtt(Strict):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    publish: bool = Field(False, description="Publish the twin's device outputs each step")
    qos: Literal[0, 1] = 0


class Hil(Strict):
    rt_factor: float = Field(1.0, gt=0, le=1000, description="Wall seconds per simulated "
                             "second: 1 is real time, 1/60 runs a minute per second")
    pacing: Literal["deadline", "mosaik"] = Field(
        "deadline", description="deadline: each HIL step waits for its own wall-clock time "
        "(start + t x rt_factor); mosaik: mosaik's rt_factor, which polls every "
        "rt_factor x 1 s and so starts a step up to that late")
    lag_warn_s: float = Field(1.0, gt=0, description="Warn when the run falls this far "
                              "behind the wall clock [s]")
    emulators: bool = Field(False, description="Start an emulator on this machine for every "
                            "Modbus and OCPP asset (and the test VTN): the loopback mode")
    ev_dwell: str | None = Field(
        None, description="With emulators: how long each emulated station's EV stays "
        "plugged in, ISO 8601 in simulated time (default: its pattern's mean stay)")
    faults: HilFaults = Field(default_factory=HilFaults)
    tolerances: Tolerances = Field(default_factory=Tolerances)
    csms: Csms = Field(default_factory=Csms)
    openadr: OpenAdr | None = None
    mqtt: Mqtt = Field(default_factory=Mqtt)


    @field_validator("ev_dwell")
    @classmethod
    def _dwell(cls, v: str | None) -> str | None:
        if v is not None and parse_duration_s(v) <= 0:
            raise ValueError(f"must be a positive duration, got {v}")
        return v


def backend_problems(kind: str, index_path: str, backend) -> list[tuple[str, str]]:
    """The backend must suit the asset kind."""
    allowed = BACKENDS_BY_KIND.get(kind, ("sim",))
    if backend.type not in allowed:
        return [(f"{index_path}.backend.type",
                 f"{backend.type!r} is not a backend for {kind}; allowed: {', '.join(allowed)}")]
    return []
