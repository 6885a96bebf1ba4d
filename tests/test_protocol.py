"""HTTPProtocol: driven by hand on a fake transport, and over real sockets."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from http import HTTPStatus
from typing import Any, AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardening_helpers import exchange

from roll import HTTPProtocol, HttpError, Request, Response, Roll
from roll.testing import LiveClient, Transport, open_protocol


class RecordingTransport(Transport):
    """A fake transport that logs flow-control calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")
        super().pause_reading()

    def resume_reading(self) -> None:
        self.calls.append("resume")
        super().resume_reading()


def make_protocol(app: Roll, transport: Transport | None = None) -> Any:
    """`roll.testing.open_protocol`, untyped: these tests read the protocol's internals."""
    return open_protocol(app, transport)


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """Read one Content-Length delimited response, byte for byte (these tests check the bytes)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


# Driven by hand.


async def test_request_is_filled_synchronously(app: Roll) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    protocol = make_protocol(app)
    protocol.data_received(
        b"POST /test?k=v HTTP/1.1\r\nHost: example.org\r\nContent-Type: text/plain\r\n"
        b"Referer: /from\r\nCookie: c=1\r\nContent-Length: 10\r\n\r\n"
    )
    request = protocol.request
    assert request.method == "POST"
    assert request.path == "/test"
    assert request.query == {"k": ["v"]}
    assert request.headers["HOST"] == "example.org"
    assert request.host == "example.org"
    assert request.content_type == "text/plain"
    assert request.referrer == "/from"
    assert request.cookies == {"c": "1"}
    assert request.route.payload is not None
    assert isinstance(protocol.task, asyncio.Task)
    protocol.data_received(b"01234")
    protocol.data_received(b"56789")
    await protocol.task
    assert protocol.response.status == HTTPStatus.OK
    await protocol.request.load_body()
    assert protocol.request.body == b"0123456789"
    assert protocol.transport.data == b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"


async def test_unknown_path_by_hand(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.data_received(b"GET /unknown HTTP/1.1\r\nHost: x\r\n\r\n")
    await protocol.task
    assert protocol.response.status == HTTPStatus.NOT_FOUND


async def test_malformed_request_is_400_at_once(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.data_received(b"INVALID HTTP/1.22\r\n\r\n")
    assert protocol.response.status == HTTPStatus.BAD_REQUEST
    await protocol.task
    assert protocol.transport.data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert protocol.transport.is_closing()


async def test_unknown_method_is_400_at_once(app: Roll) -> None:
    @app.route("/path")
    async def handler(request: Request, response: Response) -> None:
        pass

    protocol = make_protocol(app)
    protocol.data_received(b"SPAM /path HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert protocol.response.status == HTTPStatus.BAD_REQUEST
    assert protocol.request.method is None
    await protocol.write()
    assert protocol.transport.data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_data_after_a_parse_error_is_ignored(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.data_received(b"BROKEN\r\n\r\n")
    task = protocol.task
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert protocol.task is task
    await task
    assert protocol.transport.data.count(b"HTTP/1.1") == 1


async def test_on_message_begin_and_on_url_by_hand(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.on_message_begin()
    protocol.on_url(b"/?k=v")
    assert protocol.request.path == "/"
    assert protocol.request.query == {"k": ["v"]}
    protocol.response.body = "by hand"
    await protocol.write()
    assert protocol.transport.data == b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nby hand"


async def test_on_message_begin_gives_a_fresh_request(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.on_message_begin()
    first, first_response = protocol.request, protocol.response
    protocol.on_message_begin()
    assert protocol.request is not first
    assert protocol.response is not first_response


async def test_absolute_form_target(app: Roll) -> None:
    @app.route("/path")
    async def handler(request: Request, response: Response) -> None:
        response.body = request.query.get("x")

    protocol = make_protocol(app)
    protocol.data_received(b"GET http://example.org/path?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert protocol.request.path == "/path"
    await protocol.task
    assert protocol.response.body == b"1"


async def test_invalid_percent_encoding_is_400(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.data_received(b"GET /%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n")
    assert protocol.response.status == HTTPStatus.BAD_REQUEST
    await protocol.task
    assert protocol.transport.data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_non_utf8_header_value_falls_back_to_latin1(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n")
    assert protocol.request.headers["X-NAME"] == "café"
    await protocol.task


async def test_oversized_chunk_size_is_400(loop_errors: list[dict[str, Any]], app: Roll) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    protocol = make_protocol(app)
    protocol.data_received(
        b"POST /test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    )
    protocol.data_received(b"fffffffffffffffffffffffff\r\nxx")
    await asyncio.wait_for(protocol.task, 2)
    assert protocol.transport.data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert protocol.transport.data.count(b"HTTP/1.1") == 1
    assert protocol.transport.is_closing()


async def test_invalid_chunk_on_a_lazy_route(loop_errors: list[dict[str, Any]], app: Roll) -> None:
    chunks: list[bytes] = []

    @app.route("/test", methods=["POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        async for chunk in request:
            chunks.append(chunk)

    protocol = make_protocol(app)
    protocol.data_received(
        b"POST /test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    )
    await asyncio.sleep(0)
    protocol.data_received(b"zz\r\n")
    await asyncio.wait_for(protocol.task, 2)
    assert chunks == [b"abc"]
    assert protocol.transport.data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert protocol.transport.is_closing()


async def test_invalid_chunk_after_the_response_closes(app: Roll) -> None:
    @app.route("/test", methods=["POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        response.body = "not reading"

    protocol = make_protocol(app)
    protocol.data_received(
        b"POST /test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    )
    await protocol.task
    assert protocol.transport.data.endswith(b"not reading")
    assert not protocol.transport.is_closing()
    protocol.data_received(b"nonsense\r\n")
    await protocol.task
    assert protocol.transport.is_closing()
    assert protocol.transport.data.count(b"HTTP/1.1") == 1


async def test_pipelined_requests_by_hand_answered_in_order(app: Roll) -> None:
    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        await asyncio.sleep(0.05)
        response.body = "slow"

    @app.route("/fast")
    async def fast(request: Request, response: Response) -> None:
        response.body = "fast"

    protocol = make_protocol(app)
    protocol.data_received(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    await protocol.task
    assert protocol.transport.data == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow"
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfast"
    )


# Flow control for lazy bodies.


async def test_lazy_body_back_pressure(app: Roll) -> None:
    go = asyncio.Event()
    sizes: list[int] = []

    @app.route("/upload", methods=["POST"], lazy_body=True)
    async def upload(request: Request, response: Response) -> None:
        await go.wait()
        async for chunk in request:
            sizes.append(len(chunk))
        response.body = str(sum(sizes))

    transport = RecordingTransport()
    protocol = make_protocol(app, transport)
    chunk = b"x" * 65536
    total = 10 * len(chunk)
    protocol.data_received(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total)
    for _ in range(5):  # 320 KiB buffered: past the high-water mark
        protocol.data_received(chunk)
    assert transport.calls == ["pause"]
    assert not transport.reading
    go.set()
    for _ in range(20):
        await asyncio.sleep(0)
        if transport.reading:
            break
    assert transport.calls == ["pause", "resume"]
    for _ in range(5):
        protocol.data_received(chunk)
    await protocol.task
    assert protocol.response.body == str(total).encode()
    assert transport.reading


async def test_loaded_body_is_never_paused(app: Roll) -> None:
    @app.route("/upload", methods=["POST"])
    async def upload(request: Request, response: Response) -> None:
        response.body = str(len(request.body))

    transport = RecordingTransport()
    protocol = make_protocol(app, transport)
    protocol.data_received(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (2**20))
    await asyncio.sleep(0)  # the task starts loading the body
    for _ in range(16):
        protocol.data_received(b"x" * 65536)
    await protocol.task
    assert protocol.response.body == str(2**20).encode()
    assert "pause" not in transport.calls


async def test_unread_lazy_body_resumes_reading_and_is_discarded(app: Roll) -> None:
    @app.route("/upload", methods=["POST"], lazy_body=True)
    async def upload(request: Request, response: Response) -> None:
        await asyncio.sleep(0.01)
        response.body = "ignored the body"

    @app.route("/next")
    async def next_(request: Request, response: Response) -> None:
        response.body = "next"

    transport = RecordingTransport()
    protocol = make_protocol(app, transport)
    protocol.data_received(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (2**20))
    for _ in range(5):
        protocol.data_received(b"x" * 65536)
    assert transport.calls == ["pause"]
    await protocol.task
    assert transport.calls == ["pause", "resume"]
    for _ in range(11):
        protocol.data_received(b"x" * 65536)
    assert protocol.request.buffered == 0  # discarded, not kept in memory
    protocol.data_received(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    await protocol.task
    assert transport.data.endswith(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")


# Over a real socket.


async def test_keep_alive(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/{name}")
    async def handler(request: Request, response: Response, name: str) -> None:
        response.body = name

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    try:
        for name in (b"one", b"two", b"three"):
            writer.write(b"GET /%b HTTP/1.1\r\nHost: x\r\n\r\n" % name)
            assert await read_response(reader) == (
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(name), name)
            )
    finally:
        writer.close()


async def test_pipelined_requests_answered_in_order(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/sleep/{ms:digit}")
    async def handler(request: Request, response: Response, ms: str) -> None:
        await asyncio.sleep(int(ms) / 1000)
        response.body = ms

    data = await exchange(
        liveclient.port,
        b"GET /sleep/50 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /sleep/0 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /sleep/20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert data == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n50"
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n0"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n20"
    )


async def test_pipelined_requests_with_bodies(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/echo", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    data = await exchange(
        liveclient.port,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nf",
    )
    assert data == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nde"
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nf"
    )


async def test_connection_close_is_honoured(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "bye"

    # exchange() returns at EOF only: the server closed the connection.
    data = await exchange(liveclient.port, b"GET /test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye"


async def test_http_1_0_closes(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "old"

    data = await exchange(liveclient.port, b"GET /test HTTP/1.0\r\n\r\n")
    assert data == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nold"


async def test_response_connection_close_header_closes(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.headers["Connection"] = "close"

    data = await exchange(liveclient.port, b"GET /test HTTP/1.1\r\nHost: x\r\n\r\nGET /test HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data == b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


async def test_malformed_request_over_the_wire_is_400_and_closed(
    app: Roll, liveclient: LiveClient
) -> None:
    data = await exchange(liveclient.port, b"INVALID HTTP/1.22\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_bad_request_after_a_good_one(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        await asyncio.sleep(0.02)
        response.body = "good"

    data = await exchange(liveclient.port, b"GET /test HTTP/1.1\r\nHost: x\r\n\r\nSPAM /test HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
    assert data.count(b"HTTP/1.1 400 Bad Request\r\n") == 1


async def test_oversized_chunk_over_the_wire(
    loop_errors: list[dict[str, Any]], app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    data = await exchange(
        liveclient.port,
        b"POST /test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\nfffffffffffffffffffffffffffff\r\n",
    )
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_unread_body_is_drained(app: Roll, liveclient: LiveClient) -> None:
    # Over the default body limit (HTTPProtocol.MAX_BODY_SIZE): raised for the route.
    @app.route("/lazy", methods=["POST"], lazy_body=True, max_body_size=4 * 2**20)
    async def lazy(request: Request, response: Response) -> None:
        response.body = "lazy, did not read"

    @app.route("/next")
    async def next_(request: Request, response: Response) -> None:
        response.body = "next"

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    try:
        size = 3 * 2**20
        writer.write(b"POST /lazy HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        writer.write(b"x" * size)
        writer.write(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader)).endswith(b"\r\n\r\nlazy, did not read")
        assert (await read_response(reader)).endswith(b"\r\n\r\nnext")
    finally:
        writer.close()


async def test_body_unread_after_headers_shortcut_is_drained(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> bool:
        if request.path == "/denied":
            response.status = 403
            return True
        return False

    @app.route("/denied", methods=["POST"])
    async def denied(request: Request, response: Response) -> None:
        raise AssertionError("never called")

    @app.route("/next")
    async def next_(request: Request, response: Response) -> None:
        response.body = "next"

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    try:
        writer.write(b"POST /denied HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n")
        writer.write(b"y" * 500_000)
        writer.write(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader)).startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert (await read_response(reader)).endswith(b"\r\n\r\nnext")
    finally:
        writer.close()


async def test_lazy_upload_with_back_pressure_over_the_wire(
    app: Roll, liveclient: LiveClient
) -> None:
    calls: list[str] = []

    class Recorder:
        """Wraps the real transport to see the flow-control calls."""

        def __init__(self, transport: Any) -> None:
            self.transport = transport

        def __getattr__(self, name: str) -> Any:
            return getattr(self.transport, name)

        def pause_reading(self) -> None:
            calls.append("pause")
            self.transport.pause_reading()

        def resume_reading(self) -> None:
            calls.append("resume")
            self.transport.resume_reading()

    class RecordingProtocol(HTTPProtocol):
        __slots__ = ()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(Recorder(transport))

    app.HttpProtocol = RecordingProtocol
    release = asyncio.Event()

    @app.route("/upload", methods=["POST"], lazy_body=True, max_body_size=None)
    async def upload(request: Request, response: Response) -> None:
        await release.wait()  # the body piles up meanwhile
        size = 0
        async for chunk in request:
            size += len(chunk)
            await asyncio.sleep(0)  # a slow consumer
        response.body = str(size)

    size = 8 * 2**20
    query = asyncio.ensure_future(liveclient.query("POST", "/upload", body=b"z" * size))
    for _ in range(200):
        await asyncio.sleep(0.005)
        if calls:
            break
    assert calls == ["pause"]  # reading stopped while nobody consumed the body
    release.set()
    resp = await asyncio.wait_for(query, 10)
    assert resp.status == HTTPStatus.OK
    assert resp.body == str(size).encode()
    assert calls[:2] == ["pause", "resume"]
    assert calls.count("pause") == calls.count("resume")


# Disconnects.


async def test_disconnect_mid_headers(
    loop_errors: list[dict[str, Any]], app: Roll, liveclient: LiveClient
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(b"GET /test HTTP/1.1\r\nHost: loc")
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.05)
    resp = await liveclient.query("GET", "/after")
    assert resp.status == HTTPStatus.NOT_FOUND  # the server is still serving


@pytest.mark.parametrize("lazy", [False, True])
async def test_disconnect_mid_body(
    loop_errors: list[dict[str, Any]],
    app: Roll,
    liveclient: LiveClient,
    lazy: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        if not outcome.done():
            outcome.set_result(f"{error.status.value} {error.message}")

    @app.route("/upload", methods=["POST"], lazy_body=lazy)
    async def upload(request: Request, response: Response) -> None:
        async for _ in request:
            pass
        outcome.set_result("complete")

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    await writer.drain()
    await asyncio.sleep(0.02)
    writer.close()
    await writer.wait_closed()
    assert await asyncio.wait_for(outcome, 2) == "400 Client disconnected"
    await asyncio.sleep(0.02)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_disconnect_while_handler_runs(
    loop_errors: list[dict[str, Any]], app: Roll, liveclient: LiveClient
) -> None:
    done = asyncio.Event()

    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        await asyncio.sleep(0.05)
        response.body = "too late"
        done.set()

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await asyncio.wait_for(done.wait(), 2)
    await asyncio.sleep(0.02)
    assert done.is_set()  # the handler ran to its end; nothing was written nor raised


async def test_disconnect_during_streamed_response(
    loop_errors: list[dict[str, Any]], app: Roll, liveclient: LiveClient
) -> None:
    closed = asyncio.Event()

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def endless() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"x" * 65536
                    await asyncio.sleep(0)
            finally:
                closed.set()

        response.body = endless()

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    await reader.readexactly(100_000)
    writer.close()
    await writer.wait_closed()
    await asyncio.wait_for(closed.wait(), 2)
    assert closed.is_set()  # the endless generator was closed when the client left


async def test_connection_lost_by_hand(loop_errors: list[dict[str, Any]], app: Roll) -> None:
    @app.route("/upload", methods=["POST"])
    async def upload(request: Request, response: Response) -> None:
        response.body = request.body

    protocol = make_protocol(app)
    protocol.data_received(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    protocol.transport.close()
    protocol.connection_lost(None)
    await asyncio.wait_for(protocol.task, 1)
    assert protocol.response.status == HTTPStatus.BAD_REQUEST
    assert protocol.transport.data == b""  # nothing written to a closed transport


async def test_upgrade_other_than_websocket_with_a_body_is_501(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = "plain"

    resp = await liveclient.query(
        "POST",
        "/test",
        headers={"Upgrade": "h2c", "Connection": "Upgrade, HTTP2-Settings"},
        body=b"body",
    )
    assert resp.status == HTTPStatus.NOT_IMPLEMENTED
    assert resp.reason == "Not Implemented"


async def test_connect_is_answered_then_closed(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/tunnel", methods=["CONNECT"])
    async def tunnel(request: Request, response: Response) -> None:
        response.body = "no tunnel"

    data = await exchange(liveclient.port, b"CONNECT /tunnel HTTP/1.1\r\nHost: x\r\n\r\nGET /tunnel HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data == b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nno tunnel"


async def test_many_pipelined_requests(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/n/{n:digit}")
    async def handler(request: Request, response: Response, n: str) -> None:
        if int(n) % 3 == 0:
            await asyncio.sleep(0.001)
        response.body = n

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    requests = b"".join(b"GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(99))
    writer.write(requests + b"GET /n/99 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert data == b"".join(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" % (len(str(i)), i) for i in range(100)
    )


async def test_keep_alive_after_a_chunked_response(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def gen() -> AsyncIterator[bytes]:
            yield b"abc"

        response.body = gen()

    data = await exchange(liveclient.port, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    one = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert data == one * 2


async def test_partly_read_lazy_body_is_drained(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/partial", methods=["POST"], lazy_body=True)
    async def partial(request: Request, response: Response) -> None:
        async for chunk in request:
            response.body = str(len(chunk) > 0)
            break

    @app.route("/next")
    async def next_(request: Request, response: Response) -> None:
        response.body = "next"

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    try:
        writer.write(b"POST /partial HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(100):
            writer.write(b"2710\r\n" + b"w" * 10_000 + b"\r\n")
        writer.write(b"0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader)).endswith(b"\r\n\r\nTrue")
        assert (await read_response(reader)).endswith(b"\r\n\r\nnext")
    finally:
        writer.close()


async def test_head_over_the_wire_keeps_the_connection_usable(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/test", methods=["HEAD", "GET"])
    async def handler(request: Request, response: Response) -> None:
        response.body = "body"

    data = await exchange(liveclient.port, b"HEAD /test HTTP/1.1\r\nHost: x\r\n\r\nGET /test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data == b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"


async def test_request_fed_byte_by_byte(app: Roll) -> None:
    @app.route("/foo/{name}", methods=["POST"])
    async def handler(request: Request, response: Response, name: str) -> None:
        response.json = [name, request.query.get("x"), request.headers["X-LONG"], request.body.decode()]

    protocol = make_protocol(app)
    raw = (
        b"POST /foo/caf%C3%A9?x=%C3%A9t%C3%A9 HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * 50 + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    for i in range(len(raw)):
        protocol.data_received(raw[i : i + 1])
    await protocol.task
    assert protocol.request.url == b"/foo/caf%C3%A9?x=%C3%A9t%C3%A9"
    head, _, body = protocol.transport.data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(body) == ["café", "été", "v" * 50, "hello world"]


async def test_loop_errors_fixture_sees_unretrieved_task_exceptions() -> None:
    # Guards the `loop_errors` fixture used by the disconnect tests.
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    try:

        async def fail() -> None:
            raise RuntimeError("lost")

        task = loop.create_task(fail())
        await asyncio.sleep(0)
        del task
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [e["message"] for e in errors] == ["Task exception was never retrieved"]


async def test_garbage_after_a_good_request(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "good"

    data = await exchange(liveclient.port, b"GET /test HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02 garbage\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
    assert data[len(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood") :].startswith(
        b"HTTP/1.1 400 Bad Request\r\n"
    )


# However the bytes are split between reads, the same request comes out.

RAW_REQUEST = (
    b"POST /split/caf%C3%A9?q=%C3%A9t%C3%A9&q=2 HTTP/1.1\r\n"
    b"Host: example.org\r\nCookie: a=1\r\nContent-Type: text/plain\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
    b"4\r\nabcd\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
    b"GET /split/next HTTP/1.1\r\nHost: x\r\n\r\n"
)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(RAW_REQUEST) - 1), max_size=20))
def test_any_split_gives_the_same_answers(cuts: list[int]) -> None:
    async def run() -> bytes:
        app = Roll()

        @app.route("/split/{name}", methods=["GET", "POST"])
        async def handler(request: Request, response: Response, name: str) -> None:
            response.json = [name, request.query, request.cookies, request.body.decode()]

        protocol = make_protocol(app)
        bounds = [0, *sorted(set(cuts)), len(RAW_REQUEST)]
        for start, end in zip(bounds, bounds[1:]):
            protocol.data_received(RAW_REQUEST[start:end])
            await asyncio.sleep(0)
        await protocol.task
        data: bytes = protocol.transport.data
        return data

    data = asyncio.run(run())
    first = b'["caf\\u00e9", {"q": ["\\u00e9t\\u00e9", "2"]}, {"a": "1"}, "abcd0123456789abcdef"]'
    second = b'["next", {}, {}, ""]'
    assert data == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(first), first)
        + b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(second), second)
    )


async def test_unknown_path_body_fed_later_is_still_loadable(app: Roll) -> None:
    protocol = make_protocol(app)
    protocol.data_received(b"POST /feeds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert protocol.request.method == "POST"
    protocol.data_received(b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n")
    protocol.data_received(b"0\r\n\r\n")
    await protocol.task
    assert protocol.response.status == HTTPStatus.NOT_FOUND
    await protocol.request.load_body()
    assert protocol.request.body == b"abcdefghijklmnopqrstuvwxyz"
