"""Clients that leave at the worst moment, and graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest
from hardening_helpers import (
    add_common_routes,
    connect,
    get,
    open_fds,
    read_reply,
    read_until_closed,
    reset,
    serve,
)

from roll import Request, Response, Roll
from roll.testing import LiveClient, Transport, open_protocol, read_responses


@pytest.fixture
def app() -> Roll:
    app = add_common_routes(Roll())

    @app.route("/boom")
    async def boom(request: Request, response: Response) -> None:
        raise RuntimeError("boom")

    @app.listen("shutdown")
    async def on_shutdown() -> None:
        app["events"].append("shutdown hook")

    return app




async def rude(port: int, data: bytes, read: bool = False, wait: float = 0) -> None:
    reader, writer = await connect(port)
    if data:
        writer.write(data)
        await writer.drain()
    if wait:
        await asyncio.sleep(wait)
    if read:
        await reader.read(1000)
    reset(writer)


ABORTS: list[tuple[bytes, bool, float]] = [
    (b"", False, 0),  # connect and leave
    (b"GET / HTT", False, 0),  # in the request line
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: aaa", False, 0),  # in the headers
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100, False, 0.01),  # in the body
    (b"POST /lazy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + b"x" * 16, False, 0.01),
    (get("/sleep?s=0.05"), False, 0.01),  # while the handler runs
    (get("/stream"), True, 0),  # in the middle of the response
    (get("/boom") + get() + get("/sleep?s=0.02"), False, 0),  # pipelined
    (b"SPAM / HTTP/1.1\r\n\r\n" + b"x" * 5000, False, 0),  # while lingering
    (get() * 3, True, 0),  # between responses
]


async def settle(app: Roll, tasks: int, timeout: float = 5) -> None:
    loop_deadline = time.monotonic() + timeout
    while time.monotonic() < loop_deadline:
        if not len(app.connections) and len(asyncio.all_tasks()) <= tasks:
            return
        await asyncio.sleep(0.02)


async def test_aborted_requests_leak_nothing(
    liveclient: LiveClient, app: Roll, loop_errors: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):  # warm up whatever is created lazily
        assert (await liveclient.query("GET", "/")).status == 200
    await settle(app, 0, timeout=0.5)
    tasks, fds = len(asyncio.all_tasks()), open_fds()

    for _ in range(20):
        await asyncio.gather(*(rude(liveclient.port, *abort) for abort in ABORTS))
    await settle(app, tasks)
    gc.collect()
    await asyncio.sleep(0.05)

    assert len(app.connections) == 0
    assert len(asyncio.all_tasks()) == tasks
    assert open_fds() == fds
    assert loop_errors == []
    assert "never retrieved" not in caplog.text
    # The only errors logged are the handler's own.
    assert {r.getMessage() for r in caplog.records if r.levelname == "ERROR"} <= {
        "Unhandled error on GET /boom"
    }
    # The server still answers.
    assert (await liveclient.query("GET", "/")).status == 200


async def test_body_read_after_disconnect(app: Roll) -> None:
    protocol = open_protocol(app)
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    protocol.connection_lost(None)
    assert protocol.task is not None
    await protocol.task
    assert protocol.response.status == 400
    assert protocol.response.body == b"Client disconnected"


# Graceful shutdown


async def test_graceful_shutdown(app: Roll) -> None:
    await app.startup()
    server, port = await serve(app)

    idle_reader, idle_writer = await connect(port)
    idle_writer.write(get())
    assert (await read_reply(idle_reader)).status == 200

    busy_reader, busy_writer = await connect(port)
    busy_writer.write(get("/sleep?s=0.3"))
    await asyncio.sleep(0.05)

    shutdown = asyncio.create_task(app.graceful_shutdown(server, grace=3))
    # Idle keep-alive connections are closed at once.
    assert await read_until_closed(idle_reader, timeout=0.2) == b""
    # No new connections.
    await asyncio.sleep(0.02)
    with pytest.raises(ConnectionRefusedError):
        await connect(port)
    # The request in flight finishes, then its connection closes.
    raw = await read_until_closed(busy_reader, timeout=2)
    assert [(r.status, r.body) for r in read_responses(raw)] == [(200, b"slept")]
    await shutdown
    # The shutdown hook runs last.
    assert app["events"] == ["slept 0.3", "shutdown hook"]
    assert len(app.connections) == 0
    idle_writer.close()
    busy_writer.close()


async def test_graceful_shutdown_pipelined(app: Roll) -> None:
    await app.startup()
    server, port = await serve(app)
    reader, writer = await connect(port)
    writer.write(get("/sleep?s=0.1") + get("/sleep?s=0.2"))
    await asyncio.sleep(0.05)
    await app.graceful_shutdown(server, grace=3)
    raw = await read_until_closed(reader, timeout=1)
    assert [r.status for r in read_responses(raw)] == [200, 200]
    assert app["events"] == ["slept 0.1", "slept 0.2", "shutdown hook"]
    writer.close()


async def test_graceful_shutdown_grace_expires(app: Roll) -> None:
    await app.startup()
    server, port = await serve(app)
    reader, writer = await connect(port)
    writer.write(get("/sleep?s=30"))
    await asyncio.sleep(0.05)
    start = time.monotonic()
    await app.graceful_shutdown(server, grace=0.3)
    assert time.monotonic() - start < 3
    assert await read_until_closed(reader, timeout=1) == b""
    await asyncio.sleep(0.01)
    assert app["events"] == ["cancelled", "shutdown hook"]
    writer.close()


async def test_graceful_shutdown_without_server(app: Roll, liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    writer.write(get())
    assert (await read_reply(reader)).status == 200
    await app.graceful_shutdown(grace=1)
    assert await read_until_closed(reader, timeout=1) == b""
    assert "shutdown hook" in app["events"]
    writer.close()


class FakeWebsocket:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def data_received(self, data: bytes) -> None:
        self.calls.append("data")

    def connection_lost(self, exc: Exception | None) -> None:
        self.calls.append("lost")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


async def test_shutdown_reaches_upgraded_connections(app: Roll) -> None:
    transport = Transport()
    protocol = open_protocol(app, transport)
    websocket = FakeWebsocket()
    protocol.upgraded = websocket
    assert protocol in app.connections
    await app.graceful_shutdown(grace=0.1)
    assert websocket.calls == ["shutdown"]


class PlainUpgraded:
    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        pass


async def test_upgraded_without_shutdown_is_closed(app: Roll) -> None:
    transport = Transport()
    protocol = open_protocol(app, transport)
    protocol.upgraded = PlainUpgraded()
    protocol.shutdown()
    assert transport.is_closing()


async def test_graceful_shutdown_closes_websockets_with_1001(app: Roll) -> None:
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosed

    @app.route("/ws", protocol="websocket")
    async def echo(request: Request, ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    await app.startup()
    server, port = await serve(app)
    async with ws_connect(f"ws://127.0.0.1:{port}/ws") as websocket:
        await websocket.send("hello")
        assert await websocket.recv() == "hello"
        shutdown = asyncio.create_task(app.graceful_shutdown(server, grace=2))
        with pytest.raises(ConnectionClosed) as closed:
            await websocket.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
    await shutdown
    assert app["events"] == ["shutdown hook"]
    assert len(app.connections) == 0
