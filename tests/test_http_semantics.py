"""HTTP semantics over a real socket (issue 9): errors a client can read, framing
refused rather than guessed, 405/426/HEAD/Upgrade, and Roll's `request._chunk`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from hardening_helpers import connect, exchange, get, read_replies, read_reply

from roll import HttpError, Request, Response, Roll
from roll.testing import LiveClient, read_responses

TEXT = "text/plain; charset=utf-8"


@pytest.fixture
def app() -> Roll:
    app = Roll()
    app["seen"] = []

    @app.route("/secret")
    async def secret(request: Request, response: Response) -> None:
        raise RuntimeError("db password=hunter2")

    @app.route("/teapot")
    async def teapot(request: Request, response: Response) -> None:
        raise HttpError(418, "short and stout")

    @app.route("/detail")
    async def detail(request: Request, response: Response) -> None:
        raise HttpError(404, {"detail": "no such note", "id": 3})

    @app.route("/problems")
    async def problems(request: Request, response: Response) -> None:
        raise HttpError(422, [{"field": "name"}])

    @app.route("/login")
    async def login(request: Request, response: Response) -> None:
        raise HttpError(401, headers={"WWW-Authenticate": 'Basic realm="notes"'})

    @app.route("/busy")
    async def busy(request: Request, response: Response) -> None:
        raise HttpError(503, "Try later", headers={"Retry-After": "120"})

    @app.route("/html")
    async def html(request: Request, response: Response) -> None:
        raise HttpError(400, "<script>alert(1)</script>")

    @app.route("/echo", methods=["GET", "POST"])
    async def echo(request: Request, response: Response) -> None:
        app["seen"].append((request.method, request.path, request.host))
        response.body = f"{request.method} {request.path} {request.host} {len(request.body)}"

    @app.route("/items", methods=["GET", "POST"])
    async def items(request: Request, response: Response) -> None:
        response.body = "x" * 1234
        response.headers["X-Items"] = "yes"

    @app.route("/head", methods=["GET", "HEAD"])
    async def explicit(request: Request, response: Response) -> None:
        response.body = "from GET" if request.method == "GET" else ""
        response.headers["X-Method"] = request.method or ""

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def chunks() -> Any:
            yield b"a"
            yield b"b"

        response.body = chunks()

    @app.route("/ws", protocol="websocket")
    async def ws(request: Request, websocket: Any) -> None:
        raise AssertionError("not called")

    return app


async def send(liveclient: LiveClient, raw: bytes) -> list[Any]:
    return read_responses(await exchange(liveclient.port, raw))


# 1. Unhandled exceptions


async def test_unhandled_exception_text_never_reaches_the_client(
    app: Roll, liveclient: LiveClient, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[HttpError] = []

    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        seen.append(error)

    with caplog.at_level(logging.ERROR, logger="roll"):
        raw = await exchange(liveclient.port, get("/secret", "Connection: close\r\n"))
    assert b"hunter2" not in raw
    [reply] = read_responses(raw)
    assert reply.status == 500
    assert reply.body == b"Internal Server Error"
    assert reply.headers["Content-Type"] == TEXT
    # The original is kept for the error hook and the log.
    assert isinstance(seen[0].__context__, RuntimeError)
    assert str(seen[0].__context__) == "db password=hunter2"
    assert "hunter2" in caplog.text


async def test_http_error_raised_on_purpose_keeps_its_message(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, get("/teapot", "Connection: close\r\n"))
    assert (reply.status, reply.body) == (418, b"short and stout")
    assert reply.headers["Content-Type"] == TEXT


# 5. HttpError headers and bodies with a type


@pytest.mark.parametrize(
    "path, status, body",
    [
        ("/detail", 404, {"detail": "no such note", "id": 3}),
        ("/problems", 422, [{"field": "name"}]),
    ],
)
async def test_dict_or_list_message_is_json(
    liveclient: LiveClient, path: str, status: int, body: Any
) -> None:
    [reply] = await send(liveclient, get(path, "Connection: close\r\n"))
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("application/json")
    assert json.loads(reply.body) == body


async def test_error_headers(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, get("/login", "Connection: close\r\n"))
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="notes"'
    assert reply.body == b"Unauthorized"
    [reply] = await send(liveclient, get("/busy", "Connection: close\r\n"))
    assert (reply.status, reply.headers["Retry-After"], reply.body) == (503, "120", b"Try later")


async def test_error_text_is_never_html(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, get("/html", "Connection: close\r\n"))
    assert reply.headers["Content-Type"] == TEXT
    [reply] = await send(liveclient, get("/<b>nope</b>", "Connection: close\r\n"))
    assert reply.status == 404
    assert reply.headers["Content-Type"] == TEXT


async def test_error_hook_may_still_rewrite_the_response(app: Roll, liveclient: LiveClient) -> None:
    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        assert response.headers["Retry-After"] == "120" or error.status != 503
        response.json = {"status": error.status, "error": error.message}

    [reply] = await send(liveclient, get("/busy", "Connection: close\r\n"))
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "120"
    assert json.loads(reply.body) == {"status": 503, "error": "Try later"}


async def test_protocol_errors_have_a_content_type(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, b"GET / HTTP/1.1\r\n\r\n")
    assert reply.status == 400
    assert reply.headers["Content-Type"] == TEXT


# 2. Framing refused, never guessed


async def test_transfer_encoding_on_http_1_0_is_refused_and_closed(
    app: Roll, liveclient: LiveClient
) -> None:
    # A keep-alive HTTP/1.0 request with chunked: answered and kept open, the
    # "body" could be read as a second request by us and as a body by a proxy.
    raw = await exchange(
        liveclient.port,
        b"POST /echo HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get("/echo"),
    )
    replies = read_responses(raw)
    assert [reply.status for reply in replies] == [400]
    assert app["seen"] == []


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate,chunked", "GZIP , Chunked"])
async def test_coding_before_chunked_is_501_and_closed(
    app: Roll, liveclient: LiveClient, coding: str
) -> None:
    raw = await exchange(
        liveclient.port,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %b\r\n\r\n0\r\n\r\n" % coding.encode()
        + get("/echo"),
    )
    replies = read_responses(raw)
    assert [reply.status for reply in replies] == [501]
    assert app["seen"] == []


@pytest.mark.parametrize(
    "head",
    [
        b"GET /echo HTTP/1.1\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: a\r\n\r\n",
    ],
    ids=["no host", "two hosts", "same host twice"],
)
async def test_host_missing_or_repeated_is_400(
    app: Roll, liveclient: LiveClient, head: bytes
) -> None:
    raw = await exchange(liveclient.port, head + get("/echo"))
    assert [reply.status for reply in read_responses(raw)] == [400]
    assert app["seen"] == []


async def test_http_1_0_needs_no_host(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, b"GET /echo HTTP/1.0\r\n\r\n")
    assert (reply.status, reply.body) == (200, b"GET /echo  0")


async def test_absolute_form_is_routed_on_its_path_and_its_host_wins(
    app: Roll, liveclient: LiveClient
) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(b"GET http://example.org:8080/echo?q=1 HTTP/1.1\r\nHost: other\r\n\r\n")
        reply = await read_reply(reader)
        assert (reply.status, reply.body) == (200, b"GET /echo example.org:8080 0")
        writer.write(b"GET http://user@h/echo HTTP/1.1\r\nHost: other\r\n\r\n")
        assert (await read_reply(reader)).body == b"GET /echo h 0"
        writer.write(get("/echo"))  # still a usable connection
        assert (await read_reply(reader)).body == b"GET /echo x 0"
    finally:
        writer.close()


# 4. 405, 426, HEAD, Upgrade


async def test_405_carries_allow(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, b"DELETE /items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD, POST"
    [reply] = await send(liveclient, b"PUT /head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.headers["Allow"] == "GET, HEAD"


async def test_426_carries_upgrade(liveclient: LiveClient) -> None:
    [reply] = await send(liveclient, get("/ws", "Connection: close\r\n"))
    assert reply.status == 426
    assert reply.headers["Upgrade"] == "websocket"


async def test_head_is_answered_by_get_with_its_content_length(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(b"HEAD /items HTTP/1.1\r\nHost: x\r\n\r\n" + get("/items"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head == (
            b"HTTP/1.1 200 OK\r\nX-Items: yes\r\nContent-Length: 1234\r\n\r\n"
        )  # and no body: the GET's response comes next
        reply = await read_reply(reader)
        assert (reply.status, len(reply.body)) == (200, 1234)
    finally:
        writer.close()


async def test_head_of_a_streamed_get_has_no_body(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n" + get("/echo"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Length" not in head
        assert (await read_reply(reader)).body == b"GET /echo x 0"
    finally:
        writer.close()


async def test_explicit_head_handler_still_wins(liveclient: LiveClient) -> None:
    raw = await exchange(
        liveclient.port, b"HEAD /head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw == b"HTTP/1.1 200 OK\r\nX-Method: HEAD\r\n\r\n"  # Roll's bytes: no Content-Length


async def test_head_with_curl(liveclient: LiveClient) -> None:
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-I", f"{liveclient.url}/items",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, err
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 1234\r\n" in out


async def test_h2c_upgrade_on_a_plain_route_is_ignored(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(
            b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n" + get("/echo")
        )
        first, second = await read_replies(reader, 2)
        assert (first.status, first.body) == (200, b"GET /echo x 0")
        # The connection goes on as HTTP/1.1.
        assert (second.status, second.body) == (200, b"GET /echo x 0")
    finally:
        writer.close()


async def test_h2c_with_curl(liveclient: LiveClient) -> None:
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--http2", "-i", f"{liveclient.url}/echo",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, err
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.endswith(b"GET /echo 127.0.0.1:%d 0" % liveclient.port)


async def test_other_upgrade_on_a_websocket_route_stays_501(liveclient: LiveClient) -> None:
    raw = await exchange(
        liveclient.port,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    )
    assert [reply.status for reply in read_responses(raw)] == [501]


# 8. request._chunk


async def test_lazy_body_chunk_shows_reading_is_paused(app: Roll, liveclient: LiveClient) -> None:
    # Roll's own test: the handler starts before the whole body is read.
    seen: list[int] = []

    @app.route("/lazy", methods=["POST"], lazy_body=True, max_body_size=None)
    async def lazy(request: Request, response: Response) -> None:
        seen.append(len(request._chunk))
        data = b""
        async for chunk in request:
            data += chunk
            assert request._chunk == b"" or len(request._chunk) < 10_000_000
        response.body = str(len(data))

    total = 4 * 1024 * 1024
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(
            b"POST /lazy HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total
            + b"x" * total
        )
        reply = await read_reply(reader, timeout=10)
        assert (reply.status, reply.body) == (200, str(total).encode())
    finally:
        writer.close()
    # What was received and not consumed when the handler started: some, not all.
    assert seen[0] < total


async def test_chunk_is_the_unconsumed_bytes(app: Roll) -> None:
    from roll.testing import Transport

    @app.route("/lazy", methods=["POST"], lazy_body=True)
    async def lazy(request: Request, response: Response) -> None:
        await asyncio.sleep(3600)

    app.loop = asyncio.get_running_loop()
    protocol = app.HttpProtocol(app)
    protocol.connection_made(Transport())
    protocol.data_received(b"POST /lazy HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    assert protocol.request._chunk == b"abc"
    protocol.data_received(b"defg")
    assert protocol.request._chunk == b"abcdefg"
    iterator = protocol.request.__aiter__()
    assert await iterator.__anext__() == b"abc"
    assert protocol.request._chunk == b"defg"
    assert protocol.task is not None
    protocol.task.cancel()
    protocol.connection_lost(None)
    await asyncio.gather(protocol.task, return_exceptions=True)


async def test_roll_pause_reading_test(app: Roll, liveclient: LiveClient) -> None:
    # As in Roll's test suite (test_can_pause_reading).
    @app.route("/test", methods=["POST"], lazy_body=True)
    async def post(req: Request, resp: Response) -> None:
        assert len(req._chunk) != 400  # only the first chunk should be read
        data = b""
        async for chunk in req:
            data += chunk
        assert len(data) == 400

    body = (b"blah" for i in range(100))
    resp = await liveclient.query("POST", "/test", body=body)
    assert resp.status == 200
