"""The pure MQTT codec: topics, payloads and the reasons of malformed messages."""

import datetime as dt
import json

import pytest

from hil.mqtt.codec import MalformedMessage, Reading, decode, encode, parse_topic, topic_for

MQ = dt.timezone(dt.timedelta(hours=-4))  # America/Martinique, no DST
T = dt.datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=MQ)
TOPIC = "cariflex/sensors/pv/pv-07/power"


def _payload(**fields):
    base = {"value": -3.25, "unit": "kW", "timestamp": T.isoformat()}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


def test_topic_for_sensor_and_setpoint():
    assert topic_for("pv", "pv-07") == TOPIC
    assert topic_for("battery", "bat.1", "setpoints") == "cariflex/setpoints/battery/bat.1/power"


@pytest.mark.parametrize("asset_id", ["", "a/b", "+", "#", "a b", 7])
def test_topic_for_rejects_bad_part(asset_id):
    with pytest.raises(ValueError, match=r"asset_id .* is not allowed"):
        topic_for("pv", asset_id)


def test_topic_for_rejects_unknown_channel():
    with pytest.raises(ValueError, match="channel 'commands' is not one of sensors, setpoints"):
        topic_for("pv", "x", "commands")


def test_encode_decode_round_trip_keeps_everything():
    reading = decode(TOPIC, encode(-3.25, "kW", T))
    assert reading == Reading("pv", "pv-07", -3.25, "kW", T)
    assert reading.timestamp.utcoffset() == dt.timedelta(hours=-4)
    assert reading.attribute == "p_kw"


def test_encode_writes_the_seed_format():
    assert json.loads(encode(12, "kWh", T)) == {
        "value": 12.0, "unit": "kWh", "timestamp": "2024-06-01T12:00:00.123456-04:00"}


def test_decode_kwh_is_stored_energy_and_z_suffix_is_utc():
    payload = _payload(value=41.5, unit="kWh", timestamp="2024-06-01T16:00:00Z")
    reading = decode("cariflex/sensors/battery/b1/power", payload)
    assert (reading.attribute, reading.value) == ("e_kwh", 41.5)
    assert reading.timestamp == dt.datetime(2024, 6, 1, 12, tzinfo=MQ)


def test_decode_accepts_str_payload_and_integer_value():
    assert decode(TOPIC, '{"value": 2, "unit": "kW", "timestamp": "2024-06-01T12:00:00+00:00"}'
                  ).value == 2.0


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{not json", r"is not UTF-8 JSON"),
    (b"\xff\xfe", r"is not UTF-8 JSON"),
    (b"[1, 2]", r"is a list, not a JSON object"),
    (_payload(value=...), r"field 'value' is missing; need exactly value, unit, timestamp"),
    (_payload(unit=...), r"field 'unit' is missing"),
    (_payload(timestamp=...), r"field 'timestamp' is missing"),
    (_payload(quality="good"), r"field 'quality' is not allowed; need exactly value, unit"),
    (_payload(unit="W"), r"field 'unit' 'W' is not one of kW, kWh"),
    (_payload(unit="kw"), r"field 'unit' 'kw' is not one of kW, kWh"),
    (_payload(value="3.2"), r"field 'value' '3.2' is not allowed: need a finite number"),
    (_payload(value=True), r"field 'value' True is not allowed"),
    (_payload(value=None), r"field 'value' None is not allowed"),
    (b'{"value": NaN, "unit": "kW", "timestamp": "2024-06-01T12:00:00Z"}',
     r"field 'value' NaN is not allowed: need a finite number"),
    (b'{"value": -Infinity, "unit": "kW", "timestamp": "2024-06-01T12:00:00Z"}',
     r"field 'value' -Infinity is not allowed"),
    (b'{"value": 1e400, "unit": "kW", "timestamp": "2024-06-01T12:00:00Z"}',
     r"field 'value' inf is not allowed"),
    (_payload(timestamp="2024-06-01T12:00:00"), r"field 'timestamp' '2024-06-01T12:00:00' "
                                                r"has no UTC offset"),
    (_payload(timestamp="yesterday"), r"field 'timestamp' 'yesterday' is not ISO 8601"),
    (_payload(timestamp=1717243200), r"field 'timestamp' 1717243200 is not a string"),
    (b" " * 2000, r"payload of 2000 bytes is too long: at most 1024"),
])
def test_decode_malformed_payload_names_field_value_and_allowed(payload, reason):
    with pytest.raises(MalformedMessage, match=reason):
        decode(TOPIC, payload)


@pytest.mark.parametrize("topic", [
    "cariflex/sensors/pv/power",
    "cariflex/sensors/pv/x/energy",
    "cariflex/setpoints/pv/x/power",
    "other/sensors/pv/x/power",
    "cariflex/sensors/pv/x/y/power",
])
def test_decode_bad_topic_names_the_pattern(topic):
    with pytest.raises(MalformedMessage, match=r"does not match cariflex/sensors/\{asset_type\}"):
        decode(topic, _payload())


def test_parse_topic_setpoint_channel():
    assert parse_topic("cariflex/setpoints/ev/cp-1/power", "setpoints") == ("ev", "cp-1")


@pytest.mark.parametrize(("args", "field"), [
    ((float("nan"), "kW", T), "value"),
    (("1", "kW", T), "value"),
    ((1.0, "MW", T), "unit"),
    ((1.0, "kW", dt.datetime(2024, 6, 1)), "timestamp"),
    ((1.0, "kW", "2024-06-01T12:00:00Z"), "timestamp"),
])
def test_encode_rejects_bad_input_naming_the_field(args, field):
    with pytest.raises(ValueError, match=rf"^{field} "):
        encode(*args)
