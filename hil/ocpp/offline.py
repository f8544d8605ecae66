"""A charging station's transaction events while its CSMS link is down.

OCPP 2.0.1 (Part 2, E. Transactions, "offline behaviour"): a station that loses its
CSMS carries on with its transactions, queues the transaction-related messages it
could not send, marks those generated while offline with ``offline = true``, and
delivers them in their order, ``seqNo`` without gaps, once the link is back, before
any newer transaction event. The queue is bounded: when it is full the oldest
``Updated`` event goes (a meter sample), never a ``Started`` or ``Ended``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

QUEUE_MAX = 1000  # events; at one a second, about 17 min of meter values


Call = Callable[[Any], Awaitable[Any]]  # sends a CALL; its answer, None if none came


class OfflineQueue:
    """FIFO of TransactionEvent payloads (``ocpp.v201.call.TransactionEvent``) waiting
    for the link: :meth:`send` goes through it, :meth:`drain` empties it once the link
    is up. ``n_queued`` counts every event queued, ``n_dropped`` those given up."""

    def __init__(self, max_len: int = QUEUE_MAX):
        if max_len < 2:
            raise ValueError(f"max_len = {max_len!r}: need >= 2 (a Started and an Ended)")
        self.max_len = max_len
        self._items: deque[Any] = deque()
        self.n_queued = self.n_dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def pending(self) -> tuple[Any, ...]:
        """The payloads waiting, oldest first (a snapshot)."""
        return tuple(self._items)

    def put(self, payload: Any, offline: bool) -> None:
        """Queue ``payload``; ``offline``: it was generated while the link was down
        (else it waits behind older events only)."""
        if offline:
            payload.offline = True
        if len(self._items) >= self.max_len:
            oldest_update = next((i for i, p in enumerate(self._items)
                                  if p.event_type == "Updated"), None)
            if oldest_update is not None:
                del self._items[oldest_update]
                self.n_dropped += 1
            elif payload.event_type == "Updated":  # only Started / Ended held: skip it
                self.n_dropped += 1
                return
        self._items.append(payload)
        self.n_queued += 1

    async def send(self, payload: Any, call: Call, online: asyncio.Event) -> Any:
        """Send now if the link is up and nothing waits before it, else queue
        (``offline`` if the link is down); the answer, None if queued or lost."""
        if not online.is_set() or len(self._items):
            self.put(payload, offline=not online.is_set())
            return None
        resp = await call(payload)
        if resp is None and not online.is_set():  # the link went while sending
            self.put(payload, offline=False)
        return resp

    async def drain(self, call: Call, online: asyncio.Event) -> None:
        """Deliver the queued events in order while the link is up. One the CSMS does
        not answer (CALLERROR, timeout) is given up, not retried."""
        while self._items and online.is_set():
            resp = await call(self._items[0])
            if resp is None and not online.is_set():
                return  # kept for the next link
            self._items.popleft()
            if resp is None:
                self.n_dropped += 1
