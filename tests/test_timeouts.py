"""Timeouts, each tested with a real (slow) client over a socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

import pytest
from hardening_helpers import (
    add_common_routes,
    connect,
    exchange,
    get,
    read_reply,
    read_until_closed,
    send_slowly,
)

from roll import HTTPProtocol, Request, Response, Roll
from roll.testing import LiveClient, read_responses


class QuickProtocol(HTTPProtocol):
    __slots__ = ()
    KEEP_ALIVE_TIMEOUT: ClassVar[float | None] = 0.3
    HEADERS_TIMEOUT: ClassVar[float | None] = 0.5
    BODY_TIMEOUT: ClassVar[float | None] = 0.3
    SEND_TIMEOUT: ClassVar[float | None] = 0.5
    LINGER_TIMEOUT: ClassVar[float | None] = 0.5
    MIN_BODY_RATE: ClassVar[float | None] = None


@pytest.fixture
def app() -> Roll:
    app = Roll()
    app.HttpProtocol = QuickProtocol
    add_common_routes(app)

    @app.route("/patient", timeout=1.0)
    async def patient(request: Request, response: Response) -> None:
        await asyncio.sleep(request.query.float("s"))
        response.body = "slept"

    @app.route("/own-timeout")
    async def own_timeout(request: Request, response: Response) -> None:
        raise TimeoutError("the database is slow")

    return app


@asynccontextmanager
async def serving(app: Roll, **settings: float | None) -> AsyncIterator[LiveClient]:
    """Serve `app` on a QuickProtocol with some of its settings changed."""
    tuned: type[QuickProtocol] = type("Tuned", (QuickProtocol,), {"__slots__": (), **settings})
    app.HttpProtocol = tuned
    live = LiveClient(app)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def closed_when_idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The server closes the connection, saying nothing, after KEEP_ALIVE_TIMEOUT (0.3 s)."""
    start = time.monotonic()
    assert await read_until_closed(reader, timeout=3) == b""
    assert 0.25 < time.monotonic() - start < 3
    writer.close()


async def trickle_until_closed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pieces: list[bytes], pause: float
) -> tuple[bytes, float]:
    """Send `pieces`, `pause` seconds apart, while reading what the server sends
    until it closes: those bytes, and how many seconds that took."""

    async def send() -> None:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(pause)

    sender = asyncio.create_task(send())
    start = time.monotonic()
    raw = await read_until_closed(reader)
    elapsed = time.monotonic() - start
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    writer.close()
    return raw, elapsed


