"""Pure parts of the OCPP package: profiles and the K01 rules, the policy, the EV
model, meter values, and the checks at the edges (numbers worked by hand)."""

from __future__ import annotations

import argparse
import asyncio
import json

import jsonschema
import pytest

from hil.base import BackgroundLoop, FaultLog
from hil.ocpp import policy, profiles
from hil.ocpp.bridge import OcppChargerBridge
from hil.ocpp.csms import Csms, station_id_from_path
from hil.ocpp.ev import EvSession
from hil.ocpp.meter import meter_value, read_meter
from hil.ocpp.rpc import iso_utc, parse_unix_s
from hil.ocpp.serve import add_arguments, main
from hil.ocpp.station import StationEmulator, default_dwell_s
from tests.hil.ocpp.ocpp_testkit import small_scenario, validate_frames

T0 = 1_780_000_000.0  # a wall-clock instant [s since epoch]


def _profile(**over):
    p = profiles.tx_profile("tx", 7400.0, 1, now_unix_s=T0, duration_s=600)
    p.update(over)
    return p


def test_tx_profile_absolute_and_relative():
    p = profiles.tx_profile("tx", 7400.04, 3, now_unix_s=T0, duration_s=600)
    sched = p["chargingSchedule"][0]
    assert p["chargingProfilePurpose"] == "TxProfile" and p["transactionId"] == "tx"
    assert sched["startSchedule"] == iso_utc(T0) and sched["duration"] == 600
    assert sched["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 7400.0}]
    rel = profiles.tx_profile("tx", 1000, 3, now_unix_s=T0, kind="Relative")
    assert "startSchedule" not in rel["chargingSchedule"][0]
    with pytest.raises(ValueError, match="limit_w = -1"):
        profiles.tx_profile("tx", -1, 3, now_unix_s=T0)


@pytest.mark.parametrize(("evse", "change", "reason"), [
    (1, {}, None),
    (0, {}, "TxProfileEvseId0"),                                        # K01.FR.16
    (1, {"transactionId": None}, "NoTransactionId"),                    # K01.FR.03
    (1, {"transactionId": "other"}, "TxNotFound"),                      # K01.FR.33
    (1, {"period0": 10}, "FirstPeriodNot0"),                            # K01.FR.31
    (1, {"periods": [0, 60, 60]}, "PeriodsOutOfOrder"),                 # K01.FR.35
    (1, {"startSchedule": None}, "NoStartSchedule"),                    # K01.FR.40
    (1, {"chargingProfileKind": "Relative"}, "StartScheduleGiven"),     # K01.FR.41
    (2, {}, "UnknownEvse"),
])
def test_check_profile_k01_rules(evse, change, reason):
    p = _profile()
    sched = p["chargingSchedule"][0]
    if "transactionId" in change:
        if change["transactionId"] is None:
            del p["transactionId"]
        else:
            p["transactionId"] = change["transactionId"]
    if "period0" in change:
        sched["chargingSchedulePeriod"][0]["startPeriod"] = change["period0"]
    if "periods" in change:
        sched["chargingSchedulePeriod"] = [{"startPeriod": s, "limit": 1.0}
                                           for s in change["periods"]]
    if change.get("startSchedule", 1) is None:
        del sched["startSchedule"]
    if "chargingProfileKind" in change:
        p["chargingProfileKind"] = change["chargingProfileKind"]
    assert profiles.check_profile(evse, p, {1: "tx"}) == reason


def test_profile_limit_over_time_and_units():
    p = _profile()
    p["chargingSchedule"][0]["chargingSchedulePeriod"].append({"startPeriod": 300, "limit": 2000})
    assert profiles.profile_limit_w(p, T0 - 1) is None
    assert profiles.profile_limit_w(p, T0 + 299) == 7400.0
    assert profiles.profile_limit_w(p, T0 + 300) == 2000.0
    assert profiles.profile_limit_w(p, T0 + 600) is None      # past the duration
    amps = _profile()
    amps["chargingSchedule"][0].update(chargingRateUnit="A", chargingSchedulePeriod=[
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 1}])
    assert profiles.profile_limit_w(amps, T0) == pytest.approx(16 * 230)
    rel = profiles.tx_profile("tx", 1000, 1, now_unix_s=T0, kind="Relative", duration_s=60)
    assert profiles.profile_limit_w(rel, T0 + 30, tx_start_unix_s=T0) == 1000
    assert profiles.profile_limit_w(rel, T0 + 61, tx_start_unix_s=T0) is None
    daily = _profile(chargingProfilePurpose="TxDefaultProfile", chargingProfileKind="Recurring",
                     recurrencyKind="Daily")
    del daily["transactionId"]
    assert profiles.profile_limit_w(daily, T0 + 86_400 + 10) == 7400.0
    assert profiles.profile_limit_w(daily, T0 + 86_400 + 700) is None


