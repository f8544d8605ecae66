"""HIL runs through the whole world: the digital-twin mode over the real MQTT broker
(a household metered over MQTT drives the power flow; the twin publishes its devices)."""

import datetime as dt
import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from hil.mqtt import MqttPublisher, topic_for
from hil.mqtt.testing import broker_missing_reason
from twin.results import read_timeseries
from twin.runner import run_scenario
from twin.scenario.loading import validate

pytestmark = [pytest.mark.service, pytest.mark.slow]


def mqtt_scenario(tag: str, tmp_path) -> dict:
    return {
        "name": "hil_mqtt", "start": "2026-06-01T12:00:00-04:00", "duration": "PT20M",
        "step": "PT1M", "grid": {"n_feeders": 1, "buses_per_feeder": 2},
        "assets": {"pv": {"count": 0}, "battery": {"count": 0}, "ev_charger": {"count": 0},
                   "ev": {"count": 0},
                   "load": [{"id": f"metered_{tag}", "bus": "f1_b1", "power_factor": 1.0,
                             "backend": {"type": "mqtt"}},
                            {"id": f"simulated_{tag}", "bus": "f1_b2"}]},
        "hil": {"rt_factor": 1 / 60, "mqtt": {"publish": True},
                "faults": {"stale_after_s": 2.0, "hold_s": 2.0}},
        "outputs": {"dir": str(tmp_path), "report": True},
    }


def test_mqtt_digital_twin_run(tmp_path):
    if (why := broker_missing_reason()) is not None:
        pytest.fail(why)
    tag = uuid.uuid4().hex[:8]
    scenario = validate(mqtt_scenario(tag, tmp_path))
    stop = threading.Event()
    published = []

    def meter():  # the real site's meter: 3.5 kW, stamped now
        pub = MqttPublisher(qos=1)
        pub.wait_connected(5)
        while not stop.is_set():
            pub.publish("load", f"metered_{tag}", 3.5, "kW", dt.datetime.now(dt.UTC))
            published.append(time.monotonic())
            time.sleep(0.2)
        pub.close()

    received = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: received.append(json.loads(m.payload))
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(topic_for("load", f"simulated_{tag}"), qos=1)
    sub.loop_start()
    thread = threading.Thread(target=meter, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        result = run_scenario(scenario, quiet=True, root=tmp_path)
    finally:
        stop.set()
        thread.join(5)
        sub.loop_stop()
        sub.disconnect()
    assert result.status == "completed", result.error
    ts = read_timeseries(result.run_dir)
    meas = ts[f"metered_{tag}.p_meas_kw"]
    assert (meas.iloc[1:] == 3.5).all()  # the model follows the meter
    assert (ts[f"metered_{tag}.link_state"] == 0).all()
    # the power flow sees the metered household: import = both households + losses
    import_kw = ts["grid.p_import_kw"]
    sim_kw = ts[f"simulated_{tag}.p_kw"]
    assert ((import_kw - sim_kw - 3.5).iloc[1:] >= 0).all()
    assert ((import_kw - sim_kw - 3.5).iloc[1:] < 0.5).all()
    # paced in real time: 20 simulated minutes at 1/60 take about 20 s
    lag = ts["clock.lag_s"]
    assert lag.max() < 2.0
    # the twin published its simulated household each step in the seed's format
    assert len(received) >= 15
    assert {r["unit"] for r in received} == {"kW"} and all(r["value"] > 0 for r in received)
    assert (result.run_dir / "hil" / "faults.csv").is_file()
    validation = json.loads((result.run_dir / "hil" / "validation.json").read_text())
    assert [d["asset_id"] for d in validation["devices"]] == [f"metered_{tag}"]
    assert "HIL validation" in (result.run_dir / "report.html").read_text()