async def test_idle_keep_alive_timeout(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    writer.write(get())
    assert (await read_reply(reader)).status == 200
    await closed_when_idle(reader, writer)


async def test_connection_without_request_is_closed(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    await closed_when_idle(reader, writer)


async def test_keep_alive_timeout_restarts_after_each_request(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    for _ in range(6):  # 1.2 s in all, longer than the timeout
        writer.write(get())
        assert (await read_reply(reader)).status == 200
        await asyncio.sleep(0.2)
    writer.close()


async def test_no_idle_timeout_while_the_handler_runs(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    writer.write(get("/sleep?s=0.6"))
    reply = await read_reply(reader)
    assert (reply.status, reply.body) == (200, b"slept")
    writer.close()


async def test_slow_headers(liveclient: LiveClient) -> None:
    # Slowloris: headers trickle in, each byte well within any inactivity
    # timeout, but the head as a whole takes too long.
    reader, writer = await connect(liveclient.port)
    writer.write(b"GET / HTTP/1.1\r\n")
    headers = [f"X-{i}: a\r\n".encode() for i in range(80)]  # 4 s of headers, one every 50 ms
    raw, elapsed = await trickle_until_closed(reader, writer, headers, 0.05)
    [reply] = read_responses(raw)
    assert reply.status == 408
    assert reply.body == b"Request headers timeout (0.5s)"
    assert 0.45 < elapsed < 3  # cut off long before the client was done


async def test_slow_body(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    start = time.monotonic()
    raw = await read_until_closed(reader)
    writer.close()
    [reply] = read_responses(raw)
    assert reply.status == 408
    assert reply.body == b"Request body timeout (0.3s)"
    assert 0.25 < time.monotonic() - start < 3


async def test_slow_but_steady_body(liveclient: LiveClient) -> None:
    # The body timeout is for inactivity: a body arriving steadily is fine.
    reader, writer = await connect(liveclient.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
    for _ in range(8):
        await asyncio.sleep(0.1)
        writer.write(b"x")
    reply = await read_reply(reader)
    assert (reply.status, reply.body) == (200, b"got 8")
    writer.close()


async def test_body_too_slow(app: Roll) -> None:
    # A trickle keeps the inactivity timeout at bay, not the minimum rate.
    async with serving(app, MIN_BODY_RATE=100) as live:
        reader, writer = await connect(live.port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        raw, elapsed = await trickle_until_closed(reader, writer, [b"x"] * 100, 0.05)  # 20 bytes/s
        [reply] = read_responses(raw)
        assert reply.status == 408
        assert reply.body == b"Request body too slow (minimum: 100 bytes/s)"
        assert elapsed < 3
        # Fast enough: fine.
        reader, writer = await connect(live.port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        for _ in range(10):
            writer.write(b"x" * 10)
            await asyncio.sleep(0.05)  # 200 bytes/s
        reply = await read_reply(reader)
        assert (reply.status, reply.body) == (200, b"got 100")
        writer.close()


async def test_timeouts_can_be_disabled(app: Roll) -> None:
    async with serving(app, KEEP_ALIVE_TIMEOUT=None, HEADERS_TIMEOUT=None) as live:
        reader, writer = await connect(live.port)
        writer.write(b"GET / HTTP/1.1\r\n")
        await asyncio.sleep(0.8)
        writer.write(b"Host: x\r\n\r\n")
        assert (await read_reply(reader)).status == 200
        await asyncio.sleep(0.5)
        writer.write(get())
        assert (await read_reply(reader)).status == 200
        writer.close()


# Handler timeout


async def test_no_handler_timeout_by_default(liveclient: LiveClient) -> None:
    response = await liveclient.query("GET", "/sleep?s=0.3")
    assert response.status == 200


async def test_app_handler_timeout(liveclient: LiveClient, app: Roll) -> None:
    app.HANDLER_TIMEOUT = 0.2
    start = time.monotonic()
    response = await liveclient.query("GET", "/sleep?s=5")
    assert time.monotonic() - start < 4
    assert response.status == 503
    assert response.body == b"Handler timeout (0.2s)"
    assert app["events"] == ["cancelled"]
    response = await liveclient.query("GET", "/sleep?s=0.01")
    assert response.status == 200


async def test_route_handler_timeout(liveclient: LiveClient, app: Roll) -> None:
    app.HANDLER_TIMEOUT = 0.2  # the route's own timeout wins
    response = await liveclient.query("GET", "/patient?s=0.5")
    assert response.status == 200
    response = await liveclient.query("GET", "/patient?s=3")
    assert response.status == 503
    assert response.body == b"Handler timeout (1.0s)"


async def test_handler_own_timeout_error_is_a_500(liveclient: LiveClient, app: Roll) -> None:
    app.HANDLER_TIMEOUT = 5
    response = await liveclient.query("GET", "/own-timeout")
    assert response.status == 500
    assert response.body == b"Internal Server Error"


async def test_handler_timeout_in_memory(app: Roll) -> None:
    from roll.testing import Client

    app.loop = asyncio.get_running_loop()
    app.HANDLER_TIMEOUT = 0.1
    response = await Client(app).get("/sleep?s=1")
    assert response.status == 503


# A client that does not read


async def test_client_not_reading_is_dropped(liveclient: LiveClient, app: Roll) -> None:
    reader, writer = await connect(liveclient.port)
    reader_transport: asyncio.ReadTransport = writer.transport  # type: ignore[assignment]
    reader_transport.pause_reading()  # read nothing: the server's buffers fill up
    writer.write(get("/stream"))
    await writer.drain()
    async with asyncio.timeout(5):
        while "stream closed" not in app["events"]:
            await asyncio.sleep(0.05)
        while len(app.connections):
            await asyncio.sleep(0.05)
    writer.close()


async def test_error_answer_reaches_a_client_still_sending(liveclient: LiveClient) -> None:
    # The 400 is sent, then the server reads and drops what the client still
    # sends (no reset that would destroy the answer), and closes in the end.
    raw = await send_slowly(liveclient.port, b"SPAM / HTTP/1.1\r\n\r\n", b"x" * 10_000, 20, 0.01)
    assert [reply.status for reply in read_responses(raw)] == [400]


async def test_lingering_ends(liveclient: LiveClient) -> None:
    # A client that never stops sending after an error is cut off.
    reader, writer = await connect(liveclient.port)
    writer.write(b"SPAM / HTTP/1.1\r\n\r\n")
    start = time.monotonic()
    try:
        while time.monotonic() - start < 8:
            writer.write(b"x" * 1000)
            await writer.drain()
            await asyncio.sleep(0.01)
    except ConnectionError:
        pass
    assert time.monotonic() - start < 5
    writer.close()


async def test_exchange_helper_sees_close(liveclient: LiveClient) -> None:
    raw = await exchange(liveclient.port, get(headers="Connection: close\r\n"))
    assert [reply.status for reply in read_responses(raw)] == [200]
