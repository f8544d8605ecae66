"""The ``server`` scheduling backend: a schedule computed by a real FlexMeasures server.

Sends a trigger body (already validated by :mod:`agents.scheduling.flex_model`) to
``POST /api/v3_0/assets/<id>/schedules/trigger``, waits for the scheduling job and
fetches each device's schedule from ``GET /api/v3_0/sensors/<id>/schedules/<job>``,
through the ``flexmeasures-client`` package (async, run here with :func:`asyncio.run`).

Two twin extensions are translated first, since FlexMeasures only takes sensors:

- a flex-model entry naming a ``device`` gets the id of the asset's kW power sensor of
  that name, created on the server if missing;
- an inline ``inflexible-consumption`` / ``inflexible-production`` item (a time series
  or a constant power) becomes a kW sensor under the asset (reused by name,
  ``"cariflex inflexible consumption 0"``, ...) with the series posted as data, and is
  replaced by ``{"sensor": id}``. Both hold positive powers: FlexMeasures counts
  inflexible-consumption data as consumption and negates inflexible-production data.

Sign convention: positive = consumption / charging, as FlexMeasures' schedule
endpoint returns by default; powers in kW. Every failure is a :class:`ServerError`
naming the step, the HTTP status and the server's message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pandas as pd

from agents.scheduling.quantities import POWER, QuantityError, parse_quantity, parse_series
from twin.timeparse import parse_duration_s

DEFAULT_RESOLUTION = "PT15M"
DEFAULT_DURATION = "PT24H"  # as the twin's parser; FlexMeasures' own default is 2 days
INFLEXIBLE = {"inflexible-consumption": True, "inflexible-production": False}
_ENV = {"url": "FLEXMEASURES_URL", "email": "FLEXMEASURES_EMAIL",
        "password": "FLEXMEASURES_PASSWORD"}
# error statuses handed back to us instead of raised by the client (503: it retries)
_PASS_THROUGH = frozenset(range(400, 600)) - {503}
_LOCATIONS = ("json", "query", "path", "form", "args_and_json")  # of webargs' 422 messages


class ServerError(RuntimeError):
    """A failed exchange with the FlexMeasures server; the message names the step
    (authentication, asset lookup, trigger, ...), the HTTP status and the server's
    message."""


@dataclass
class ServerConfig:
    """Where the FlexMeasures server is and whom to log in as.

    Attributes
    ----------
    url : str
        Server root, e.g. ``"http://127.0.0.1:5000"``.
    email, password : str
        Credentials of a user of the account owning the asset.
    timeout_s : float
        Budget for the scheduling job, and for each HTTP request's retries. [s]
    poll_interval_s : float
        Wait between looks at the job's status. [s]
    """

    url: str
    email: str
    password: str
    timeout_s: float = 300.0
    poll_interval_s: float = 1.0

    @classmethod
    def from_env(cls) -> ServerConfig:
        """From ``FLEXMEASURES_URL``, ``FLEXMEASURES_EMAIL``, ``FLEXMEASURES_PASSWORD``."""
        missing = [var for var in _ENV.values() if not os.environ.get(var)]
        if missing:
            raise ServerError("the server backend needs the environment variable(s) "
                              f"{', '.join(missing)} (server URL, user email, password)")
        return cls(**{key: os.environ[var] for key, var in _ENV.items()})


def schedule_on_server(body: dict, asset_id: int, config: ServerConfig) -> dict[str, dict]:
    """Trigger a schedule for the asset and fetch each device's schedule.

    Parameters
    ----------
    body : dict
        FlexMeasures trigger body (``start``, ``duration``, optional ``resolution``,
        ``flex-model``, ``flex-context``), with the twin's extensions allowed.
    asset_id : int
        The server's asset holding the devices' power sensors.
    config : ServerConfig
        Server and credentials.

    Returns
    -------
    dict[str, dict]
        Per device (its ``device`` name, else ``str(sensor id)``): ``{"values": [kW,
        consumption positive], "start": ISO, "duration": ISO, "unit": "kW"}``.
    """
    try:
        import flexmeasures_client  # noqa: F401
    except ImportError:
        raise ServerError("the server backend needs flexmeasures-client: "
                          "pip install -e '.[flexmeasures]'") from None
    try:  # inside a running event loop (e.g. mosaik's), run ours in a thread
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_schedule(body, asset_id, config))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _schedule(body, asset_id, config)).result()


async def _schedule(body: dict, asset_id: int, cfg: ServerConfig) -> dict[str, dict]:
    import aiohttp
    from flexmeasures_client import FlexMeasuresClient

    parts = urlsplit(cfg.url if "://" in cfg.url else f"http://{cfg.url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(f"server URL {cfg.url!r}: expected e.g. 'http://127.0.0.1:5000'")
    session = aiohttp.ClientSession()  # ours, so it is closed even if the client refuses
    try:
        try:
            client = FlexMeasuresClient(
                email=cfg.email, password=cfg.password, host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 80),
                ssl=parts.scheme == "https", session=session,
                request_timeout=min(cfg.timeout_s, 60.0), request_retry_timeout=cfg.timeout_s,
                request_retry_interval=cfg.poll_interval_s,
                job_polling_interval=cfg.poll_interval_s,
                job_polling_max_interval=cfg.poll_interval_s)
        except Exception as exc:  # the client's own checks of email, password, host
            raise ServerError(f"server configuration: {exc}") from None
        return await _run(client, body, asset_id, cfg, parts.geturl())
    finally:
        await session.close()


async def _run(client, body, asset_id, cfg, url) -> dict[str, dict]:
    from flexmeasures_client.exceptions import JobTimeoutError

    token, _ = await _call(client, f"authentication as {cfg.email} at {url}", "requestAuthToken",
                           json={"email": cfg.email, "password": cfg.password},
                           path="/api/", auth=False)
    client.access_token = token["auth_token"]
    send = copy.deepcopy(body)
    send.setdefault("duration", DEFAULT_DURATION)
    sensors = _Sensors(client, asset_id, send.get("resolution", DEFAULT_RESOLUTION))
    await sensors.load()
    devices = await _resolve_devices(send.get("flex-model", []), sensors)
    await _upload_inflexible(send, sensors)
    send["force-new-job-creation"] = True  # the server caches jobs by request, not by data
    job, _ = await _call(client, f"trigger on asset {asset_id}",
                         f"assets/{asset_id}/schedules/trigger", json=send)
    job_id = job.get("job") or job.get("schedule")
    t0 = time.monotonic()
    try:
        await client.wait_for_job(job_id, timeout=cfg.timeout_s)
    except JobTimeoutError as exc:
        raise ServerError(f"polling timeout after {time.monotonic() - t0:.0f} s: "
                          f"{exc}") from None
    except Exception as exc:  # JobFailedError (with the server's traceback), HTTP errors
        raise ServerError(f"scheduling job {job_id}: {_tail(str(exc))}") from None
    out, tz = {}, pd.Timestamp(send["start"]).tz
    for name, sid in devices.items():
        got, _ = await _call(client, f"fetching the schedule of {name!r} (sensor {sid})",
                             f"sensors/{sid}/schedules/{job_id}", method="GET",
                             params={"duration": send["duration"], "unit": "kW"})
        out[name] = {key: got[key] for key in ("values", "duration", "unit")}
        # the server writes the start in the sensor's time zone; give it in the request's
        out[name]["start"] = pd.Timestamp(got["start"]).tz_convert(tz).isoformat()
    return out


class _Sensors:
    """The asset's own sensors by name; missing kW sensors are created on the server."""

    def __init__(self, client, asset_id: int, resolution: str):
        self.client, self.asset_id, self.resolution = client, asset_id, resolution
        self.by_name: dict[str, dict] = {}

    async def load(self) -> None:
        got, _ = await _call(self.client, f"asset lookup (sensors of asset {self.asset_id})",
                             "sensors", method="GET", params={"asset_id": self.asset_id})
        self.by_name = {s["name"]: s for s in got if s.get("generic_asset_id") == self.asset_id}

    async def id(self, name: str, attributes: dict | None = None) -> int:
        if name not in self.by_name:
            new = {"name": name, "event_resolution": self.resolution, "unit": "kW",
                   "generic_asset_id": self.asset_id}
            if attributes:
                new["attributes"] = json.dumps(attributes)
            self.by_name[name], _ = await _call(
                self.client, f"creating sensor {name!r} on asset {self.asset_id}", "sensors",
                json=new)
        return self.by_name[name]["id"]