def test_limit_in_force_stack_and_caps():
    low = profiles.tx_profile("tx", 3000, 1, now_unix_s=T0)
    high = profiles.tx_profile("tx", 5000, 2, now_unix_s=T0, stack_level=1)
    other = profiles.tx_profile("other-tx", 100, 3, now_unix_s=T0, stack_level=9)
    assert profiles.limit_in_force_w([low, high, other], T0 + 1, transaction_id="tx") == 5000
    cap = _profile(chargingProfilePurpose="ChargingStationMaxProfile", id=4)
    del cap["transactionId"]
    cap["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] = 4000
    assert profiles.limit_in_force_w([low, high, cap], T0 + 1, transaction_id="tx") == 4000
    assert profiles.limit_in_force_w([other], T0 + 1, transaction_id="tx") is None


def test_composite_schedule_breakpoints():
    p = _profile()  # 7400 W for 600 s from T0
    p["chargingSchedule"][0]["chargingSchedulePeriod"].append({"startPeriod": 300, "limit": 2000})
    periods = profiles.composite_schedule([p], T0 + 100, 1000, 11_000.0, transaction_id="tx")
    assert periods == [{"startPeriod": 0, "limit": 7400.0}, {"startPeriod": 200, "limit": 2000.0},
                       {"startPeriod": 500, "limit": 11000.0}]
    assert profiles.composite_schedule([], T0, 60, 11_000.0) == [{"startPeriod": 0,
                                                                  "limit": 11000.0}]


def test_policy_spreads_energy_until_departure():
    s = policy.Session("a", 11.0, e_remaining_kwh=12.0, departure_unix_s=T0 + 4 * 3600)
    assert policy.wanted_kw(s, T0) == pytest.approx(3.0)
    assert policy.wanted_kw(s, T0 + 3 * 3600) == 11.0             # 12 kWh in 1 h: clamped
    assert policy.wanted_kw(s, T0 + 5 * 3600) == 11.0             # departure passed
    assert policy.wanted_kw(policy.Session("b", 7.0), T0) == 7.0  # no needs: full power
    done = policy.Session("c", 11.0, e_remaining_kwh=0.0, departure_unix_s=T0 + 60)
    assert policy.wanted_kw(done, T0) == 0.0


def test_policy_shares_site_capacity_max_min_fair():
    wants = {"a": 2.0, "b": 10.0, "c": 10.0}
    assert policy.share_capacity_kw(wants, 12.0) == {"a": 2.0, "b": 5.0, "c": 5.0}
    assert policy.share_capacity_kw(wants, 30.0) == wants
    sessions = [policy.Session(k, 11.0) for k in "xyz"]
    assert policy.plan_kw(sessions, T0, site_capacity_kw=30.0) == {k: 10.0 for k in "xyz"}
    with pytest.raises(ValueError, match="capacity_kw = -1"):
        policy.share_capacity_kw(wants, -1)


def test_ev_session_energy_and_target():
    ev = EvSession(40.0, 50.0, 80.0, p_ev_max_kw=22.0, p_charger_max_kw=11.0, eta_charge=0.95)
    assert ev.e_to_target_kwh() == pytest.approx(12.0 / 0.95)
    assert ev.power_kw(None) == 11.0 and ev.power_kw(4.2) == 4.2 and ev.power_kw(-1) == 0.0
    assert ev.advance(11.0, 3600.0) == pytest.approx(11.0)
    assert ev.soc_percent == pytest.approx(50 + 100 * 11 * 0.95 / 40)   # 76.125 %
    # the last 1.63 kWh in a 15 min step: the power is cut to land on the target
    assert ev.power_kw(None, 900.0) == pytest.approx((12 / 0.95 - 11) * 4)
    ev.advance(ev.power_kw(None, 900.0), 900.0)
    assert ev.soc_percent == pytest.approx(80.0) and ev.power_kw(None) == 0.0


def test_meter_values_round_trip_and_units():
    mv = meter_value(T0, 7.4, 12.3456, 61.04)
    assert read_meter([mv]) == {"p_kw": pytest.approx(7.4), "register_kwh": pytest.approx(12.3456),
                                "soc_percent": pytest.approx(61.0)}
    other = [{"timestamp": iso_utc(T0), "sampled_value": [
        {"value": 3.5, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "kW"}},
        {"value": 2.0, "measurand": "Power.Active.Import", "phase": "L1"},
        {"value": 12, "unit_of_measure": {"unit": "Wh", "multiplier": 3}}]}]
    assert read_meter(other) == {"p_kw": 3.5, "register_kwh": 12.0}


