"""The response: exact wire bytes, bodiless statuses, chunked bodies, json, redirect, cookies."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any, AsyncIterator

import pytest

from hardening_helpers import exchange

from roll import Request, Response, Roll
from roll.testing import Client, LiveClient


def wire(client: Client) -> bytes:
    assert client.protocol is not None
    data: bytes = client.protocol.transport.data
    return data


async def test_default_response(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        pass

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.OK
    assert resp.body == b""
    assert wire(client) == b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


async def test_status_without_body(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = 202

    await client.get("/test")
    assert wire(client) == b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


async def test_str_body(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "body"

    resp = await client.get("/test")
    assert resp.body == b"body"
    assert wire(client) == b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"


async def test_non_ascii_str_body_is_utf8(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "été"

    await client.get("/test")
    assert wire(client) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nété".encode()


async def test_bytes_body(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = b"\x00\xff"

    await client.get("/test")
    assert wire(client) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\x00\xff"


@pytest.mark.parametrize(("body", "expected"), [(1234, b"1234"), (12.5, b"12.5"), (None, b"None")])
async def test_other_body_goes_through_str(
    app: Roll, client: Client, body: Any, expected: bytes
) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = body

    resp = await client.get("/test")
    assert resp.body == expected
    assert wire(client) == b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (
        len(expected),
        expected,
    )


async def test_headers_sent_as_written(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.headers["X-Custom-Header"] = "value"
        response.headers["x-lower"] = 12  # type: ignore[assignment]
        response.body = "b"

    resp = await client.get("/test")
    assert wire(client) == (
        b"HTTP/1.1 200 OK\r\nX-Custom-Header: value\r\nx-lower: 12\r\n"
        b"Content-Length: 1\r\n\r\nb"
    )
    assert resp.headers["X-Custom-Header"] == "value"


async def test_explicit_content_length_is_kept(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.headers["Content-Length"] = "3"
        response.body = b"abc"

    await client.get("/test")
    assert wire(client) == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"


async def test_header_with_line_break_is_500(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.headers["X-Injected"] = "a\r\nSet-Cookie: evil=1"

    await client.get("/test")
    assert wire(client).startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"evil" not in wire(client)


async def test_head_has_no_body_and_no_content_length(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["HEAD"])
    async def handler(request: Request, response: Response) -> None:
        response.body = "a body that is not sent"

    resp = await client.head("/test")
    assert resp.status == HTTPStatus.OK
    assert resp.body == b""
    assert wire(client) == b"HTTP/1.1 200 OK\r\n\r\n"


async def test_head_with_chunked_body(app: Roll, client: Client) -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"never"

    @app.route("/test", methods=["HEAD"])
    async def handler(request: Request, response: Response) -> None:
        response.body = gen()

    await client.head("/test")
    assert wire(client) == b"HTTP/1.1 200 OK\r\n\r\n"


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (204, b"HTTP/1.1 204 No Content\r\n\r\n"),
        (304, b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        (100, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (103, b"HTTP/1.1 103 Early Hints\r\n\r\n"),
    ],
)
async def test_bodyless_statuses(app: Roll, client: Client, status: int, line: bytes) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = status
        response.body = "ignored"

    await client.get("/test")
    assert wire(client) == line


async def test_204_over_the_wire_keeps_the_connection_usable(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/empty")
    async def empty(request: Request, response: Response) -> None:
        response.status = 204
        response.body = "ignored"

    @app.route("/full")
    async def full(request: Request, response: Response) -> None:
        response.body = "full"

    data = await exchange(liveclient.port, b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\nGET /full HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data == (
        b"HTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfull"
    )


async def test_status_as_httpstatus_and_int(app: Roll) -> None:
    response = Response(app)
    assert response.status is HTTPStatus.OK
    response.status = 404
    assert response.status is HTTPStatus.NOT_FOUND
    response.status = HTTPStatus.CREATED
    assert response.status is HTTPStatus.CREATED


@pytest.mark.parametrize("bad", [999, 0, "200", None])
async def test_invalid_status_raises(app: Roll, bad: Any) -> None:
    response = Response(app)
    with pytest.raises(ValueError):
        response.status = bad
    assert response.status is HTTPStatus.OK


async def test_status_999_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = 999

    resp = await liveclient.query("GET", "/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.reason == "Internal Server Error"


# Chunked bodies.


async def test_chunked_async_generator(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        async def gen() -> AsyncIterator[bytes]:
            yield b"hello "
            yield b""  # empty items must not end the stream
            yield b"world, this is a longer chunk"

        response.body = gen()

    resp = await client.get("/test")
    assert wire(client) == (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"6\r\nhello \r\n"
        b"1d\r\nworld, this is a longer chunk\r\n"
        b"0\r\n\r\n"
    )
    assert resp.body == b"hello world, this is a longer chunk"


async def test_chunked_non_bytes_items(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        async def gen() -> AsyncIterator[Any]:
            for i in range(3):
                yield i
            yield "é"

        response.body = gen()

    await client.get("/test")
    assert wire(client) == (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\n0\r\n1\r\n1\r\n1\r\n2\r\n2\r\n\xc3\xa9\r\n0\r\n\r\n"
    )


async def test_chunked_custom_async_iterable(app: Roll, client: Client) -> None:
    class Stream:
        def __aiter__(self) -> AsyncIterator[bytes]:
            return self.gen()

        async def gen(self) -> AsyncIterator[bytes]:
            yield b"abc"

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = Stream()

    await client.get("/test")
    assert wire(client) == (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )


async def test_chunked_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        async def gen() -> AsyncIterator[bytes]:
            for i in range(5):
                await asyncio.sleep(0)
                yield b"%d" % i * 1000

        response.body = gen()

    resp = await liveclient.query("GET", "/test")
    assert resp.status == HTTPStatus.OK
    assert resp.chunks == [b"%d" % i * 1000 for i in range(5)]
    assert resp.body == b"".join(b"%d" % i * 1000 for i in range(5))


async def test_chunked_generator_failing_midway_cuts_the_connection(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        async def gen() -> AsyncIterator[bytes]:
            yield b"start"
            raise RuntimeError("stream failed")

        response.body = gen()

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(b"GET /test HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 5)  # EOF: the server closed
    writer.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nstart\r\n")
    assert not data.endswith(b"0\r\n\r\n")


# JSON.


async def test_json(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = 400
        response.json = {"key": "value", "list": [1, None], "status": HTTPStatus.NOT_FOUND}

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(resp.body) == {"key": "value", "list": [1, None], "status": 404}
    assert b'"status": 404' in resp.body


async def test_json_list(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.json = [{"some": "dict"}, {"another": "one"}]

    resp = await client.get("/test")
    assert resp.body == b'[{"some": "dict"}, {"another": "one"}]'


async def test_json_not_serialisable_is_500(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.json = {"x": object()}

    assert (await client.get("/test")).status == HTTPStatus.INTERNAL_SERVER_ERROR


def test_json_is_write_only(app: Roll) -> None:
    response = Response(app)
    with pytest.raises(AttributeError):
        response.json


# Redirect.


async def test_redirect(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.redirect = "https://example.org/", 302

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.FOUND
    assert resp.headers["Location"] == "https://example.org/"
    assert wire(client) == (
        b"HTTP/1.1 302 Found\r\nLocation: https://example.org/\r\nContent-Length: 0\r\n\r\n"
    )


def test_redirect_getter(app: Roll) -> None:
    response = Response(app)
    assert response.redirect is None
    response.redirect = ("/elsewhere", HTTPStatus.SEE_OTHER)
    assert response.redirect == ("/elsewhere", HTTPStatus.SEE_OTHER)


# Cookies.


async def test_cookie(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set("name", "value")

    await client.get("/test")
    assert wire(client) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nSet-Cookie: name=value; Path=/\r\n\r\n"
    )


async def test_cookies_with_all_attributes_in_order(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set(
            name="full",
            value="v",
            expires=datetime(2027, 1, 2, 3, 4, 5),
            max_age=600,
            domain="example.org",
            path="/p",
            secure=True,
            httponly=True,
            samesite="Strict",
        )
        response.cookies.set("other", "x", path="/o")

    await client.get("/test")
    assert wire(client) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
        b"Set-Cookie: full=v; Expires=Sat, 02 Jan 2027 03:04:05 GMT; Max-Age=600; "
        b"Domain=example.org; Path=/p; Secure; HttpOnly; SameSite=Strict\r\n"
        b"Set-Cookie: other=x; Path=/o\r\n\r\n"
    )


async def test_cookie_aware_datetime_is_converted_to_utc(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        paris = timezone(timedelta(hours=2))
        response.cookies.set("k", "v", expires=datetime(2027, 6, 1, 14, 0, 0, tzinfo=paris))
        response.cookies.set("u", "v", expires=datetime(2027, 6, 1, 14, 0, 0, tzinfo=timezone.utc))

    await client.get("/test")
    assert b"Set-Cookie: k=v; Expires=Tue, 01 Jun 2027 12:00:00 GMT; Path=/\r\n" in wire(client)
    assert b"Set-Cookie: u=v; Expires=Tue, 01 Jun 2027 14:00:00 GMT; Path=/\r\n" in wire(client)


async def test_cookie_value_is_quoted(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set("k", 'a b;"')

    await client.get("/test")
    assert b'Set-Cookie: k="a b\\073\\""; Path=/\r\n' in wire(client)


async def test_cookie_deletion(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set("kept", "1")
        response.cookies.set("gone", "2")
        del response.cookies["gone"]

    await client.get("/test")
    assert b"Set-Cookie: kept=1; Path=/\r\n" in wire(client)
    assert b"gone" not in wire(client)


async def test_cookies_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set("a", "1", httponly=True)
        response.cookies.set("b", "2", secure=True)

    data = await exchange(liveclient.port, b"GET /test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
        b"Set-Cookie: a=1; Path=/; HttpOnly\r\nSet-Cookie: b=2; Path=/; Secure\r\n\r\n"
    )


async def test_response_over_the_wire_is_exact(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = 201
        response.headers["X-Thing"] = "1"
        response.body = "created"

    data = await exchange(liveclient.port, b"GET /test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    # No Date, Server, Content-Type nor Connection header is added.
    assert data == b"HTTP/1.1 201 Created\r\nX-Thing: 1\r\nContent-Length: 7\r\n\r\ncreated"


@pytest.mark.parametrize(
    "name, value",
    [
        ("X-Evil", "a\r\nSet-Cookie: stolen=1"),
        ("X-Evil", "a\nb"),
        ("X-Evil", "a\rb"),
        ("X-Evil\r\nInjected", "1"),
    ],
)
async def test_line_break_in_a_header_never_reaches_the_wire(
    app: Roll, liveclient: LiveClient, name: str, value: str
) -> None:
    @app.route("/split")
    async def handler(request: Request, response: Response) -> None:
        response.headers[name] = value
        response.body = "secret"

    response = await liveclient.query("GET", "/split")
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Set-Cookie" not in response.headers
    assert "Injected" not in "".join(response.headers)
    assert b"secret" not in response.body
    # The connection stays usable for the next request.
    assert (await liveclient.query("GET", "/nowhere")).status == HTTPStatus.NOT_FOUND


async def test_line_break_in_a_cookie_is_refused(app: Roll, client: Client) -> None:
    @app.route("/cookie")
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set("name", "ok", path="/\r\nX-Injected: 1")

    await client.get("/cookie")
    assert client.protocol is not None
    wire = client.protocol.transport.data
    assert wire.startswith(b"HTTP/1.1 500 ")
    assert b"X-Injected" not in wire
