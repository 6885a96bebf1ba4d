"""The body of one request while it arrives: chunks, the reader's waiter, back-pressure.

Created by the protocol only for a request that has a body (a Content-Length
above 0, or chunked): a request without one has no `BodyStream` at all. The
protocol feeds it (`feed`, `finish`, `fail`, `discard`); the request reads it
(`load_body`, `async for chunk in request`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class BodyStream:
    """Chunks received and not consumed yet, and how the reader waits for more."""

    __slots__ = ("chunks", "buffered", "complete", "error", "loading", "expect", "high_water", "_waiter", "_discard")

    def __init__(self, high_water: int) -> None:
        self.chunks: deque[bytes] = deque()
        self.buffered = 0  # bytes in `chunks`
        self.complete = False  # the last byte came
        self.error: BaseException | None = None  # why the rest will never come
        self.loading = False  # read whole (`load_body`): no back-pressure then
        # The client waits for `100 Continue` before sending: True, or the
        # previous request's task, whose response goes first (set by the protocol).
        self.expect: Any = None
        # Bytes buffered, not loading, past which the protocol stops reading.
        self.high_water = high_water
        self._waiter: asyncio.Future[None] | None = None
        self._discard = False

    # Fed by the protocol.

    def feed(self, chunk: bytes) -> bool:
        """Store a chunk; True when the reader should pause (too much waiting)."""
        if self._discard:
            return False
        self.chunks.append(chunk)
        self.buffered += len(chunk)
        if self._waiter is not None:
            self._wake()
        return not self.loading and self.buffered > self.high_water

    def finish(self) -> None:
        self.complete = True
        if self._waiter is not None:
            self._wake()

    def fail(self, error: BaseException) -> None:
        if not self.complete:
            self.error = error
            self._wake()

    def discard(self) -> None:
        """The response is out: drop whatever body is still to come."""
        self._discard = True
        self.chunks.clear()
        self.buffered = 0

    # Read by the request.

    def pop(self) -> bytes:
        """The oldest chunk (there must be one)."""
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        return chunk

    def take(self) -> bytes:
        """Every chunk received, joined; the stream keeps none."""
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        return data

    async def wait(self) -> None:
        """Until the next chunk, the end, or the error."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