async def _resolve_devices(flex_model: list, sensors: _Sensors) -> dict[str, int]:
    """Give each entry naming a ``device`` its power sensor; {device or sensor: sensor id}."""
    devices = {}
    for i, entry in enumerate(flex_model):
        name = entry.pop("device", None)
        if "sensor" not in entry:
            if not isinstance(name, str):
                raise ServerError(f"flex-model[{i}]: needs a sensor or a device name")
            entry["sensor"] = await sensors.id(name)
        devices[name or str(entry["sensor"])] = entry["sensor"]
    return devices


async def _upload_inflexible(send: dict, sensors: _Sensors) -> None:
    """Post inline inflexible powers to kW sensors; leave only sensor references."""
    context = send.get("flex-context", {})
    for key, consumption_is_positive in INFLEXIBLE.items():
        if key not in context:
            continue
        items = context[key]
        if items and all(isinstance(i, dict) and "value" in i for i in items):
            items = [items]  # one series written flat, not as a list of devices
        for k, item in enumerate(items):
            if isinstance(item, dict) and "sensor" in item:
                continue
            where = f"flex-context.{key}[{k}]"
            sid = await sensors.id(f"cariflex {key.replace('-', ' ')} {k}",
                                   {"consumption_is_positive": consumption_is_positive})
            for data in _runs(item, send, sensors.resolution, where):
                await _call(sensors.client, f"posting {where} to sensor {sid}",
                            f"sensors/{sid}/data", json=data)
            items[k] = {"sensor": sid}
        context[key] = items


