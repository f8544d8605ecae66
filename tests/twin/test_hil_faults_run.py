"""A HIL run survives its device: the SunSpec emulator behind a battery is killed
mid-run and started again; the bridge reconnects with backoff, the twin holds the last
setpoint, falls back to zero power, and takes the device back, all in the record."""

import csv
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from hil.launch import wait_for_port
from hil.mqtt.testing import free_port
from tests import REPO
from twin.results import read_timeseries
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

pytestmark = pytest.mark.slow
ROOT = REPO


def write_scenario(tmp_path: Path, port: int) -> Path:
    data = {
        "name": "hil_fault", "start": "2026-06-01T10:00:00-04:00", "duration": "PT40M",
        "step": "PT1M", "grid": {"n_feeders": 1, "buses_per_feeder": 2},
        "assets": {
            "pv": {"count": 0}, "ev_charger": {"count": 0}, "ev": {"count": 0},
            "load": {"count": 2},
            "battery": [{"id": "bat", "soc_initial_percent": 30, "backend": {
                "type": "modbus", "host": "127.0.0.1", "port": port, "poll_s": 0.2}}]},
        "scheduling": {"strategy": "flexmeasures", "horizon": "PT40M", "forecast": "oracle",
                       "flex_model": {"bat": {"soc-minima": [
                           {"datetime": "2026-06-01T10:40:00-04:00", "value": "60 kWh"}]}}},
        "hil": {"rt_factor": 1 / 60, "faults": {"timeout_s": 0.5, "stale_after_s": 1.0,
                                                 "hold_s": 2.0}},
        "outputs": {"dir": str(tmp_path), "compare_baseline": False},
    }
    path = tmp_path / "hil_fault.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def emulator(path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "emulate", str(path), "--asset", "bat",
         "--modbus", f"127.0.0.1:{port}", "--speed", "60"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for_port("127.0.0.1", port, 20), "the SunSpec emulator did not start"
    return proc


def test_emulator_killed_and_restarted_mid_run(tmp_path):
    port = free_port()
    path = write_scenario(tmp_path, port)
    procs = [emulator(path, port)]

    def outage():  # at about 10:12 the device dies; about 10 s later it is back
        time.sleep(12)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(5)
        time.sleep(10)
        procs.append(emulator(path, port))

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    try:
        result = run_scenario(load_scenario(path), quiet=True, root=tmp_path)
    finally:
        thread.join(30)
        for p in procs:
            p.kill()
            p.wait(5)
    assert result.status == "completed", result.error
    with (result.run_dir / "hil" / "faults.csv").open() as fh:
        kinds = [row["kind"] for row in csv.DictReader(fh) if row["asset_id"] == "bat"]
    for kind in ("disconnected", "stale", "hold", "fallback", "reconnected"):
        assert kind in kinds, kinds
    assert kinds.index("stale") < kinds.index("fallback") < kinds.index("reconnected")
    ts = read_timeseries(result.run_dir)
    state = ts["bat.link_state"].to_numpy()
    assert (state == 1).any() and (state == 2).any()  # held, then fell back
    assert state[-1] == 0  # and came back
    # in fallback the twin asks the device for zero power and counts it as zero
    fallback = state == 2
    assert (ts["bat.p_req_kw"][fallback] == 0).all()
    assert (ts["bat.p_meas_kw"][fallback] == 0).all()
    # charging resumed after the outage: the (restarted) device's SoC rose again
    soc = ts["bat.soc_meas_percent"].to_numpy()
    back = int(len(state) - (state[::-1] != 0).argmax())  # first fresh step after it
    assert soc[-1] > soc[back] + 1.0
    assert result.kpis["hil_faults"] >= 5
