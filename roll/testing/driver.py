"""The in-memory driver: a connection to the app on a fake transport, bytes in, bytes out."""

from __future__ import annotations

import asyncio
from typing import Any, Iterable

from ..app import Roll
from ..protocol import HTTPProtocol


class Transport:
    """A fake transport that keeps every byte written to it."""

    # The protocol keeps its last request, response and task once it answered,
    # for tests that read them then (`await protocol.task`, then
    # `protocol.response`: Roll's API driven by hand). On a socket it drops them
    # (less memory per idle connection).
    keep_exchange = True

    def __init__(self) -> None:
        self.data = b""
        self._closing = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self._closing = True

    def is_closing(self) -> bool:
        return self._closing

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def open_protocol(app: Roll, transport: Transport | None = None) -> HTTPProtocol:
    """A new in-memory connection to `app`: its protocol, made on `transport`.

    The app gets the running loop first, as a server would give it.
    """
    app.loop = asyncio.get_running_loop()
    protocol = app.HttpProtocol(app)
    protocol.connection_made(transport if transport is not None else Transport())
    return protocol


async def drive(
    app: Roll, chunks: Iterable[bytes], transport: Transport | None = None
) -> Transport:
    """Feed `chunks` to a new in-memory connection, one read each, then drop it.

    Returns the transport (`data` is what the server wrote) once the tasks
    the connection started are over. Fails (AssertionError) when the server
    side misbehaved: `data_received` raised, a task failed, was cancelled or
    hung for 5 s, or an error reached the loop's exception handler.
    """
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    before = asyncio.all_tasks()
    try:
        protocol = open_protocol(app, transport)
        for chunk in chunks:
            protocol.data_received(chunk)
            await asyncio.sleep(0)
        if not protocol.transport.is_closing():
            await asyncio.sleep(0)
        protocol.connection_lost(None)  # ends requests still waiting for a body
        started = asyncio.all_tasks() - before - {asyncio.current_task()}
        if started:
            done, hanging = await asyncio.wait(started, timeout=5)
            assert not hanging, f"tasks left hanging: {hanging}"
            for task in done:
                assert not task.cancelled(), f"task cancelled: {task}"
                assert task.exception() is None, f"task failed: {task.exception()!r}"
    finally:
        loop.set_exception_handler(previous_handler)
    assert errors == [], errors
    result: Transport = protocol.transport
    return result



__all__ = ["Transport", "drive", "open_protocol"]
