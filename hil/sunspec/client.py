"""A SunSpec client over Modbus TCP (pymodbus ``AsyncModbusTcpClient``).

It finds the 'SunS' marker, walks the model chain and reads and writes whole models or
points with their scale factors. Addresses are Modbus PDU addresses (SunSpec register
40001 is address 40000). The client does not reconnect by itself (``reconnect_delay=0``):
a bridge decides when to reconnect and records the faults.

Errors are :class:`SunSpecError` subclasses: :class:`SunSpecTimeout` (no answer in
``timeout_s``), :class:`SunSpecMalformed` (bytes came back that are no valid answer, or
a chain that does not parse), :class:`SunSpecException` (the device answered with a
Modbus exception, e.g. ILLEGAL_DATA_VALUE for a rejected write) and
:class:`SunSpecNotFound` (no 'SunS' at any base address) and :class:`SunSpecDisconnected`
(the link went away).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from hil.sunspec.codec import decode_model, encode_points
from hil.sunspec.models import END_MODEL_ID, SUNS_MARKER, model

BASE_ADDRESSES = (40000, 0, 50000)  # the SunSpec Modbus spec's allowed base addresses
MAX_READ = 125  # registers per Read Holding Registers request (Modbus limit)
MAX_WRITE = 123  # registers per Write Multiple Registers request (Modbus limit)
MAX_MODELS = 64  # a chain longer than this is taken as malformed


class SunSpecError(Exception):
    """Base of the SunSpec client errors."""


class SunSpecTimeout(SunSpecError):
    """No answer within the timeout."""


class SunSpecMalformed(SunSpecError):
    """Bytes that are no valid Modbus answer, or a model chain that does not parse."""


class SunSpecDisconnected(SunSpecError):
    """The TCP link went away."""


class SunSpecNotFound(SunSpecError):
    """No 'SunS' marker at any SunSpec base address."""


class SunSpecException(SunSpecError):
    """The device answered with a Modbus exception (``code``: 1..11)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class SunSpecClient:
    """SunSpec over Modbus TCP.

    Parameters
    ----------
    host, port : str, int
        The device's address.
    device_id : int
        Modbus unit id.
    timeout_s : float
        Timeout of the connection and of each request. [s]
    """

    def __init__(self, host: str, port: int = 502, device_id: int = 1, timeout_s: float = 2.0):
        if not 0 <= device_id <= 255:
            raise ValueError(f"SunSpecClient device_id={device_id!r}: must be 0..255")
        if not timeout_s > 0:
            raise ValueError(f"SunSpecClient timeout_s={timeout_s!r}: must be > 0")
        self.host, self.port, self.device_id, self.timeout_s = host, port, device_id, timeout_s
        self.rx_bytes = 0  # bytes received, to tell garbage from silence
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0,
                                            reconnect_delay=0, trace_packet=self._trace)
        self.models: dict[int, tuple[int, int]] = {}
        self._sfs: dict[int, dict[str, int]] = {}

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self.rx_bytes += len(data)
        return data

    @property
    def connected(self) -> bool:
        return self._client.connected

    async def connect(self) -> None:
        """Open the TCP connection; ConnectionError when refused or unreachable."""
        try:
            ok = await asyncio.wait_for(self._client.connect(), self.timeout_s + 1.0)
        except (TimeoutError, OSError) as exc:
            raise ConnectionError(f"{self.host}:{self.port}: {exc!r}") from None
        if not ok:
            raise ConnectionError(f"{self.host}:{self.port}: connection refused or unreachable")

    def close(self) -> None:
        self._client.close()

    async def __aenter__(self) -> SunSpecClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ raw registers

    async def _call(self, what: str, coro):
        rx = self.rx_bytes
        try:
            response = await asyncio.wait_for(coro, self.timeout_s + 1.0)
        except (TimeoutError, ConnectionException) as exc:
            raise self._silence(what, rx, exc) from None
        except ModbusException as exc:  # ModbusIOException: no (valid) answer in time
            raise self._silence(what, rx, exc) from None
        if response.isError():
            code = getattr(response, "exception_code", 0)
            raise SunSpecException(f"{what}: Modbus exception {code}", code)
        return response

    def _silence(self, what: str, rx_before: int, exc: Exception) -> SunSpecError:
        if self.rx_bytes > rx_before:
            return SunSpecMalformed(f"{what}: {self.rx_bytes - rx_before} bytes received that "
                                    "are no valid answer")
        if not self._client.connected:
            return SunSpecDisconnected(f"{what}: link lost ({exc})")
        return SunSpecTimeout(f"{what}: no answer within {self.timeout_s:g} s")

    async def read_registers(self, address: int, count: int) -> list[int]:
        """Holding registers ``address .. address + count - 1`` (several requests if needed)."""
        out: list[int] = []
        while count > 0:
            n = min(count, MAX_READ)
            r = await self._call(f"read {address}+{n}", self._client.read_holding_registers(
                address, count=n, device_id=self.device_id))
            if len(r.registers) != n:
                raise SunSpecMalformed(f"read {address}+{n}: got {len(r.registers)} registers")
            out += r.registers
            address, count = address + n, count - n
        return out

    async def write_registers(self, address: int, values: list[int]) -> None:
        for i in range(0, len(values), MAX_WRITE):
            chunk = values[i:i + MAX_WRITE]
            await self._call(f"write {address + i}+{len(chunk)}", self._client.write_registers(
                address + i, chunk, device_id=self.device_id))

    # ------------------------------------------------------------------ SunSpec

    async def scan(self) -> dict[int, tuple[int, int]]:
        """Find 'SunS' (at 40000, then 0, then 50000) and walk the chain.

        Returns
        -------
        dict
            Model id -> (PDU address of its ID register, length L), chain order.
        """
        base = None
        for address in BASE_ADDRESSES:
            try:
                if tuple(await self.read_registers(address, 2)) == SUNS_MARKER:
                    base = address
                    break
            except SunSpecException:
                continue
        if base is None:
            raise SunSpecNotFound(f"no 'SunS' marker at {', '.join(map(str, BASE_ADDRESSES))}")
        found: dict[int, tuple[int, int]] = {}
        address = base + 2
        for _ in range(MAX_MODELS):
            model_id, length = await self.read_registers(address, 2)
            if model_id == END_MODEL_ID:
                self.models, self._sfs = found, {}
                return found
            found.setdefault(model_id, (address, length))
            address += 2 + length
        raise SunSpecMalformed(f"no end model after {MAX_MODELS} models from {base}")

    def _where(self, model_id: int) -> tuple[int, int]:
        if model_id not in self.models:
            raise ValueError(f"model {model_id} is not on this device; it has "
                             f"{', '.join(map(str, self.models)) or 'nothing (scan first)'}")
        return self.models[model_id]

    async def read_model(self, model_id: int) -> dict[str, float | int | str | None]:
        """Every point of a model, scaled (None where not implemented), in one request
        per 125 registers."""
        address, length = self._where(model_id)
        mdef = model(model_id)
        if length < mdef.length:
            raise SunSpecMalformed(f"model {model_id}: device length {length} < {mdef.length}")
        regs = await self.read_registers(address, 2 + length)
        values = decode_model(mdef, regs)
        self._sfs[model_id] = {p.name: values[p.name] for p in mdef.points
                               if p.type == "sunssf" and values[p.name] is not None}
        return values

    async def write_points(self, model_id: int, values: Mapping[str, float | int | None]) -> None:
        """Write points (engineering values) with the model's scale factors, one request
        per contiguous run of points. ValueError naming the point when a value does not fit
        or the point is read-only; SunSpecException when the device refuses."""
        address, _ = self._where(model_id)
        mdef = model(model_id)
        for name in values:
            p = mdef.point(name)
            if not p.writable:
                raise ValueError(f"model {model_id} point {name} is read-only")
        if model_id not in self._sfs:
            await self.read_model(model_id)
        words = encode_points(mdef, values, self._sfs[model_id])
        runs: list[tuple[int, list[int]]] = []
        for offset in sorted(words):
            if runs and runs[-1][0] + len(runs[-1][1]) == offset:
                runs[-1][1].extend(words[offset])
            else:
                runs.append((offset, list(words[offset])))
        for offset, regs in runs:
            await self.write_registers(address + offset, regs)
