"""The request: head attributes, query, cookies, form/files/json, body loading and streaming."""

from __future__ import annotations

import asyncio
import json
import time
from http import HTTPStatus
from io import BytesIO
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardening_helpers import add_common_routes

from roll import Files, Form, HttpError, Request, Response, Roll
from roll.testing import Client, LiveClient, open_protocol


def fed_protocol(app: Roll, data: bytes) -> Any:
    """A protocol on a fake transport that received `data`."""
    protocol = open_protocol(app)
    protocol.data_received(data)
    return protocol


def echo(app: Roll, part: str) -> None:
    """`POST /test` answers with the request's `part` (json, form or files) as JSON."""

    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.json = getattr(request, part)


# Request without protocol or app.


def test_request_without_app_or_protocol() -> None:
    request = Request(None, None)
    assert request.method is None
    assert request.path == ""
    assert request.headers == {}
    assert request.query == {}
    assert request.cookies == {}
    assert request.content_type == ""
    assert request.host == ""
    assert request.referrer == ""
    assert request.referer == ""
    assert request.origin == ""
    assert not request.route.payload
    with pytest.raises(HttpError):
        request.body


def test_request_is_a_mutable_mapping_for_user_data() -> None:
    request = Request(None, None)
    request["session"] = {"user": "me"}
    assert "session" in request
    assert request["session"] == {"user": "me"}
    del request["session"]
    assert "session" not in request


def test_request_does_not_accept_arbitrary_attributes() -> None:
    request = Request(None, None)
    with pytest.raises(AttributeError):
        request.whatever = 1  # type: ignore[attr-defined]


def test_requests_compare_by_identity() -> None:
    one, two = Request(None, None), Request(None, None)
    assert one != two
    assert one == one
    assert len({one, two}) == 2


def test_body_is_assignable() -> None:
    request = Request(None, None)
    request.body = b"set"
    assert request.body == b"set"


# Head attributes, filled synchronously by the protocol.


async def test_head_attributes(app: Roll) -> None:
    protocol = fed_protocol(
        app,
        b"GET /foo%2Bbar/caf%C3%A9?q=1&q=2&empty=&k=%C3%A9t%C3%A9 HTTP/1.1\r\n"
        b"Host: example.org\r\n"
        b"Accept-Language: fr\r\n"
        b"Referer: http://example.org/previous\r\n"
        b"Origin: http://example.org\r\n"
        b"Content-Type: text/plain\r\n"
        b"Cookie: one=1; two=2\r\n"
        b"X-Multi: a\r\n"
        b"X-Multi: b\r\n"
        b"\r\n",
    )
    request: Request = protocol.request
    assert request.method == "GET"
    assert request.path == "/foo+bar/café"
    assert request.url == b"/foo%2Bbar/caf%C3%A9?q=1&q=2&empty=&k=%C3%A9t%C3%A9"
    assert request.query_string == "q=1&q=2&empty=&k=%C3%A9t%C3%A9"
    assert request.query == {"q": ["1", "2"], "empty": [""], "k": ["été"]}
    assert request.query.get("q") == "1"
    assert request.headers["ACCEPT-LANGUAGE"] == "fr"
    assert request.headers.get("accept-language") is None
    assert request.headers["X-MULTI"] == "a, b"
    assert request.host == "example.org"
    assert request.referrer == "http://example.org/previous"
    assert request.referer == "http://example.org/previous"
    assert request.origin == "http://example.org"
    assert request.content_type == "text/plain"
    assert request.cookies == {"one": "1", "two": "2"}
    assert protocol.task is not None
    await protocol.task
    assert protocol.response.status == HTTPStatus.NOT_FOUND


