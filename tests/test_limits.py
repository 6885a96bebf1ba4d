"""Each limit, crossed over a real socket: the status, a short body naming it, a close."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hardening_helpers import (
    add_common_routes,
    connect,
    exchange,
    get,
    read_replies,
    read_until_closed,
    send_slowly,
)

from roll import server
from roll import HTTPProtocol, Multipart, Request, Response, Roll
from roll.testing import LiveClient, Transport, WireResponse, open_protocol, read_responses


class SmallProtocol(HTTPProtocol):
    __slots__ = ()
    MAX_URL_SIZE = 200
    MAX_HEADERS = 10
    MAX_HEADERS_SIZE = 1000
    MAX_BODY_SIZE = 1024
    MAX_PIPELINED = 4


class SmallRequest(Request):
    __slots__ = ()
    MAX_JSON_SIZE = 100
    MAX_FORM_FIELDS = 5


class SmallMultipart(Multipart):
    MAX_PARTS = 3
    MAX_FIELD_SIZE = 50
    MAX_FILE_SIZE = 100


@pytest.fixture
def app() -> Roll:
    app = Roll()
    app.HttpProtocol = SmallProtocol
    app.Request = SmallRequest
    app.Multipart = SmallMultipart
    add_common_routes(app)

    @app.route("/upload", methods=["POST"], max_body_size=10_000)
    async def upload(request: Request, response: Response) -> None:
        response.body = f"got {len(request.body)}"

    @app.route("/json", methods=["POST"])
    async def as_json(request: Request, response: Response) -> None:
        response.json = request.json

    @app.route("/form", methods=["POST"])
    async def form(request: Request, response: Response) -> None:
        response.json = {k: v for k, v in request.form.items()}

    @app.route("/files", methods=["POST"])
    async def files(request: Request, response: Response) -> None:
        response.json = {
            "form": dict(request.form),
            "files": {k: v[0].read().decode() for k, v in request.files.items()},
        }

    return app


def only(raw: bytes) -> WireResponse:
    replies = read_responses(raw)
    assert len(replies) == 1, raw
    return replies[0]


def assert_short(reply: WireResponse, *words: bytes) -> None:
    assert len(reply.body) < 120, reply.body
    assert b"Traceback" not in reply.body
    for word in words:
        assert word in reply.body, reply.body


# Body


async def test_body_within_limit(liveclient: LiveClient) -> None:
    response = await liveclient.query("POST", "/", body=b"x" * 1024)
    assert response.status == 200
    assert response.body == b"got 1024"


async def test_body_too_large_from_content_length(liveclient: LiveClient, app: Roll) -> None:
    # No body is sent at all: the answer comes from the Content-Length alone.
    raw = await exchange(
        liveclient.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n"
    )
    reply = only(raw)
    assert reply.status == 413
    assert_short(reply, b"Request body too large", b"1024")
    assert app["calls"] == []


async def test_huge_content_length(liveclient: LiveClient) -> None:
    raw = await exchange(
        liveclient.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000000\r\n\r\n"
    )
    assert only(raw).status == 413


async def test_chunked_body_too_large(liveclient: LiveClient, app: Roll) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw = await send_slowly(liveclient.port, head, b"200\r\n" + b"x" * 512 + b"\r\n", 3, 0.01)
    reply = only(raw)
    assert reply.status == 413
    assert_short(reply, b"1024")
    assert app["calls"] == []


async def test_lazy_body_limit_while_streaming(liveclient: LiveClient, app: Roll) -> None:
    head = b"POST /lazy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw = await send_slowly(liveclient.port, head, b"100\r\n" + b"x" * 256 + b"\r\n", 10, 0.01)
    reply = only(raw)
    assert reply.status == 413
    # The handler never saw (and nothing buffered) a byte past the limit.
    assert app["seen"] and max(app["seen"]) <= 1024


async def test_route_max_body_size(liveclient: LiveClient) -> None:
    response = await liveclient.query("POST", "/upload", body=b"x" * 5000)
    assert response.status == 200
    assert response.body == b"got 5000"
    response = await liveclient.query("POST", "/upload", body=b"x" * 10_001)
    assert response.status == 413
    assert b"10000" in response.body


async def test_chunked_body_within_limit(liveclient: LiveClient) -> None:
    response = await liveclient.query("POST", "/lazy", body=iter([b"a" * 500, b"b" * 500]))
    assert response.status == 200
    assert response.body == b"got 1000"


# Head


async def test_url_too_long(liveclient: LiveClient, app: Roll) -> None:
    raw = await exchange(liveclient.port, get("/" + "a" * 300))
    reply = only(raw)
    assert reply.status == 414
    assert_short(reply, b"URL too long", b"200")
    assert app["calls"] == []


async def test_url_too_long_in_pieces(liveclient: LiveClient) -> None:
    raw = await send_slowly(liveclient.port, b"GET /", b"a" * 10, 30, 0.005)
    assert only(raw).status == 414


async def test_url_at_limit(liveclient: LiveClient) -> None:
    response = await liveclient.query("GET", "/?" + "a" * 190)
    assert response.status == 200


async def test_too_many_headers(liveclient: LiveClient) -> None:
    headers = "".join(f"X-{i}: {i}\r\n" for i in range(10))  # + Host = 11
    raw = await exchange(liveclient.port, get(headers=headers))
    reply = only(raw)
    assert reply.status == 431
    assert_short(reply, b"Too many header fields", b"10")


async def test_headers_too_large(liveclient: LiveClient) -> None:
    raw = await exchange(liveclient.port, get(headers=f"X-Big: {'a' * 1000}\r\n"))
    reply = only(raw)
    assert reply.status == 431
    assert_short(reply, b"Request header fields too large", b"1000")


async def test_never_ending_header_line(liveclient: LiveClient) -> None:
    # httptools buffers an unfinished header line itself: the protocol counts.
    raw = await send_slowly(liveclient.port, b"GET / HTTP/1.1\r\nX-Endless: ", b"a" * 100, 100, 0.002)
    assert only(raw).status == 431


async def test_repeated_header_flood(liveclient: LiveClient) -> None:
    # Repeated names are joined into one field: the size limit catches them.
    raw = await exchange(liveclient.port, get(headers="X: a\r\n" * 500))
    reply = only(raw)
    assert reply.status == 431
    assert_short(reply, b"too large")


async def test_head_over_several_reads(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    head = get(headers="".join(f"X-{i}: {'v' * 80}\r\n" for i in range(8)))
    for start in range(0, len(head), 50):
        writer.write(head[start : start + 50])
        await writer.drain()
        await asyncio.sleep(0.002)
    assert (await read_replies(reader, 1))[0].status == 200
    head = get(headers="".join(f"X-{i}: {'v' * 150}\r\n" for i in range(8)))
    for start in range(0, len(head), 50):
        writer.write(head[start : start + 50])
        await writer.drain()
        await asyncio.sleep(0.002)
    raw = await read_until_closed(reader)
    writer.close()
    assert only(raw).status == 431


async def test_headers_within_limits(liveclient: LiveClient) -> None:
    headers = {f"X-{i}": "v" * 50 for i in range(8)}
    response = await liveclient.query("GET", "/", headers=headers)
    assert response.status == 200


# Malformed requests: 400, then the connection is closed, and nothing that
# follows on it is read as a request (no smuggling).

MALFORMED = {
    "unknown method": b"SPAM / HTTP/1.1\r\nHost: x\r\n\r\n",
    "lowercase method": b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad version": b"INVALID HTTP/1.22\r\n\r\n",
    "content-length not a number": b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    "negative content-length": b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "content-length list": b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx",
    "two content-lengths": b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
    "content-length and chunked": (
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "chunked and content-length": (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"
    ),
    "chunked not last": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "identity transfer-encoding": b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\nabc",
    "unknown transfer-encoding": b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "two transfer-encodings": (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "space before colon": b"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "bad chunk size": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "short chunk": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\r\n0\r\n\r\n",
    "chunk without crlf": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n",
    "chunk size overflow": (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nab"
    ),
    "chunk with bare lf": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\n0\n\n",
    "bare lf": b"GET / HTTP/1.1\nHost: x\n\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
    "nul in header": b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
    "control char in url": b"GET /a\x01b HTTP/1.1\r\n\r\n",
    "space in url": b"GET /a b HTTP/1.1\r\n\r\n",
    "empty header name": b"GET / HTTP/1.1\r\n: a\r\n\r\n",
    "bad url encoding": b"GET /%ff HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=list(MALFORMED))
async def test_malformed_request(liveclient: LiveClient, app: Roll, raw: bytes) -> None:
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = await exchange(liveclient.port, raw + smuggled)
    replies = read_responses(answer)
    assert [reply.status for reply in replies] == [400], answer
    assert_short(replies[0])
    assert "/smuggled" not in app["calls"]


async def test_malformed_after_good_pipelined(liveclient: LiveClient) -> None:
    answer = await exchange(liveclient.port, get() + b"SPAM / HTTP/1.1\r\n\r\n" + get())
    assert [reply.status for reply in read_responses(answer)] == [200, 400]


# Pipelining


async def test_pipelined_within_limit(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    for _ in range(3):
        writer.write(get() * 4)
        assert [reply.status for reply in await read_replies(reader, 4)] == [200] * 4
    writer.close()


async def test_too_many_pipelined(liveclient: LiveClient, app: Roll) -> None:
    answer = await exchange(liveclient.port, get() * 10)
    statuses = [reply.status for reply in read_responses(answer)]
    assert statuses == [200, 200, 200, 200, 429]
    assert b"limit: 4" in read_responses(answer)[-1].body
    assert len(app["calls"]) == 4


async def test_pipelined_reading_paused(app: Roll) -> None:
    # In memory: at MAX_PIPELINED requests in flight, the protocol stops reading.
    transport = Transport()
    protocol = open_protocol(app, transport)
    protocol.data_received(get() * 4)
    assert transport.reading is False
    assert protocol.task is not None
    await protocol.task
    assert transport.reading is True
    assert transport.data.count(b"200 OK") == 4


# JSON, forms, multipart


async def test_json_limit(liveclient: LiveClient) -> None:
    ok = json.dumps({"a": "b" * 50}).encode()
    response = await liveclient.query("POST", "/json", body=ok)
    assert response.status == 200
    big = json.dumps({"a": "b" * 100}).encode()
    response = await liveclient.query("POST", "/json", body=big)
    assert response.status == 413
    assert response.body == b"JSON body too large (limit: 100 bytes)"


async def test_form_fields_limit(liveclient: LiveClient) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await liveclient.query("POST", "/form", headers=headers, body=b"a=1&b=2&c=3&d=4&e=5")
    assert response.status == 200
    response = await liveclient.query(
        "POST", "/form", headers=headers, body=b"a=1&b=2&c=3&d=4&e=5&f=6"
    )
    assert response.status == 413
    assert response.body == b"Too many form fields (limit: 5)"


def multipart(*parts: tuple[str, bytes, str | None]) -> tuple[dict[str, str], bytes]:
    boundary = "XyZ"
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"\r\nContent-Type: text/plain'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body


async def test_multipart_within_limits(liveclient: LiveClient) -> None:
    headers, body = multipart(("a", b"x" * 50, None), ("f", b"y" * 100, "f.txt"))
    response = await liveclient.query("POST", "/files", headers=headers, body=body)
    assert response.status == 200
    assert json.loads(response.body) == {"form": {"a": ["x" * 50]}, "files": {"f": "y" * 100}}


@pytest.mark.parametrize(
    "parts,message",
    [
        ([("a", b"1", None)] * 4, b"Too many multipart parts (limit: 3)"),
        ([("a", b"x" * 51, None)], b"Multipart field too large (limit: 50 bytes)"),
        ([("f", b"y" * 101, "f.txt")], b"Multipart file too large (limit: 100 bytes)"),
    ],
    ids=["parts", "field", "file"],
)
async def test_multipart_limits(
    liveclient: LiveClient, parts: list[tuple[str, bytes, str | None]], message: bytes
) -> None:
    headers, body = multipart(*parts)
    response = await liveclient.query("POST", "/files", headers=headers, body=body)
    assert response.status == 413
    assert response.body == message


# Defaults are documented: keep them in sync with docs/hardening.md.


def test_defaults() -> None:
    defaults: dict[str, Any] = {
        "MAX_URL_SIZE": 8192,
        "MAX_HEADERS": 100,
        "MAX_HEADERS_SIZE": 16384,
        "MAX_BODY_SIZE": 1048576,
        "MAX_PIPELINED": 100,
        "KEEP_ALIVE_TIMEOUT": 5.0,
        "HEADERS_TIMEOUT": 10.0,
        "BODY_TIMEOUT": 10.0,
        "SEND_TIMEOUT": 30.0,
        "LINGER_TIMEOUT": 2.0,
        "MIN_BODY_RATE": 1024.0,
    }
    assert {name: getattr(HTTPProtocol, name) for name in defaults} == defaults
    assert (Request.MAX_JSON_SIZE, Request.MAX_FORM_FIELDS) == (1048576, 1000)
    assert (Multipart.MAX_PARTS, Multipart.MAX_FIELD_SIZE, Multipart.MAX_FILE_SIZE) == (
        100,
        1048576,
        64 * 1048576,
    )
    assert (Roll.HANDLER_TIMEOUT, Roll.SHUTDOWN_GRACE) == (None, 30.0)
    assert server.GRACE == Roll.SHUTDOWN_GRACE  # python -m roll --grace: one default
