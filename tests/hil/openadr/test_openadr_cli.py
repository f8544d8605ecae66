"""``python run.py vtn``'s entry point in a subprocess: serves the example events, prints one
line per registration, opt response and report, and stops cleanly on SIGTERM."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from hil.base import BackgroundLoop, FaultLog
from hil.openadr.ven import VenBridge
from tests import REPO

ROOT = REPO
SCRIPT = ("import argparse, sys\n"
          "from hil.openadr.vtn import add_arguments, main\n"
          "p = argparse.ArgumentParser(); add_arguments(p)\n"
          "sys.exit(main(p.parse_args(sys.argv[1:])))\n")


@pytest.mark.timeout(30)
def test_vtn_main_serves_example_events_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "--port", "0", "--events",
         str(ROOT / "examples" / "vtn_events.yaml")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x.rstrip()) for x in proc.stdout],
                     daemon=True).start()
    seen: list[str] = []

    def wait_line(pattern: str, timeout_s: float = 10.0) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in seen:
                if m := re.search(pattern, line):
                    return m
            try:
                seen.append(lines.get(timeout=0.1))
            except queue.Empty:
                pass
        raise AssertionError(f"no line matching {pattern!r} in {seen}")

    loop, faults = BackgroundLoop(), FaultLog()
    ven = None
    try:
        url = wait_line(r"VTN CARIFLEX_VTN at (\S+) with 3 event\(s\)")[1]
        ven = VenBridge(url, "site-1", loop, faults, site_capacity_kw=100.0,
                        report_interval_s=1)
        ven.set_site_power_kw(12.5)
        ven.start()
        wait_line(r"registered VEN 'site-1'")
        wait_line(r"opt response from site-1: optIn for event feeder-dispatch")
        wait_line(r"report from site-1: site-1 = 12.5 kW")
        ven.stop()
        ven = None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        wait_line(r"^VTN stopped$", 2)
        assert sum("optIn for event feeder-dispatch" in x for x in seen) == 1
    finally:
        if ven is not None:
            ven.stop()
        loop.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