async def test_method_is_uppercase(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["DELETE"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.method

    assert (await client.delete("/test")).body == b"DELETE"


async def test_absent_headers_are_empty_strings(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.json = [request.referrer, request.content_type, request.origin]

    assert json.loads((await client.get("/test")).body) == ["", "", ""]


async def test_cookies(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        assert request.cookies.get("missing") is None
        with pytest.raises(KeyError):
            request.cookies["missing"]
        response.json = dict(request.cookies)

    resp = await client.get("/test", headers={"Cookie": 'key=value; other="quoted value"'})
    assert json.loads(resp.body) == {"key": "value", "other": "quoted value"}


async def test_cookies_in_several_headers(app: Roll) -> None:
    protocol = fed_protocol(
        app, b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2; c=3\r\n\r\n"
    )
    assert protocol.request.cookies == {"a": "1", "b": "2", "c": "3"}
    await protocol.task


async def test_query_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.json = request.query

    resp = await liveclient.query("GET", "/test?a=1&a=2&b=&c=%C3%A9")
    assert json.loads(resp.body) == {"a": ["1", "2"], "b": [""], "c": ["é"]}


async def test_query_uses_the_app_query_class(client: Client) -> None:
    from roll.multidict import Query

    class MyQuery(Query):
        pass

    class MyRoll(Roll):
        Query = MyQuery

    app = MyRoll()

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = type(request.query).__name__

    assert (await Client(app).get("/test?x=1")).body == b"MyQuery"


# Body.


async def test_body(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST", "GET"])
    async def handler(request: Request, response: Response) -> None:
        response.body = repr(request.body)

    assert (await client.post("/test", body=b"raw body")).body == b"b'raw body'"
    assert (await client.get("/test")).body == b"b''"


async def test_body_is_loaded_before_the_handler_with_a_live_client(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    body = b"x" * 1_000_000
    resp = await liveclient.query("POST", "/test", body=body)
    assert resp.status == HTTPStatus.OK
    assert resp.body == body


async def test_chunked_request_body(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    def chunks() -> Iterator[bytes]:
        yield b"first-"
        yield b"second-"
        yield b"third"

    resp = await liveclient.query("POST", "/test", body=chunks())
    assert resp.status == HTTPStatus.OK
    assert resp.body == b"first-second-third"


async def test_chunked_request_body_by_hand(app: Roll) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    protocol = fed_protocol(
        app,
        b"POST /test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n",
    )
    protocol.data_received(b"6\r\n world\r\n")
    protocol.data_received(b"0\r\n\r\n")
    await protocol.task
    assert protocol.transport.data == b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"


async def test_body_assembled_in_linear_time(app: Roll) -> None:
    @app.route("/test", methods=["POST"], max_body_size=None)  # over the default limit
    async def handler(request: Request, response: Response) -> None:
        response.body = str(len(request.body))

    count, size = 40_000, 100  # 4 MB in tiny pieces: quadratic joins take many seconds
    protocol = fed_protocol(
        app, b"POST /test HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (count * size)
    )
    piece = b"x" * size
    start = time.perf_counter()
    for _ in range(count):
        protocol.data_received(piece)
    await protocol.task
    assert time.perf_counter() - start < 2
    assert protocol.response.body == str(count * size).encode()


async def test_body_not_available_in_headers_hook(app: Roll, client: Client) -> None:
    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> None:
        with pytest.raises(HttpError):
            request.body
        response.headers["X-Read"] = (await request.read()).decode()
        assert request.body == b"data"

    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    resp = await client.post("/test", body=b"data")
    assert resp.headers["X-Read"] == "data"
    assert resp.body == b"data"


# Lazy body.


async def test_lazy_body(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        with pytest.raises(HttpError):
            request.body
        await request.load_body()
        await request.load_body()  # idempotent
        assert request.body == b"lazy"
        assert await request.read() == b"lazy"
        response.body = request.body

    assert (await client.post("/test", body=b"lazy")).body == b"lazy"


async def test_lazy_body_read(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        response.body = await request.read()

    assert (await client.post("/test", body=b"read me")).body == b"read me"


async def test_lazy_body_unread_gives_500_on_access(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    resp = await client.post("/test", body=b"never loaded")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR


async def test_async_iteration_yields_chunks_as_received(app: Roll) -> None:
    received: list[bytes] = []

    @app.route("/test", methods=["POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        async for chunk in request:
            received.append(chunk)
        response.body = b"".join(received)

    protocol = fed_protocol(app, b"POST /test HTTP/1.1\r\nHost: x\r\nContent-Length: 4010\r\n\r\n")
    protocol.data_received(b"a" * 4000)
    await asyncio.sleep(0)
    protocol.data_received(b"b" * 5)
    protocol.data_received(b"c" * 5)
    await protocol.task
    assert received == [b"a" * 4000, b"b" * 5, b"c" * 5]
    assert protocol.response.body == b"a" * 4000 + b"bbbbbccccc"


async def test_async_iteration_of_a_loaded_body(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.json = [chunk.decode() async for chunk in request]

    assert json.loads((await client.post("/test", body=b"x" * 10)).body) == ["x" * 10]


async def test_async_iteration_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    add_common_routes(app)  # /lazy counts the bytes it reads in chunks

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"y" * 10_000

    resp = await liveclient.query("POST", "/lazy", body=chunks())
    assert resp.body == b"got 500000"
    resp = await liveclient.query("POST", "/lazy", body=b"z" * 123_456)
    assert resp.body == b"got 123456"


# JSON.


async def test_json(app: Roll, client: Client) -> None:
    echo(app, "json")

    resp = await client.post("/test", {"key": "value", "list": [1, 2.5, None, True]})
    assert json.loads(resp.body) == {"key": "value", "list": [1, 2.5, None, True]}


async def test_json_is_cached(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        first = request.json
        request.body = b'{"other": 1}'
        assert request.json is first
        response.json = request.json

    assert json.loads((await client.post("/test", {"a": 1})).body) == {"a": 1}


async def test_json_null_is_cached(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        assert request.json is None
        request.body = b"not json at all"
        response.json = request.json

    resp = await client.post("/test", body=b"null")
    assert resp.status == HTTPStatus.OK
    assert resp.body == b"null"


@pytest.mark.parametrize("body", [b"{invalid", b"", b"\xff\xfe", b"[1, 2"])
async def test_invalid_json_is_400(app: Roll, client: Client, body: bytes) -> None:
    echo(app, "json")

    resp = await client.post("/test", body=body)
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert resp.body == b"Unparsable JSON body"


def test_invalid_json_error() -> None:
    request = Request(None, None)
    request.body = b"{"
    with pytest.raises(HttpError) as info:
        request.json
    assert info.value.status == HTTPStatus.BAD_REQUEST
    assert info.value.message == "Unparsable JSON body"


# Form and files.


async def test_urlencoded_form(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        assert request.files == {}
        response.json = request.form

    client.content_type = "application/x-www-form-urlencoded"
    resp = await client.post("/test", [("k", "v1"), ("k", "v2"), ("é", "ü"), ("blank", "")])
    assert json.loads(resp.body) == {"k": ["v1", "v2"], "é": ["ü"], "blank": [""]}


async def test_form_casting(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        form = request.form
        response.json = [form.int("n"), form.float("f"), form.bool("b"), form.get("s")]

    client.content_type = "application/x-www-form-urlencoded"
    resp = await client.post("/test", {"n": "3", "f": "1.5", "b": "on", "s": "text"})
    assert json.loads(resp.body) == [3, 1.5, True, "text"]


@pytest.mark.parametrize("body", [b"no-equal-sign", b"a=1&&b", b"\xff=\xfe"])
async def test_unparsable_urlencoded_body(app: Roll, client: Client, body: bytes) -> None:
    echo(app, "form")

    resp = await client.post(
        "/test", body=body, content_type="application/x-www-form-urlencoded"
    )
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert resp.body == b"Unparsable urlencoded body"


async def test_form_of_a_non_form_body_is_empty(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.json = [request.form, request.files]

    resp = await client.post("/test", body=b'{"json": true}')
    assert json.loads(resp.body) == [{}, {}]


async def test_multipart_form_and_files(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        upload = request.files.get("upload")
        other = request.files.get("other")
        response.json = {
            "form": request.form,
            "upload": [upload.filename, upload.content_type.decode(), upload.read().decode()],
            "other": [other.filename, other.content_type.decode(), other.read().decode()],
        }

    client.content_type = "multipart/form-data"
    resp = await client.post(
        "/test",
        {"field": "value", "é": "à"},
        files={"upload": ("content", "file.txt"), "other": (BytesIO(b"\x00bin"), "a.png")},
    )
    assert json.loads(resp.body) == {
        "form": {"field": ["value"], "é": ["à"]},
        "upload": ["file.txt", "text/plain", "content"],
        "other": ["a.png", "image/png", "\x00bin"],
    }


MULTIPART_BODY = (
    b"--foofoo\r\n"
    b'Content-Disposition: form-data; name="text1"\r\n\r\n'
    b"abc\r\n"
    b"--foofoo\r\n"
    b"Content-Disposition: form-data; name=baz; filename*=iso-8859-1''baz-%E9.png\r\n"
    b"Content-Type: image/png\r\n\r\n"
    b"\x89PNG data\r\n"
    b"--foofoo\r\n"
    b"Content-Disposition: form-data; name=text2\r\n\r\n"
    b"unquoted name\r\n"
    b"--foofoo\r\n"
    b"Content-Disposition: form-data; name=\"utf\"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n"
    b"Content-Type: text/plain\r\n\r\n"
    b"summer\r\n"
    b"--foofoo--\r\n"
)


async def test_raw_multipart(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        baz = request.files.get("baz")
        utf = request.files.get("utf")
        assert isinstance(baz.content_type, bytes)
        response.json = {
            "form": request.form,
            "baz": [baz.filename, baz.content_type.decode(), baz.read().decode("latin-1")],
            "utf": [utf.filename, utf.content_type.decode(), utf.read().decode()],
        }

    resp = await client.post(
        "/test", body=MULTIPART_BODY, content_type="multipart/form-data; boundary=foofoo"
    )
    assert resp.status == HTTPStatus.OK
    assert json.loads(resp.body) == {
        "form": {"text1": ["abc"], "text2": ["unquoted name"]},
        "baz": ["baz-é.png", "image/png", "\x89PNG data"],
        "utf": ["été.txt", "text/plain", "summer"],
    }


async def test_raw_multipart_over_the_wire_in_chunks(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.json = [request.form, request.files.get("baz").filename]

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(MULTIPART_BODY), 7):
            yield MULTIPART_BODY[i : i + 7]

    resp = await liveclient.query(
        "POST",
        "/test",
        headers={"Content-Type": "multipart/form-data; boundary=foofoo"},
        body=chunks(),
    )
    assert json.loads(resp.body) == [{"text1": ["abc"], "text2": ["unquoted name"]}, "baz-é.png"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=foofoo", b"garbage"),
        ("multipart/form-data", MULTIPART_BODY),  # no boundary
        ("multipart/form-data; boundary=foofoo", MULTIPART_BODY[:-10]),  # truncated
        (
            "multipart/form-data; boundary=foofoo",
            b"--foofoo\r\nContent-Disposition: form-data; name=x; filename*=bogus''%E9\r\n\r\n"
            b"x\r\n--foofoo--\r\n",
        ),
    ],
)
async def test_unparsable_multipart_body(
    app: Roll, client: Client, content_type: str, body: bytes
) -> None:
    echo(app, "files")

    resp = await client.post("/test", body=body, content_type=content_type)
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert resp.body == b"Unparsable multipart body"


async def test_unparsable_multipart_on_form_access(app: Roll, client: Client) -> None:
    echo(app, "form")

    resp = await client.post(
        "/test", body=b"garbage", content_type="multipart/form-data; boundary=x"
    )
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert resp.body == b"Unparsable multipart body"


async def test_form_error_can_be_caught(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        try:
            request.form
        except HttpError as error:
            response.body = f"caught {error.status.value} {error.message}"

    resp = await client.post(
        "/test", body=b"nope", content_type="application/x-www-form-urlencoded"
    )
    assert resp.status == HTTPStatus.OK
    assert resp.body == b"caught 400 Unparsable urlencoded body"


@pytest.mark.parametrize(
    "body,message",
    [(b"nope", "Unparsable urlencoded body"), (b"a=1&b=2&c=3", "Too many form fields (limit: 2)")],
)
async def test_form_error_raised_again_on_each_access(
    app: Roll, client: Client, monkeypatch: pytest.MonkeyPatch, body: bytes, message: str
) -> None:
    monkeypatch.setattr(Request, "MAX_FORM_FIELDS", 2)

    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        messages = []
        for _ in range(2):
            try:
                request.form
            except HttpError as error:
                messages.append(error.message)
        response.json = messages

    resp = await client.post("/test", body=body, content_type="application/x-www-form-urlencoded")
    assert json.loads(resp.body) == [message, message]  # not an empty form the second time


async def test_request_hook_can_store_custom_data(app: Roll, client: Client) -> None:
    @app.listen("request")
    async def on_request(request: Request, response: Response) -> None:
        request["user"] = "alice"

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = request["user"]

    assert (await client.get("/test")).body == b"alice"


async def test_async_iteration_of_an_empty_body_yields_nothing(app: Roll, client: Client) -> None:
    @app.route("/loaded", methods=["POST"])
    async def loaded(request: Request, response: Response) -> None:
        response.json = [chunk.decode() async for chunk in request]

    @app.route("/lazy", methods=["POST"], lazy_body=True)
    async def lazy(request: Request, response: Response) -> None:
        response.json = [chunk.decode() async for chunk in request]

    assert (await client.post("/loaded", body=b"")).body == b"[]"
    assert (await client.post("/lazy", body=b"")).body == b"[]"


# The streaming multipart parser itself.


def test_multipart_parser_fed_byte_by_byte() -> None:
    from roll import Multipart

    parser = Multipart()
    form, files = parser.initialize("multipart/form-data; boundary=foofoo")
    assert isinstance(form, Form) and isinstance(files, Files)
    for i in range(len(MULTIPART_BODY)):
        parser.feed_data(MULTIPART_BODY[i : i + 1])
    assert form == {"text1": ["abc"], "text2": ["unquoted name"]}
    baz = files.get("baz")
    assert baz.filename == "baz-é.png"
    assert baz.content_type == b"image/png"
    assert baz.params["name"] == "baz"
    with baz:
        assert baz.read() == b"\x89PNG data"
    files.get("utf").close()


def test_multipart_parser_uses_the_app_classes() -> None:
    from roll import Multipart

    class MyForm(Form):
        pass

    class MyFiles(Files):
        pass

    class MyRoll(Roll):
        Form = MyForm
        Files = MyFiles

    form, files = Multipart(MyRoll()).initialize("multipart/form-data; boundary=x")
    assert type(form) is MyForm
    assert type(files) is MyFiles


def test_multipart_large_file_is_spooled() -> None:
    from roll import Multipart

    content = bytes(range(256)) * 8192  # 2 MiB
    body = (
        b"--b\r\nContent-Disposition: form-data; name=f; filename=big.bin\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--b--\r\n"
    )
    parser = Multipart()
    _, files = parser.initialize("multipart/form-data; boundary=b")
    for i in range(0, len(body), 65536):
        parser.feed_data(body[i : i + 65536])
    with files.get("f") as upload:
        assert upload._rolled  # on disk, not in memory
        assert upload.read() == content


def test_multipart_parser_without_boundary() -> None:
    from roll import Multipart

    with pytest.raises(HttpError) as info:
        Multipart().initialize("multipart/form-data")
    assert info.value.status == HTTPStatus.BAD_REQUEST
    assert info.value.message == "Unparsable multipart body"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("Application/X-WWW-Form-Urlencoded", b"a=1"),
        ("MULTIPART/FORM-DATA; boundary=XyZ", b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--\r\n"),
    ],
)
async def test_form_content_type_is_case_insensitive(
    app: Roll, client: Client, content_type: str, body: bytes
) -> None:
    echo(app, "form")

    resp = await client.post("/test", body=body, content_type=content_type)
    assert json.loads(resp.body) == {"a": ["1"]}


async def test_uploaded_files_are_closed_once_answered(app: Roll, liveclient: LiveClient) -> None:
    kept: list[Any] = []

    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        kept.extend(request.files.list("baz") + request.files.list("utf"))
        assert not any(upload.closed for upload in kept)
        response.body = kept[0].read()

    resp = await liveclient.query(
        "POST",
        "/test",
        headers={"Content-Type": "multipart/form-data; boundary=foofoo"},
        body=MULTIPART_BODY,
    )
    assert resp.body == b"\x89PNG data"
    assert len(kept) == 2
    assert all(upload.closed for upload in kept)


def test_form_files_and_json_without_an_app() -> None:
    request = Request(None, None)
    request.headers["CONTENT-TYPE"] = "application/x-www-form-urlencoded"
    request.body = b"a=1&a=2&b="
    assert request.form == {"a": ["1", "2"], "b": [""]}
    assert type(request.form) is Form
    assert request.files == {}
    other = Request(None, None)
    other.headers["CONTENT-TYPE"] = "multipart/form-data; boundary=foofoo"
    other.body = MULTIPART_BODY
    assert other.form.get("text1") == "abc"
    other.close_files()
    assert other.files.get("baz").closed
    third = Request(None, None)
    third.body = b'{"k": [1]}'
    assert third.json == {"k": [1]}


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(MULTIPART_BODY) - 1), max_size=15))
def test_multipart_any_split_gives_the_same_result(cuts: list[int]) -> None:
    from roll import Multipart

    parser = Multipart()
    form, files = parser.initialize("multipart/form-data; boundary=foofoo")
    bounds = [0, *sorted(set(cuts)), len(MULTIPART_BODY)]
    for start, end in zip(bounds, bounds[1:]):
        parser.feed_data(MULTIPART_BODY[start:end])
    parser.close()
    assert form == {"text1": ["abc"], "text2": ["unquoted name"]}
    with files.get("baz") as baz, files.get("utf") as utf:
        assert (baz.filename, baz.content_type, baz.read()) == ("baz-é.png", b"image/png", b"\x89PNG data")
        assert (utf.filename, utf.content_type, utf.read()) == ("été.txt", b"text/plain", b"summer")


TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(TEXT, st.text(st.characters(codec="utf-8"), max_size=8)), max_size=6))
def test_query_and_urlencoded_form_round_trip(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import urlencode

    expected: dict[str, list[str]] = {}
    for key, value in pairs:
        expected.setdefault(key, []).append(value)
    encoded = urlencode(pairs)

    async def run() -> tuple[Any, Any]:
        app = Roll()

        @app.route("/", methods=["POST"])
        async def handler(request: Request, response: Response) -> None:
            pass

        protocol = fed_protocol(
            app,
            b"POST /?%b HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%b" % (encoded.encode(), len(encoded), encoded.encode()),
        )
        await protocol.task
        return protocol.request.query, protocol.request.form

    query, form = asyncio.run(run())
    assert query == expected
    assert form == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab=&%+ é1", max_size=6),
            st.text(alphabet="ab=&%+ é1", max_size=6),
        ),
        max_size=6,
    )
)
def test_query_parsing_matches_parse_qs(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import parse_qs

    from roll.request import parse_query

    query_string = "&".join(f"{key}={value}" if value else key for key, value in pairs)
    try:
        expected = parse_qs(query_string, keep_blank_values=True)
    except UnicodeDecodeError:  # pragma: no cover - parse_qs replaces, never raises
        return
    assert parse_query(query_string) == expected


@pytest.mark.parametrize(
    "body, expected",
    [
        ('{"key": "value"}'.encode("utf-16"), {"key": "value"}),
        (b"\xef\xbb\xbf" + b'{"key": "value"}', {"key": "value"}),
        (b'"\\ud800"', "\ud800"),
    ],
)
async def test_json_accepts_what_json_loads_accepts(
    app: Roll, client: Client, body: bytes, expected: Any
) -> None:
    @app.route("/json", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = repr(request.json)

    response = await client.post("/json", body=body)
    assert response.status == HTTPStatus.OK
    assert response.body == repr(expected).encode()
