"""A loopback run's time origin handed to the emulators once the run is ready: the file,
the SunSpec emulator's clock standing at 0 until then, a station's EV plugging in at it,
and the command line refusing a file that holds no wall time."""

import asyncio
import time

import pytest

from hil.launch import emulator_commands
from hil.ocpp.station import StationEmulator
from hil.origin import publish_origin, read_origin, wait_origin
from hil.sunspec.emulator import SunSpecEmulator
from tests.hil.ocpp.ocpp_testkit import small_scenario, standalone_csms, until
from twin.cli.main import main
from twin.scenario.loading import load_scenario

LOOPBACK = "scenarios/hil_loopback.yaml"


def test_publish_then_read(tmp_path):
    path = tmp_path / "sub" / "origin"
    assert read_origin(path) is None  # not yet written
    before = time.time()
    origin = publish_origin(path, lead_s=3.0)
    assert before + 3.0 <= origin <= time.time() + 3.0
    assert read_origin(path) == pytest.approx(origin, abs=1e-6)
    assert not path.with_name("origin.tmp").exists()


@pytest.mark.parametrize("text", ["", "soon", "nan", "inf"])
def test_a_file_without_a_wall_time_is_refused(tmp_path, text):
    path = tmp_path / "origin"
    path.write_text(text)
    with pytest.raises(ValueError, match="not a wall time") as err:
        read_origin(path)
    assert str(path) in str(err.value)


def test_wait_origin_until_written_or_stopped(tmp_path):
    path = tmp_path / "origin"

    async def body():
        waiter = asyncio.create_task(wait_origin(path))
        await asyncio.sleep(0.2)
        assert not waiter.done()
        origin = publish_origin(path, lead_s=0.0)
        assert await asyncio.wait_for(waiter, 1.0) == pytest.approx(origin, abs=1e-6)
        stop = asyncio.Event()
        stopped = asyncio.create_task(wait_origin(tmp_path / "never", stop))
        stop.set()
        assert await asyncio.wait_for(stopped, 1.0) is None

    asyncio.run(body())


def test_sunspec_clock_stands_at_zero_until_the_origin(tmp_path):
    scenario = load_scenario("scenarios/martinique_baseline.yaml")
    path = tmp_path / "origin"
    emu = SunSpecEmulator(scenario, "battery_00", speed=60.0, origin_file=path)
    emu.tick()
    time.sleep(0.05)
    emu.tick()
    assert emu.t_s == 0.0  # no origin yet: the device waits at the start
    path.write_text(f"{time.time() - 5.0:.6f}")  # scenario time began 5 wall s ago
    emu.tick()
    assert emu.t_s == pytest.approx(5.0 * 60.0, abs=0.5 * 60.0)


def test_station_plugs_in_at_the_origin(tmp_path):
    path = tmp_path / "origin"

    async def body():
        sc = small_scenario()
        async with standalone_csms(sc) as (_, port):
            await plug_in(sc, port)

    async def plug_in(sc, port):
        emu = StationEmulator(sc, "ev_charger_00", f"ws://127.0.0.1:{port}",
                              meter_interval_s=0.1, dwell_s=3600.0, origin_file=path)
        task = asyncio.create_task(emu.run())
        try:
            await until(lambda: emu.booted, 5, "the station's boot")
            await asyncio.sleep(0.3)
            assert not emu.plugged and emu.transaction_id is None  # up, but no EV yet
            origin = publish_origin(path, lead_s=0.5)
            await until(lambda: emu.transaction_id is not None, 3, "the EV's session")
            plugged_at = emu.departure_unix_s - 3600.0  # speed 1
            assert origin <= plugged_at <= origin + 0.3
        finally:
            await emu.stop()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(body(), 15))


def test_loopback_emulators_wait_for_the_runs_origin_file(tmp_path):
    scenario = load_scenario(LOOPBACK)
    path = tmp_path / "hil" / "emulators" / "origin"
    commands = emulator_commands(scenario, tmp_path / "scenario.yaml", path)
    devices = [cmd for name, cmd, _ in commands if name != "vtn"]
    assert len(devices) == 4
    for cmd in devices:
        assert cmd[cmd.index("--origin-file") + 1] == str(path) and "--origin" not in cmd


def test_emulate_refuses_an_origin_file_without_a_wall_time(tmp_path, capsys):
    bad = tmp_path / "origin"
    bad.write_text("tomorrow")
    assert main(["emulate", LOOPBACK, "--asset", "bat_hil", "--modbus", "127.0.0.1:1",
                 "--origin-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "tomorrow" in err and str(bad) in err and "Traceback" not in err
    assert main(["emulate", LOOPBACK, "--asset", "bat_hil", "--modbus", "127.0.0.1:1",
                 "--origin", "0", "--origin-file", str(bad)]) == 2  # one or the other
    assert "--origin-file: not allowed with argument --origin" in capsys.readouterr().err


def test_station_plugs_in_plug_in_at_s_after_the_origin(tmp_path):
    path = tmp_path / "origin"

    async def body():
        sc = small_scenario()
        async with standalone_csms(sc) as (_, port):
            emu = StationEmulator(sc, "ev_charger_00", f"ws://127.0.0.1:{port}", speed=60.0,
                                  meter_interval_s=0.1, dwell_s=3600.0, origin_file=path,
                                  plug_in_at_s=30.0)  # half a 60 s step: 0.5 wall s at 60x
            task = asyncio.create_task(emu.run())
            try:
                await until(lambda: emu.booted, 5, "the station's boot")
                origin = publish_origin(path, lead_s=0.2)
                await until(lambda: emu.plugged, 3, "the EV's plug-in")
                plugged_at = emu.departure_unix_s - 3600.0 / 60.0
                assert origin + 0.5 <= plugged_at <= origin + 0.5 + 0.3
            finally:
                await emu.stop()
                await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(body(), 15))


def test_loopback_stations_plug_in_half_a_step_after_the_origin(tmp_path):
    scenario = load_scenario(LOOPBACK)
    commands = emulator_commands(scenario, tmp_path / "scenario.yaml", tmp_path / "origin")
    stations = [cmd for _, cmd, _ in commands if "--ocpp" in cmd]
    assert len(stations) == 2
    for cmd in stations:
        assert float(cmd[cmd.index("--plug-in-at") + 1]) == scenario.step_s / 2
