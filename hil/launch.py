"""The loopback mode (``hil.emulators: true``): one emulator process per Modbus and
OCPP asset, and the test VTN, started on this machine before a HIL run and stopped
after it. Each runs ``python run.py emulate`` (or ``vtn``) on the run's own
``scenario.yaml``, with its time compressed as the run's (speed = 1 / rt_factor), and
logs to ``hil/emulators/<name>.log`` in the run folder. The emulators and the run share
one time origin, which the run writes to ``hil/emulators/origin`` once its bridges are
connected (``--origin-file``, :mod:`hil.origin`): the devices' scenario time and the
twin's agree, whatever each took to start.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from twin.scenario.assets import resolve_assets
from twin.scenario.schema import Scenario
from twin.timeparse import parse_duration_s

RUN_PY = Path(__file__).resolve().parent.parent / "run.py"


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """Whether a TCP server accepts connections on ``host:port`` within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def emulator_commands(scenario: Scenario, scenario_file: Path, origin_file: Path
                      ) -> list[tuple[str, list, tuple]]:
    """(name, command line, (host, port) to wait for or ()) of every emulator to start;
    their scenario time starts at the wall time the run writes to ``origin_file``."""
    speed = f"{1.0 / scenario.hil.rt_factor:.9g}"
    base = [sys.executable, str(RUN_PY)]
    origin = ["--origin-file", str(origin_file)]
    out = []
    assets = resolve_assets(scenario)
    csms = scenario.hil.csms
    scheme = "wss" if csms.tls_cert else "ws"
    for kind in ("pv", "battery", "ev_charger"):
        for a in assets[kind]:
            b = a.spec.backend
            if b.type == "modbus":
                out.append((a.id, [*base, "emulate", str(scenario_file), "--asset", a.id,
                                   "--modbus", f"{b.host}:{b.port}", "--speed", speed,
                                   *origin],
                            (b.host, b.port)))
            elif b.type == "ocpp":
                url = f"{scheme}://{csms.host}:{csms.port}/{b.station_id or a.id}"
                # meter values four times a step, at most once a wall second
                meter_s = min(1.0, scenario.hil.rt_factor * scenario.step_s / 4)
                cmd = [*base, "emulate", str(scenario_file), "--asset", a.id, "--ocpp", url,
                       "--speed", speed, "--meter-interval", f"{meter_s:.6g}", *origin,
                       # half a step in: plug-in and departure fall between the twin's
                       # readings, not on one (where the order of the two was a race)
                       "--plug-in-at", f"{scenario.step_s / 2:g}"]
                if csms.password:
                    cmd += ["--password", csms.password]
                if csms.tls_cert:
                    cmd += ["--cafile", str(csms.tls_cert)]
                if scenario.hil.ev_dwell:
                    cmd += ["--dwell", str(parse_duration_s(scenario.hil.ev_dwell))]
                out.append((a.id, cmd, ()))
    o = scenario.hil.openadr
    if o is not None:
        url = urlparse(o.vtn_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        cmd = [*base, "vtn", "--host", host, "--port", str(port)]
        if o.events is not None:
            cmd += ["--events", str(o.events)]
        out.append(("vtn", cmd, (host, port)))
    return out


class Emulators:
    """Start the emulators of a loopback run; :meth:`stop` ends them (bounded).
    ``timeout_s`` bounds the wait for each to listen: five Python processes importing
    the twin at once take 30 s and more on a loaded two-core machine."""

    def __init__(self, scenario: Scenario, run_dir: Path, timeout_s: float = 120.0):
        self.scenario, self.run_dir, self.timeout_s = scenario, Path(run_dir), timeout_s
        self.procs: dict[str, subprocess.Popen] = {}
        # where the run writes the common time origin (hil.origin.publish_origin)
        self.origin_file = self.run_dir / "hil" / "emulators" / "origin"

    def start(self) -> None:
        log_dir = self.origin_file.parent
        log_dir.mkdir(parents=True, exist_ok=True)
        self.origin_file.unlink(missing_ok=True)  # an earlier run's, in a reused folder
        commands = emulator_commands(self.scenario, self.run_dir / "scenario.yaml",
                                     self.origin_file)
        try:
            for name, cmd, _ in commands:
                log = (log_dir / f"{name}.log").open("w", encoding="utf-8")
                self.procs[name] = subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=RUN_PY.parent)
                log.close()
            for name, _, endpoint in commands:
                if endpoint and not wait_for_port(*endpoint, self.timeout_s):
                    proc = self.procs[name]
                    why = f"exited with {proc.returncode}" if proc.poll() is not None \
                        else f"not listening on {endpoint[0]}:{endpoint[1]}"
                    raise RuntimeError(f"emulator {name} did not start ({why}); see "
                                       f"{log_dir / (name + '.log')}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5.0
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(2)
