"""The hardware-in-the-loop commands: ``emulate`` (a scenario asset as a SunSpec Modbus
device or an OCPP 2.0.1 charging station), ``csms`` (the twin's CSMS on its own) and
``vtn`` (an OpenADR 2.0b VTN for tests and demos)."""

from __future__ import annotations

import argparse
import sys
import time

from twin.cli.options import scenario_args

EMULATE_HELP = """\
serve a scenario asset as a device a real controller can talk to:
  --modbus HOST:PORT   a PV inverter or battery as a SunSpec Modbus TCP device
                       ('SunS' at 40000; models 1, 101/103, 120, 123, 124, 70x, 713, 802)
  --ocpp URL           an EV charger (and its EV) as an OCPP 2.0.1 charging station that
                       connects to the CSMS at URL, e.g. ws://127.0.0.1:9000
The device's physics is the twin's own model; --speed compresses its time."""


def add_emulate_parser(sub) -> argparse.ArgumentParser:
    """Add the ``emulate`` command to the CLI's subparsers."""
    em = sub.add_parser("emulate", help="serve a scenario asset as a real device",
                        description=EMULATE_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario_args(em, optional=False)
    em.add_argument("--asset", required=True, help="the asset id, e.g. pv_00 or ev_charger_01")
    how = em.add_mutually_exclusive_group(required=True)
    how.add_argument("--modbus", metavar="HOST:PORT", help="serve SunSpec over Modbus TCP")
    how.add_argument("--ocpp", metavar="URL", help="connect to this CSMS as a station")
    em.add_argument("--speed", type=float, default=1.0,
                    help="simulated seconds per wall second (default 1: real time)")
    when = em.add_mutually_exclusive_group()
    when.add_argument("--origin", type=float, default=None, metavar="UNIX_S",
                      help="wall-clock time (s since the epoch) at which the scenario's time "
                      "starts; an OCPP station's EV plugs in then (default: at once)")
    when.add_argument("--origin-file", default=None, metavar="PATH",
                      help="the same, read from PATH once it is written there (a loopback "
                      "run writes it when its bridges are connected); until then the "
                      "device's scenario time stands at 0")
    em.add_argument("--plug-in-at", type=float, default=0.0, metavar="SIM_S",
                    help="OCPP with --origin-file: the EV plugs in this many simulated "
                    "seconds after the origin (default 0)")
    em.add_argument("--password", default=None, help="OCPP: basic-auth password (profile 1)")
    em.add_argument("--cafile", default=None, help="OCPP: CA certificate for wss:// (profile 2)")
    em.add_argument("--dwell", type=float, default=None,
                    help="OCPP: how long the EV stays plugged in [simulated s]")
    em.add_argument("--meter-interval", type=float, default=1.0,
                    help="OCPP: wall seconds between meter values (default 1)")
    return em


def add_csms_parser(sub) -> argparse.ArgumentParser:
    """Add the ``csms`` command, without its options (:func:`add_csms_options`)."""
    return sub.add_parser(
        "csms", help="run the twin's OCPP 2.0.1 CSMS with its smart-charging policy",
        description="The twin's OCPP 2.0.1 CSMS on its own: stations that connect get a "
        "charging profile when they start a transaction (the scenario's site capacity "
        "shared among sessions with --scenario, else each EV's request spread to its "
        "departure).")


def add_csms_options(p: argparse.ArgumentParser) -> None:
    """Add the options of ``csms``, which the CSMS defines (``hil.ocpp``)."""
    from hil.ocpp.serve import add_arguments  # websockets and ocpp: only when csms is parsed

    add_arguments(p)


def add_vtn_parser(sub) -> argparse.ArgumentParser:
    """Add the ``vtn`` command, without its options (:func:`add_vtn_options`)."""
    return sub.add_parser(
        "vtn", help="run an OpenADR 2.0b VTN that sends events from a YAML file",
        description="An OpenADR 2.0b VTN for tests and demos (plain HTTP); events from "
        "--events FILE (see examples/vtn_events.yaml).")


def add_vtn_options(p: argparse.ArgumentParser) -> None:
    """Add the options of ``vtn``, which the VTN defines (``hil.openadr``)."""
    from hil.openadr import vtn  # openleadr: only when vtn is parsed

    vtn.add_arguments(p)


def _endpoint(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--modbus: expected HOST:PORT with a port 1-65535, got {text!r}")
    return host, int(port)


def _serve_modbus(scenario, args) -> None:
    from hil.sunspec.serve import serve  # pymodbus: only for a Modbus device

    host, port = _endpoint(args.modbus)
    serve(scenario, args.asset, host, port, speed=args.speed, origin_unix_s=args.origin,
          origin_file=args.origin_file)


def _serve_ocpp(scenario, args) -> None:
    from hil.ocpp.station import run_station  # websockets and ocpp: only for a station

    if not args.ocpp.startswith(("ws://", "wss://")):
        raise ValueError(f"--ocpp: expected a ws:// or wss:// URL, got {args.ocpp!r}")
    plug_in_after_s = 0.0 if args.origin is None else max(0.0, args.origin - time.time())
    run_station(scenario, args.asset, args.ocpp, speed=args.speed,
                password=args.password, cafile=args.cafile, dwell_s=args.dwell,
                meter_interval_s=args.meter_interval, plug_in_after_s=plug_in_after_s,
                origin_file=args.origin_file, plug_in_at_s=args.plug_in_at)


def cmd_emulate(args) -> int:
    """Run ``emulate``: serve the asset until stopped; 0, or 2 on bad input."""
    # the scenario schema and the device emulators: only when a device is served
    from hil.origin import read_origin
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    if args.speed <= 0:
        print(f"error: --speed must be > 0, got {args.speed:g}", file=sys.stderr)
        return 2
    try:
        if args.origin_file is not None:
            read_origin(args.origin_file)  # a file already there must hold a wall time
        (_serve_modbus if args.modbus else _serve_ocpp)(scenario, args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def cmd_csms(args) -> int:
    """Run ``csms`` (:func:`hil.ocpp.serve.main`)."""
    from hil.ocpp.serve import main  # the protocol stack: only when the CSMS runs

    return main(args)


def cmd_vtn(args) -> int:
    """Run ``vtn`` (:func:`hil.openadr.vtn.main`)."""
    from hil.openadr import vtn  # openleadr: only when the VTN runs

    return vtn.main(args)
