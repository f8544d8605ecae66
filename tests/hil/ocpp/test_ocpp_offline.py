"""A station that loses its CSMS queues its transaction events and delivers them, in
order and marked offline, once the link is back (OCPP 2.0.1 offline behaviour): the
queue's rules, then the emulator against the real CSMS stopped and restarted."""

import asyncio
from types import SimpleNamespace

import pytest

from hil.ocpp.csms import Csms
from hil.ocpp.offline import OfflineQueue
from hil.ocpp.station import StationEmulator
from tests.hil.ocpp.ocpp_testkit import small_scenario, until

SID = "ev_charger_00"


def event(kind: str, seq: int):
    return SimpleNamespace(event_type=kind, seq_no=seq, offline=None)


def test_full_queue_drops_the_oldest_meter_sample_never_started_or_ended():
    q = OfflineQueue(max_len=3)
    for e in (event("Started", 0), event("Updated", 1), event("Updated", 2)):
        q.put(e, offline=True)
    q.put(event("Ended", 3), offline=True)  # full: Updated 1 goes
    assert [e.seq_no for e in q.pending] == [0, 2, 3] and q.n_dropped == 1
    assert all(e.offline for e in q.pending)
    q.put(event("Updated", 4), offline=False)  # Updated 2 goes
    assert [e.seq_no for e in q.pending] == [0, 3, 4] and q.pending[-1].offline is None
    with pytest.raises(ValueError, match="max_len"):
        OfflineQueue(max_len=1)


def test_send_queues_behind_older_events_and_drain_keeps_the_order():
    sent = []

    async def body():
        online, q = asyncio.Event(), OfflineQueue()

        async def call(payload):
            sent.append(payload.seq_no)
            return "ok"

        assert await q.send(event("Updated", 0), call, online) is None  # offline: queued
        online.set()
        await q.send(event("Updated", 1), call, online)  # behind 0, not before it
        assert sent == [] and len(q) == 2
        await q.drain(call, online)
        assert await q.send(event("Updated", 2), call, online) == "ok"  # now directly
        return q

    q = asyncio.run(body())
    assert sent == [0, 1, 2] and len(q) == 0 and q.n_queued == 2


def test_station_delivers_what_it_metered_while_the_csms_was_down():
    async def run():
        csms = Csms(response_timeout_s=2.0)
        port = await csms.start()
        offline_events = []
        csms.add_listener(lambda sid, ev, d: offline_events.append(d["seq_no"])
                          if ev in ("tx_updated", "tx_ended") and d.get("offline") else None)
        # the EV leaves 3 s (wall) after plugging in: during the outage below
        emu = StationEmulator(small_scenario(), SID, f"ws://127.0.0.1:{port}",
                              meter_interval_s=0.1, dwell_s=3.0)
        runner = asyncio.create_task(emu.run())
        try:
            await until(lambda: SID in csms.stations and csms.stations[SID].transactions, 5,
                        "a transaction")
            st = csms.stations[SID]
            await asyncio.sleep(0.5)
            await csms.stop()  # the CSMS goes away for 3 s
            await until(lambda: not emu.connected, 3, "the station sees the link go")
            await asyncio.sleep(3.0)
            assert emu.departed and emu.transaction_id is None  # it ended the session
            queued = len(emu.queue)
            assert queued >= 10  # meter values every 0.1 s, and the Ended
            await csms.start("127.0.0.1", port)
            await until(lambda: len(emu.queue) == 0 and not st.transactions, 10,
                        "the queue delivered, the transaction ended at the CSMS")
            assert st.n_seq_gaps == 0  # every event arrived, in order
            assert st.n_offline_events >= queued - 1  # one may have been in flight
            assert offline_events == sorted(offline_events)
            assert st.e_kwh == pytest.approx(emu.register_kwh, abs=1e-3)  # Ended's register
            assert emu.queue.n_dropped == 0
        finally:
            await emu.stop()
            await runner
            await csms.stop()

    asyncio.run(asyncio.wait_for(run(), 30))