def test_time_stamps_and_paths():
    assert parse_unix_s(iso_utc(T0)) == T0
    assert parse_unix_s("2026-06-01T08:00:00-04:00") == parse_unix_s("2026-06-01T12:00:00Z")
    with pytest.raises(ValueError, match="no time zone"):
        parse_unix_s("2026-06-01T12:00:00")
    assert station_id_from_path("/ocpp/CS%2001?x=1") == "CS 01"
    assert station_id_from_path("/") == ""
    assert default_dwell_s("home") == 13 * 3600 and default_dwell_s("workplace") == 9 * 3600


def test_emulator_rejects_unknown_charger_and_bad_options():
    sc = small_scenario()
    with pytest.raises(ValueError, match=r"'nope'.*allowed: ev_charger_00, ev_charger_01"):
        StationEmulator(sc, "nope", "ws://127.0.0.1:1")
    with pytest.raises(ValueError, match="scheme 'http' is not ws or wss"):
        StationEmulator(sc, "ev_charger_00", "http://127.0.0.1:1")
    with pytest.raises(ValueError, match="speed = 0"):
        StationEmulator(sc, "ev_charger_00", "ws://127.0.0.1:1", speed=0)
    emu = StationEmulator(sc, "ev_charger_01", "ws://h:1/ev_charger_01", station_id=None)
    assert emu.url == "ws://h:1/ev_charger_01" and emu.station_id == "ev_charger_01"


def test_set_power_limit_rejects_negative_power():
    with pytest.raises(ValueError, match="p_kw = -2.*cannot discharge"):
        asyncio.run(Csms().set_power_limit("cs", -2.0))


def test_bridge_clamps_and_records_out_of_range():
    loop, faults = BackgroundLoop(), FaultLog()
    try:
        bridge = OcppChargerBridge("cp", loop, faults, None, Csms(), "cs", 11.0)
        bridge.request(-3.0)
        bridge.request(-3.0)  # recorded once per value
        bridge.request(30.0)
        bridge.request(5.0)
        assert faults.kinds("cp") == ["out_of_range", "out_of_range"]
        assert "no discharge" in faults.all()[0].detail
        with pytest.raises(ValueError, match="p_max_kw = 0"):
            OcppChargerBridge("cp", loop, faults, None, Csms(), "cs", 0.0)
    finally:
        loop.stop()


def test_csms_main_bad_options_exit_2(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    missing = str(tmp_path / "nope.pem")
    assert main(parser.parse_args(["--tls-cert", missing, "--tls-key", missing])) == 2
    assert f"--tls-cert {missing}: file not found" in capsys.readouterr().err
    assert main(parser.parse_args(["--tls-cert", missing])) == 2
    assert "give both or neither" in capsys.readouterr().err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    assert main(parser.parse_args(["--tls-cert", str(junk), "--tls-key", str(junk)])) == 2
    assert "not a usable PEM" in capsys.readouterr().err


def test_validate_frames_catches_schema_errors():
    good = json.dumps([2, "1", "Heartbeat", {}])
    bad = json.dumps([2, "2", "StatusNotification", {"timestamp": "yesterday",
                     "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}])
    assert validate_frames([("out", good)]) == [("out", "Request", "Heartbeat")]
    with pytest.raises(jsonschema.ValidationError, match="date-time"):
        validate_frames([("out", bad)])
