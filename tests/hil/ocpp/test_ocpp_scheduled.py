"""The standalone CSMS under the scenario's FlexMeasures scheduling."""

import asyncio
import datetime as dt

import pytest

from hil.ocpp.policy import Session
from hil.ocpp.scheduled import schedule_request, scheduled_kw
from hil.ocpp.station import StationEmulator
from tests.hil.ocpp.ocpp_testkit import small_scenario, standalone_csms, until
from twin.scenario.schema import Scenario

MQ = dt.timezone(dt.timedelta(hours=-4))
TOU = {"import_tou": [
    {"start": "00:00", "end": "18:00", "price_eur_per_kwh": 0.10},
    {"start": "18:00", "end": "22:00", "price_eur_per_kwh": 0.40},
    {"start": "22:00", "end": "00:00", "price_eur_per_kwh": 0.10}]}


def scheduling_scenario():
    data = small_scenario().model_dump(mode="json")
    data.update(scheduling={"strategy": "flexmeasures"}, tariff=TOU)
    return Scenario.model_validate(data)


def unix(h: int, m: int = 0) -> float:
    return dt.datetime(2026, 6, 1, h, m, tzinfo=MQ).timestamp()


def test_scheduled_charges_an_ev_that_can_wait_after_the_peak():
    sc = scheduling_scenario()
    now = unix(18)  # peak until 22:00
    late = Session("late", 11.0, 10.0, unix(23, 30))  # 10 kWh by 23:30: after the peak
    soon = Session("soon", 11.0, 5.0, unix(19))  # 5 kWh by 19:00: must charge now
    plan = scheduled_kw([late, soon], now, sc, resolution_s=900)
    assert plan["late"] == pytest.approx(0.0, abs=1e-6)
    assert plan["soon"] == pytest.approx(11.0)  # as soon as it can (FlexMeasures prefers sooner)
    body = schedule_request([late, soon], now, sc, 900)
    assert body["flex-model"][0]["soc-minima"][0]["datetime"].startswith("2026-06-01T23:30")


def test_scheduled_without_needs_gets_full_power_within_the_site():
    sc = scheduling_scenario()
    plan = scheduled_kw([Session("a", 22.0), Session("b", 22.0)], unix(10), sc)
    assert plan == {"a": pytest.approx(15.0), "b": pytest.approx(15.0)}  # 30 kVA site


def test_standalone_csms_applies_the_scenario_strategy():
    async def run():
        sc = scheduling_scenario()
        async with standalone_csms(sc) as (csms, port):
            await planned(sc, csms, port)

    async def planned(sc, csms, port):
        charger = [a for a in sc.assets.resolved("ev_charger")][0]
        sid = charger.id or "ev_charger_00"
        emu = StationEmulator(sc, sid, f"ws://127.0.0.1:{port}", meter_interval_s=0.2,
                              dwell_s=3600.0)
        task = asyncio.create_task(emu.run())
        try:
            # the station applies the profile before it answers, the CSMS records it after
            await until(lambda: emu.limit_kw is not None and sid in csms.stations
                        and csms.stations[sid].last_profile is not None, 10,
                        "a TxProfile from the plan, accepted")
            st = csms.stations[sid]
            assert st.last_profile["chargingProfilePurpose"] == "TxProfile"
            assert 0.0 <= emu.limit_kw <= st.ev_p_max_kw + 0.1
        finally:
            await emu.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(run(), 20))
