"""Helpers for tests and benchmarks: check for the local broker, run a private one.

No physics, no sign: values pass through unchanged (twin convention, positive =
consumption / charging / import).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

LOCAL_BROKER = ("127.0.0.1", 1883)
MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def unique(prefix: str) -> str:
    """A name no other test run uses (topic parts, client ids)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def broker_missing_reason(host: str = LOCAL_BROKER[0], port: int = LOCAL_BROKER[1]) -> str | None:
    """None when an MQTT broker listens on ``host:port``, else a message saying so."""
    if port_open(host, port):
        return None
    return (f"no MQTT broker on {host}:{port}: start Mosquitto there "
            "(e.g. `mosquitto -p 1883`) to run the MQTT service tests")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mosquitto_binary() -> str | None:
    """Path of the mosquitto executable, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_CANDIDATES if os.access(p, os.X_OK)), None)


class PrivateBroker:
    """A Mosquitto of our own on 127.0.0.1 and a free port, killed and restarted at will.

    Use as a context manager; :meth:`stop` kills it (SIGKILL, like a crash),
    :meth:`start` brings it back on the same port.
    """

    def __init__(self, port: int | None = None):
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto executable not found (looked on PATH and in "
                               f"{', '.join(MOSQUITTO_CANDIDATES)}); install mosquitto")
        self.binary, self.port = binary, port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="cariflex-mosquitto-")
        self.config = Path(self._dir.name) / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                               "persistence false\n")
        self._proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 5.0) -> PrivateBroker:
        """Start mosquitto and wait until it accepts connections."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        self._proc = subprocess.Popen([self.binary, "-c", str(self.config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while not port_open("127.0.0.1", self.port, 0.2):
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr \
                    else ""
                raise RuntimeError(f"mosquitto on port {self.port} exited: {err.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto on port {self.port} not up in {timeout_s} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Kill the broker (no clean shutdown) and wait for it to exit."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(5)
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