async def _call(client, step: str, uri: str, *, method: str = "POST", json=None,
                params=None, path: str | None = None, auth: bool = True):
    """One request through the client; a ServerError naming ``step`` on any failure."""
    kwargs = {"path": path} if path else {}
    try:
        payload, status = await client.request(
            uri, method=method, json_payload=json, params=params, include_auth=auth,
            pass_through_statuses=_PASS_THROUGH, **kwargs)
    except Exception as exc:  # connection refused, timeouts, non-JSON answers, ...
        raise ServerError(f"{step}: {type(exc).__name__}: {exc}") from None
    if status >= 400:
        raise ServerError(f"{step}: HTTP {status}: {_message(payload)}")
    return payload, status


def _message(payload) -> str:
    """The server's explanation: FlexMeasures answers ``{"message": ...}`` (for a 422,
    field messages nested by location, e.g. ``{"json": {"soc-at-start": [...]}}``) or
    ``{"errors": [...]}``."""
    if isinstance(payload, dict):
        parts = [payload[k] for k in ("message", "errors") if payload.get(k)]
        if parts:
            return "; ".join(_flatten(p) for p in parts)
    return json.dumps(payload)


def _flatten(msg, where: str = "") -> str:
    """``{"json": {"flex-model": {"0": {"soc-min": ["..."]}}}}`` -> ``flex-model.0.soc-min: ...``."""
    if isinstance(msg, dict):  # a top-level "json" / "query" names where, not what
        return "; ".join(_flatten(v, "" if not where and k in _LOCATIONS
                                  else f"{where}.{k}".lstrip(".")) for k, v in msg.items())
    if isinstance(msg, list):
        text = " ".join(m if isinstance(m, str) else json.dumps(m) for m in msg)
    else:
        text = str(msg)
    return f"{where}: {text}" if where else text


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _runs(item, send: dict, resolution: str, where: str):
    """An inline power (a time series, or a constant over the schedule) as the bodies
    of ``POST sensors/<id>/data``, one per contiguous run; gaps stay unposted."""
    step = pd.Timedelta(seconds=parse_duration_s(resolution))
    try:
        if isinstance(item, list):
            segments = parse_series(item, POWER, where, "kW")
        else:
            start = pd.Timestamp(send["start"])
            end = start + pd.Timedelta(seconds=parse_duration_s(send["duration"]))
            segments = [(start, end, parse_quantity(item, POWER, where, "kW"))]
    except QuantityError as exc:
        raise ServerError(f"posting {where}: {exc}") from None
    segments = [s for s in segments if s[1] > s[0]]
    if not segments:
        raise ServerError(f"posting {where}: no segment with a duration")
    t0 = min(s[0] for s in segments)
    n = -(-(max(s[1] for s in segments) - t0) // step)
    grid = pd.Series(float("nan"), index=pd.date_range(t0, periods=n, freq=step))
    for start, end, kw in segments:
        grid[(grid.index >= start) & (grid.index < end)] = kw
    run_id = grid.isna().cumsum()[grid.notna()]
    for _, run in grid.dropna().groupby(run_id):
        yield {"start": run.index[0].isoformat(), "duration": (len(run) * step).isoformat(),
               "values": [float(v) for v in run], "unit": "kW"}
