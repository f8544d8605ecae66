"""OCPP faults over real websockets on 127.0.0.1: malformed frames, unanswered and
invalid answers, basic auth, TLS, and a CSMS killed and restarted mid-session."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hil.base import BackgroundLoop, FaultLog, FaultPolicy
from hil.ocpp.bridge import OcppChargerBridge, start_csms
from hil.ocpp.csms import Csms, server_ssl_context
from hil.ocpp.station import StationEmulator
from tests.hil.ocpp.ocpp_testkit import small_scenario, until

SID = "ev_charger_00"
BOOT = {"chargingStation": {"model": "raw", "vendorName": "test"}, "reason": "PowerUp"}


async def _rpc(ws, frame) -> list:
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await asyncio.wait_for(ws.recv(), 3))


async def _on(loop: BackgroundLoop, coro):
    return await asyncio.wrap_future(loop.submit(coro))


def test_malformed_frames_get_callerror_and_server_keeps_serving():
    loop, faults = BackgroundLoop(), FaultLog()
    csms = start_csms(loop)
    bridge = OcppChargerBridge("cp_raw", loop, faults, FaultPolicy(), csms, "raw1", 11.0)
    bridge.start()

    async def run():
        url = f"ws://127.0.0.1:{csms.port}/ocpp/raw1"
        async with websockets.connect(url, subprotocols=["ocpp2.0.1"]) as ws:
            err = await _rpc(ws, "this is {not json")
            assert err[:3] == [4, "-1", "FormatViolation"]
            err = await _rpc(ws, [2, "m1", "BootNotification",
                                  {**BOOT, "chargingStation": {"model": 42, "vendorName": "x"}}])
            assert err[:3] == [4, "m1", "TypeConstraintViolation"]
            err = await _rpc(ws, [2, "m2", "BootNotification", {**BOOT, "colour": "red"}])
            assert err[:3] == [4, "m2", "FormatViolation"]
            err = await _rpc(ws, [2, "m3", "BootNotification", {"reason": "PowerUp"}])
            assert err[0] == 4 and err[1] == "m3"  # required property missing
            ok = await _rpc(ws, [2, "m4", "BootNotification", BOOT])
            assert ok[:2] == [3, "m4"] and ok[2]["status"] == "Accepted"
        # another station is served afterwards
        emu = StationEmulator(small_scenario(), "ev_charger_01", f"ws://127.0.0.1:{csms.port}",
                              meter_interval_s=0.2)
        runner = asyncio.create_task(emu.run())
        try:
            await until(lambda: emu.transaction_id is not None, 3, "second station's session")
            await until(lambda: "ev_charger_01" in csms.stations
                        and csms.stations["ev_charger_01"].transactions, 3, "CSMS state")
        finally:
            await emu.stop()
            await runner

    try:
        asyncio.run(asyncio.wait_for(run(), 15))
        assert faults.kinds("cp_raw").count("malformed") == 4
    finally:
        bridge.stop()
        loop.run(csms.stop(), 5)
        loop.stop()


def test_unanswered_call_is_timeout_and_invalid_answer_is_malformed():
    loop, faults = BackgroundLoop(), FaultLog()
    csms = start_csms(loop, response_timeout_s=0.5)
    bridge = OcppChargerBridge("cp_raw", loop, faults, FaultPolicy(), csms, "raw2", 11.0)
    bridge.start()
    started = {"eventType": "Started", "timestamp": "2026-06-01T12:00:00.000Z",
               "triggerReason": "Authorized", "seqNo": 0,
               "transactionInfo": {"transactionId": "tx-1"}, "evse": {"id": 1, "connectorId": 1}}

    async def run():
        url = f"ws://127.0.0.1:{csms.port}/raw2"
        async with websockets.connect(url, subprotocols=["ocpp2.0.1"]) as ws:
            assert (await _rpc(ws, [2, "b", "BootNotification", BOOT]))[0] == 3
            assert (await _rpc(ws, [2, "t", "TransactionEvent", started]))[0] == 3
            bridge.request(5.0)
            msg = json.loads(await asyncio.wait_for(ws.recv(), 3))
            assert msg[2] == "SetChargingProfile"
            assert msg[3]["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] \
                == [{"startPeriod": 0, "limit": 5000.0}]
            await ws.send(json.dumps([3, msg[1], {"status": "Maybe"}]))  # not in the enum
            await until(lambda: "write_rejected" in faults.kinds("cp_raw"), 3, "rejection")
            bridge.request(8.0)
            msg = json.loads(await asyncio.wait_for(ws.recv(), 3))
            assert msg[2] == "SetChargingProfile"  # left unanswered
            await until(lambda: "timeout" in faults.kinds("cp_raw"), 3, "timeout")

    try:
        asyncio.run(asyncio.wait_for(run(), 15))
        kinds = faults.kinds("cp_raw")
        assert "malformed" in kinds and "write_rejected" in kinds and "timeout" in kinds
        assert bridge.latest().values["plugged"] == 1.0
    finally:
        bridge.stop()
        loop.run(csms.stop(), 5)
        loop.stop()


def test_basic_auth_and_handshake_checks():
    async def run():
        csms = Csms(password="s3cret")
        port = await csms.start()
        base = f"ws://127.0.0.1:{port}"
        bad = [  # (url, headers, subprotocols, expected HTTP status)
            (f"{base}/{SID}", {"Authorization": _basic(SID, "wrong")}, ["ocpp2.0.1"], 401),
            (f"{base}/{SID}", {"Authorization": _basic("other", "s3cret")}, ["ocpp2.0.1"], 401),
            (f"{base}/{SID}", {}, ["ocpp2.0.1"], 401),
            (f"{base}/", {"Authorization": _basic(SID, "s3cret")}, ["ocpp2.0.1"], 404),
            (f"{base}/{SID}", {"Authorization": _basic(SID, "s3cret")}, ["ocpp1.6"], 400),
        ]
        try:
            for url, headers, protocols, status in bad:
                with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                    await websockets.connect(url, additional_headers=headers,
                                             subprotocols=protocols, open_timeout=3)
                assert info.value.response.status_code == status, (url, headers, protocols)
            wrong = StationEmulator(small_scenario(), SID, base, password="wrong")
            good = StationEmulator(small_scenario(), "ev_charger_01", base, password="s3cret")
            runners = [asyncio.create_task(e.run()) for e in (wrong, good)]
            await until(lambda: good.transaction_id is not None, 3, "authenticated session")
            assert not wrong.booted and wrong.last_error.response.status_code == 401
            assert SID not in csms.stations or not csms.stations[SID].booted
            for e in (wrong, good):
                await e.stop()
            await asyncio.gather(*runners)
        finally:
            await csms.stop()

    asyncio.run(asyncio.wait_for(run(), 15))


def _basic(user: str, password: str) -> str:
    from websockets.headers import build_authorization_basic

    return build_authorization_basic(user, password)


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csms.test")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "csms.pem", tmp_path / "csms.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_tls_with_basic_auth_security_profile_2(tmp_path):
    cert, key = _self_signed(tmp_path)

    async def run():
        csms = Csms(password="pw", ssl_context=server_ssl_context(cert, key))
        port = await csms.start()
        emu = StationEmulator(small_scenario(), SID, f"wss://127.0.0.1:{port}/ocpp",
                              password="pw", cafile=cert, meter_interval_s=0.2)
        runner = asyncio.create_task(emu.run())
        try:
            await until(lambda: SID in csms.stations and csms.stations[SID].transactions, 5,
                        "a session over TLS")
            assert await csms.set_power_limit(SID, 3.0) == "Accepted"
            assert emu.p_kw == pytest.approx(3.0)
            with pytest.raises((websockets.exceptions.WebSocketException, OSError)):
                await websockets.connect(f"ws://127.0.0.1:{port}/{SID}", open_timeout=2,
                                         subprotocols=["ocpp2.0.1"])  # plain ws to TLS
        finally:
            await emu.stop()
            await runner
            await csms.stop()

    asyncio.run(asyncio.wait_for(run(), 15))
    # the run's way in: start_csms on the shared loop with the PEM files
    loop = BackgroundLoop()
    try:
        csms = start_csms(loop, tls_cert=cert, tls_key=key, password="pw")

        async def boot():
            ctx = ssl.create_default_context(cafile=cert)
            async with websockets.connect(
                    f"wss://127.0.0.1:{csms.port}/cs9", ssl=ctx, subprotocols=["ocpp2.0.1"],
                    additional_headers={"Authorization": _basic("cs9", "pw")}) as ws:
                return await _rpc(ws, [2, "b", "BootNotification", BOOT])

        assert asyncio.run(asyncio.wait_for(boot(), 5))[2]["status"] == "Accepted"
        loop.run(csms.stop(), 5)
        with pytest.raises(ValueError, match="give both PEM files"):
            start_csms(loop, tls_cert=cert)
    finally:
        loop.stop()


def test_csms_killed_and_restarted_mid_session():
    loop, faults = BackgroundLoop(), FaultLog()
    csms = start_csms(loop, response_timeout_s=2.0)
    port = csms.port
    bridge = OcppChargerBridge("ev_charger_00", loop, faults, FaultPolicy(), csms, SID, 11.0)
    bridge.start()

    async def run():
        emu = StationEmulator(small_scenario(), SID, f"ws://127.0.0.1:{port}",
                              meter_interval_s=0.1, dwell_s=3600.0)
        runner = asyncio.create_task(emu.run())
        st = None
        try:
            await until(lambda: SID in csms.stations and csms.stations[SID].transactions, 3,
                        "a transaction")
            st, tx = csms.stations[SID], emu.transaction_id
            bridge.request(6.0)
            await until(lambda: emu.limit_kw == pytest.approx(6.0), 3, "bridge setpoint")
            await until(lambda: bridge.latest().values["p_kw"] == pytest.approx(6.0), 2,
                        "published p_kw")
            await _on(loop, csms.stop())  # kill the CSMS
            await until(lambda: "disconnected" in faults.kinds(SID) and not emu.connected, 3,
                        "disconnect seen")
            e_before = st.e_kwh
            await asyncio.sleep(0.6)  # the station retries against a closed port
            assert bridge.latest().age_s() >= 0.6  # a lost station's data age
            await _on(loop, csms.start("127.0.0.1", port))
            await until(lambda: emu.n_boots == 2 and "reconnected" in faults.kinds(SID), 5,
                        "reconnect and re-boot")
            assert emu.transaction_id == tx and st.transactions == {1: tx}
            await until(lambda: st.e_kwh > e_before, 3, "meter values after the reconnect")
            assert emu.p_kw == pytest.approx(6.0)
            await until(lambda: bridge.latest().age_s() < 0.5, 2, "fresh data again")
        finally:
            await emu.stop()
            await runner
        return st

    try:
        asyncio.run(asyncio.wait_for(run(), 20))
        kinds = faults.kinds(SID)
        assert kinds.index("disconnected") < kinds.index("reconnected")
        values = bridge.latest().values
        assert values["plugged"] == 1.0 and values["p_discharge_avail_kw"] == 0.0
        assert values["p_charge_avail_kw"] == pytest.approx(11.0)
        assert values["e_session_kwh"] > 0
    finally:
        bridge.stop()
        loop.run(csms.stop(), 5)
        loop.stop()
