"""What a keep-alive connection keeps while idle: not the exchange it answered.

On a socket, the protocol drops its answered request, response and task at
once when the whole server is idle, else when its keep-alive timer finds the
connection idle (within one KEEP_ALIVE_TIMEOUT): freed at once by many busy
connections, they would trip the cyclic GC (memory per idle connection,
docs/performance.md). In memory
(`roll.testing.Transport`) it keeps them, for tests that read
`protocol.response` after `await protocol.task` (Roll's API).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from hardening_helpers import connect, read_until

from roll import HTTPProtocol, Request, Response, Roll
from roll.reading import IN_FLIGHT
from roll.testing import LiveClient, Transport, open_protocol, read_responses


class WeakRequest(Request):
    __slots__ = ("__weakref__",)


class WeakResponse(Response):
    __slots__ = ("__weakref__",)


class Seen:
    """Weak references to what the handlers saw, and the connection."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[Any]] = []
        self.protocol: HTTPProtocol | None = None
        self.current: list[bool] = []

    def record(self, request: Request, response: Response) -> None:
        assert isinstance(request.protocol, HTTPProtocol)
        self.protocol = request.protocol
        task = asyncio.current_task()
        assert task is not None
        # While it is handled (and no request pipelined after it), the exchange is the protocol's.
        self.current = [request.protocol.request is request, request.protocol.response is response,
                        request.protocol.task is task]  # fmt: skip
        self.refs += [weakref.ref(request), weakref.ref(response), weakref.ref(task)]

    def alive(self) -> list[Any]:
        return [obj for obj in (ref() for ref in self.refs) if obj is not None]


class QuickIdle(HTTPProtocol):
    __slots__ = ()
    KEEP_ALIVE_TIMEOUT = 0.5  # idle found after 0.5 s; closed after 1 s or more


async def dropped(seen: Seen) -> HTTPProtocol:
    """Until the idle timer dropped the exchange (the connection stays open)."""
    protocol = seen.protocol
    assert protocol is not None
    async with asyncio.timeout(3):
        while protocol.request is not None:
            await asyncio.sleep(0.01)
    assert not protocol.transport.is_closing()
    return protocol


def weak_app(app: Roll, seen: Seen) -> None:
    app.Request = WeakRequest
    app.Response = WeakResponse
    app.HttpProtocol = QuickIdle

    @app.route("/{name}", methods=["GET", "POST"])
    async def handler(request: Request, response: Response, name: str) -> None:
        seen.record(request, response)
        if name.startswith("sleep"):
            await asyncio.sleep(0.02)
        response.body = name.encode() + await request.read()


async def answers(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    """The bodies of the next `count` responses (nothing else comes meanwhile)."""
    received = b""
    async with asyncio.timeout(5):
        while len(responses := read_responses(received)) < count:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError(f"closed by the server after {received!r}")
            received += data
    return [response.body for response in responses]


async def test_an_answered_request_is_dropped(app: Roll, liveclient: LiveClient) -> None:
    # The count is per process: loops of earlier tests closed with requests in
    # flight (tasks that never ended) left it above 0. This server has none.
    IN_FLIGHT[0] = 0
    seen = Seen()
    weak_app(app, seen)
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await answers(reader, 1) == [b"one"]
        assert seen.current == [True, True, True]
        await asyncio.sleep(0)  # the server is idle: gone at once, not at the idle timer
        assert seen.protocol is not None and seen.protocol.request is None
        protocol = await dropped(seen)
        assert protocol.request is None and protocol.response is None and protocol.task is None
        assert seen.alive() == []  # no collection needed: nothing else held them
        # The connection goes on as before.
        writer.write(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await answers(reader, 1) == [b"two"]
    finally:
        writer.close()


async def test_pipelined_requests_are_dropped_once_all_answered(
    app: Roll, liveclient: LiveClient
) -> None:
    seen = Seen()
    weak_app(app, seen)
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(
            b"GET /sleep1 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"POST /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
        )
        assert await answers(reader, 3) == [b"sleep1", b"twoabc", b"threede"]
        await dropped(seen)
        assert seen.alive() == []
    finally:
        writer.close()


async def test_expect_continue_after_a_dropped_exchange(app: Roll, liveclient: LiveClient) -> None:
    # The second request's `100 Continue` waits for no previous answer: there is none left.
    seen = Seen()
    weak_app(app, seen)
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await answers(reader, 1) == [b"one"]
        await dropped(seen)
        writer.write(b"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert await read_until(reader, b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"abc")
        assert await answers(reader, 1) == [b"twoabc"]
        await dropped(seen)
        assert seen.alive() == []
    finally:
        writer.close()


async def test_an_upgraded_connection_keeps_its_task(app: Roll, liveclient: LiveClient) -> None:
    # A request answered after the upgrade began (pipelined before it) must not
    # drop the websocket's task: `shutdown()` and `drain()` use it.
    protocols: list[HTTPProtocol] = []

    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        assert isinstance(request.protocol, HTTPProtocol)
        protocols.append(request.protocol)
        await asyncio.sleep(0.05)
        response.body = b"slow"

    @app.route("/ws", protocol="websocket")
    async def echo(request: Request, ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    reader, writer = await connect(liveclient.port)
    try:
        writer.write(
            b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        received = await read_until(reader, b"101 Switching Protocols")
        await read_until(reader, b"\r\n\r\n", received.partition(b"101 Switching Protocols")[2])
        (protocol,) = protocols
        assert protocol.upgraded is not None
        assert protocol.task is not None and not protocol.task.done()
        assert protocol.request is not None and protocol.request.path == "/ws"
    finally:
        writer.close()


async def test_in_memory_the_last_exchange_stays_readable(app: Roll) -> None:
    # Roll's API driven by hand: after `await protocol.task`, `protocol.response` is final.
    seen = Seen()
    weak_app(app, seen)
    protocol = open_protocol(app)
    protocol.data_received(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
    assert protocol.task is not None
    await protocol.task
    assert protocol.response.body == b"one" and protocol.request.path == "/one"


async def test_in_memory_without_keep_exchange_drops_it(app: Roll) -> None:
    class Forgetful(Transport):
        keep_exchange = False

    seen = Seen()
    weak_app(app, seen)
    protocol = open_protocol(app, Forgetful())
    protocol.data_received(
        b"GET /sleep1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz"
    )
    task = protocol.task
    assert task is not None
    await task
    await dropped(seen)
    assert protocol.task is None and protocol.request is None and protocol.response is None
    assert [response.body for response in read_responses(protocol.transport.data)] == [b"sleep1", b"twoz"]
    del task
    await asyncio.sleep(0)  # the loop lets go of the task that woke this one
    assert seen.alive() == []


async def test_under_load_the_exchange_waits_for_the_idle_timer(app: Roll, liveclient: LiveClient) -> None:
    # Another request in flight: the answered exchange is not freed at once
    # (GC churn under load), but by the idle timer, within one period.
    seen = Seen()
    weak_app(app, seen)
    release = asyncio.Event()

    @app.route("/hold/it")
    async def hold(request: Request, response: Response) -> None:
        await release.wait()
        response.body = b"held"

    held_reader, held_writer = await connect(liveclient.port)
    reader, writer = await connect(liveclient.port)
    try:
        held_writer.write(b"GET /hold/it HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.05)
        writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await answers(reader, 1) == [b"one"]
        assert seen.protocol is not None and seen.protocol.request is not None  # kept for now
        await dropped(seen)
        assert seen.alive() == []
        release.set()
        assert await answers(held_reader, 1) == [b"held"]
    finally:
        release.set()
        writer.close()
        held_writer.close()
