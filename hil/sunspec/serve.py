"""``python run.py emulate SCENARIO --asset ID --modbus HOST:PORT``: one PV inverter or
battery of a scenario served as a SunSpec Modbus TCP device until Ctrl-C or SIGTERM
(:class:`hil.sunspec.emulator.SunSpecEmulator`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from hil.sunspec.emulator import SunSpecEmulator
from hil.sunspec.image import BASE_ADDRESS


def serve(scenario, asset_id: str, host: str, port: int, speed: float = 1.0,
          origin_unix_s: float | None = None, origin_file: str | Path | None = None) -> None:
    """Serve one asset until SIGINT / SIGTERM (blocking); prints where it serves.
    ``origin_unix_s``: the wall time at which scenario time starts (default: now), or
    ``origin_file``: where that time will be written (:mod:`hil.origin`)."""

    async def main() -> None:
        emulator = SunSpecEmulator(scenario, asset_id, host=host, port=port, speed=speed,
                                   origin_unix_s=origin_unix_s, origin_file=origin_file)
        bound = await emulator.start()
        chain = ", ".join(map(str, emulator.model_ids))
        print(f"SunSpec emulator: {emulator.kind} {asset_id!r} (models {chain}) on Modbus TCP "
              f"{host}:{bound}, device id {emulator.device_id}, 'SunS' at register address "
              f"{BASE_ADDRESS} (40001 one-based), {speed:g}x scenario time; Ctrl-C stops",
              flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await emulator.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
