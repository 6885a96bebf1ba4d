"""Server-Sent Events: `EventStream`, a streamed `text/event-stream` body.

A handler returns `EventStream(events)` (or sets it as `response.body`);
the core writes each event as one chunk as soon as it is produced. While no
event comes for `ping` seconds, a comment line keeps proxies and clients from
timing the connection out. When the client leaves, the core cancels the
writer and the events generator is closed; on a graceful server shutdown the
stream ends (the browser's `EventSource` then reconnects elsewhere, sending
`Last-Event-ID`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from pydantic_core import to_json

__all__ = ["EventStream", "ServerSentEvent"]

LINE_BREAK = re.compile(r"\r\n|\r|\n")
PING = b": ping\n\n"


class ServerSentEvent:
    """One event. `data` that is not a `str` is sent as JSON.

    `event` (the type, `addEventListener` name), `id` (what the browser sends
    back as `Last-Event-ID` when it reconnects) and `retry` (milliseconds the
    browser waits before reconnecting) are optional.
    """

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self,
        data: Any = "",
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
    ) -> None:
        if event is not None and LINE_BREAK.search(event):
            raise ValueError("An event type cannot contain a line break")
        if id is not None and (LINE_BREAK.search(id) or "\0" in id):
            raise ValueError("An event id cannot contain a line break or NUL")
        if retry is not None and (not isinstance(retry, int) or retry < 0):
            raise ValueError("retry must be a non-negative number of milliseconds")
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return f"ServerSentEvent({self.data!r}, event={self.event!r}, id={self.id!r})"

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.event is not None:
            lines.append(f"event: {self.event}\n")
        if self.id is not None:
            lines.append(f"id: {self.id}\n")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}\n")
        data = self.data
        text = data if isinstance(data, str) else to_json(data, inf_nan_mode="null").decode()
        # Each line of the data is its own `data:` field; the client joins
        # them back with "\n".
        lines.extend(f"data: {line}\n" for line in LINE_BREAK.split(text))
        lines.append("\n")
        return "".join(lines).encode()


def encode(item: Any) -> bytes:
    """An event's bytes: a `ServerSentEvent`, or any value sent as JSON data."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    return ServerSentEvent(to_json(item, inf_nan_mode="null").decode()).encode()


class EventStream:
    """The body of a `text/event-stream` response.

    `events`: an async iterable of `ServerSentEvent` or of plain values (sent
    as JSON `data`). `ping`: seconds of silence after which a comment line is
    sent (None: never).
    """

    response_headers = {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        # nginx: pass each event on at once instead of buffering the response.
        "X-Accel-Buffering": "no",
    }

    def __init__(self, events: AsyncIterable[Any], *, ping: float | None = 15.0) -> None:
        if ping is not None and ping <= 0:
            raise ValueError("ping must be a positive number of seconds, or None")
        self.events = events
        self.ping = ping
        self._stop: asyncio.Event | None = None
        self._iterator: AsyncIterator[bytes] | None = None

    def __repr__(self) -> str:
        return f"<EventStream ping={self.ping}>"

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterator is None:
            self._iterator = self._stream()
        return self._iterator

    def shutdown(self) -> None:
        """End the stream after the event being sent (the server is stopping)."""
        if self._stop is None:
            self._stop = asyncio.Event()
        self._stop.set()

    async def aclose(self) -> None:
        """Close the events generator (called by the core once the body is over)."""
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]
        else:  # never iterated (a HEAD request): the generator was not started
            await _aclose(self.events)

    async def _stream(self) -> AsyncIterator[bytes]:
        if self._stop is None:
            self._stop = asyncio.Event()
        stop = self._stop
        iterator = aiter(self.events)
        # The next event is awaited in its own task, so that waiting for it
        # can time out (a ping) or be interrupted (shutdown) without
        # cancelling the generator that produces it.
        pending: asyncio.Future[Any] | None = None
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                done, _ = await asyncio.wait(
                    (pending, stopping), timeout=self.ping, return_when=asyncio.FIRST_COMPLETED
                )
                if pending in done:
                    future, pending = pending, None
                    try:
                        item = future.result()
                    except StopAsyncIteration:
                        return
                    yield encode(item)
                elif not done:
                    yield PING
        finally:
            stopping.cancel()
            if pending is not None:
                pending.cancel()  # thrown into the generator, at the await it is in
                await asyncio.wait((pending,))
                if not pending.cancelled():
                    pending.exception()  # retrieved: it is the generator's last word
            await _aclose(iterator)


async def _aclose(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
