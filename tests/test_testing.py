"""The pytest plugin: the in-memory `client` and the real-socket `liveclient`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from http import HTTPStatus
from io import BytesIO
from typing import Any, AsyncIterator, Iterator

import pytest

from roll import HTTPProtocol, Request, Response, Roll
from roll.testing import Client, LiveClient, Transport, drive, read_responses


@pytest.fixture
def echo(app: Roll) -> Roll:
    """Register a route answering what it received."""

    @app.route("/echo", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"])
    async def handler(request: Request, response: Response) -> None:
        response.json = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body.decode("latin-1"),
            "content_type": request.content_type,
            "headers": request.headers,
        }

    return app


async def sent(client: Client, *args: Any, method: str = "post", **kwargs: Any) -> Any:
    response = await getattr(client, method)("/echo", *args, **kwargs)
    assert response.status == HTTPStatus.OK
    return json.loads(response.body)


# Transport.


def test_transport() -> None:
    transport = Transport()
    transport.write(b"a")
    transport.write(b"bc")
    assert transport.data == b"abc"
    assert not transport.is_closing()
    transport.pause_reading()
    transport.resume_reading()
    transport.close()
    assert transport.is_closing()


# The client: methods.


@pytest.mark.parametrize("method", ["get", "head", "options", "delete", "connect"])
async def test_methods_without_body(echo: Roll, client: Client, method: str) -> None:
    response = await getattr(client, method)("/echo")
    assert response.status == HTTPStatus.OK
    assert client.protocol is not None
    assert client.protocol.request.method == method.upper()


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_methods_with_body(echo: Roll, client: Client, method: str) -> None:
    received = await sent(client, b"raw", method=method)
    assert received["method"] == method.upper()
    assert received["body"] == "raw"


async def test_request_general_form(echo: Roll, client: Client) -> None:
    response = await client.request(
        "/echo", method="PUT", body=b"x=1", headers={"X-Foo": "bar"},
        content_type="application/x-www-form-urlencoded",
    )
    received = json.loads(response.body)
    assert received["method"] == "PUT"
    assert received["body"] == "x=1"
    assert received["headers"]["X-FOO"] == "bar"
    assert received["content_type"] == "application/x-www-form-urlencoded"


# The client: body encoding.


async def test_str_and_bytes_bodies_are_sent_as_is(echo: Roll, client: Client) -> None:
    assert (await sent(client, "blah"))["body"] == "blah"
    assert (await sent(client, b"blah"))["body"] == "blah"
    assert (await sent(client, data="as data"))["body"] == "as data"
    assert (await sent(client, body=b"as body"))["body"] == "as body"
    assert (await sent(client, "é"))["body"] == "é".encode().decode("latin-1")


async def test_dict_is_json_by_default(echo: Roll, client: Client) -> None:
    assert client.content_type == "application/json; charset=utf-8"
    received = await sent(client, {"key": "value"})
    assert received["body"] == '{"key": "value"}'
    assert received["content_type"] == "application/json; charset=utf-8"
    received = await sent(client, [1, 2])
    assert received["body"] == "[1, 2]"


async def test_empty_dict_sends_no_body(echo: Roll, client: Client) -> None:
    received = await sent(client, {})
    assert received["body"] == ""
    assert received["headers"]["CONTENT-LENGTH"] == "0"


async def test_urlencoded(echo: Roll, client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    received = await sent(client, {"key": "value", "é": "à b"})
    assert received["body"] == "key=value&%C3%A9=%C3%A0+b"
    assert received["content_type"] == "application/x-www-form-urlencoded"
    received = await sent(client, [("k", "1"), ("k", "2")])
    assert received["body"] == "k=1&k=2"


async def test_content_type_keyword(echo: Roll, client: Client) -> None:
    received = await sent(client, {"a": "b"}, content_type="application/x-www-form-urlencoded")
    assert received["body"] == "a=b"
    assert client.content_type == "application/json; charset=utf-8"


async def test_multipart_with_files(app: Roll, client: Client) -> None:
    @app.route("/upload", methods=["POST"])
    async def upload(request: Request, response: Response) -> None:
        response.json = {
            "form": request.form,
            "content_type": request.content_type.split(";")[0],
            "files": {
                name: [(f.filename, f.content_type.decode(), f.read().decode()) for f in files]
                for name, files in request.files.items()
            },
        }

    client.content_type = "multipart/form-data"
    response = await client.post(
        "/upload",
        data={"field": "value"},
        files={
            "str": ("text", "a.txt"),
            "bytes": (b"raw", "b.bin"),
            "fileobj": (BytesIO(b"from file"), "c.png"),
        },
    )
    assert json.loads(response.body) == {
        "form": {"field": ["value"]},
        "content_type": "multipart/form-data",
        "files": {
            "str": [["a.txt", "text/plain", "text"]],
            "bytes": [["b.bin", "application/octet-stream", "raw"]],
            "fileobj": [["c.png", "image/png", "from file"]],
        },
    }


async def test_files_imply_multipart(app: Roll, client: Client) -> None:
    @app.route("/upload", methods=["POST"])
    async def upload(request: Request, response: Response) -> None:
        response.body = request.files.get("f").read()

    response = await client.post("/upload", files={"f": ("content", "f.txt")})
    assert response.body == b"content"


async def test_multipart_without_files(app: Roll, client: Client) -> None:
    @app.route("/form", methods=["POST"])
    async def form(request: Request, response: Response) -> None:
        response.json = request.form

    client.content_type = "multipart/form-data"
    response = await client.post("/form", {"a": "1", "b": "é"})
    assert json.loads(response.body) == {"a": ["1"], "b": ["é"]}


# The client: paths, responses, protocol.


async def test_non_ascii_path_and_query(echo: Roll, client: Client) -> None:
    @echo.route("/café")
    async def cafe(request: Request, response: Response) -> None:
        response.json = [request.path, request.query]

    response = await client.get("/café?q=été&x=a b")
    assert json.loads(response.body) == ["/café", {"q": ["été"], "x": ["a b"]}]
    assert client.protocol is not None
    assert client.protocol.request.url == b"/caf%C3%A9?q=%C3%A9t%C3%A9&x=a%20b"


async def test_response_attributes(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = 201
        response.headers["X-Thing"] = "value"
        response.body = "text"

    response = await client.get("/test")
    assert response.status is HTTPStatus.CREATED
    assert response.body == b"text"
    assert response.headers == {"X-Thing": "value", "Content-Length": "4"}


async def two_chunks(request: Request, response: Response) -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    response.body = gen()


async def test_streamed_response_body_is_read_back(app: Roll, client: Client) -> None:
    app.route("/stream")(two_chunks)
    assert (await client.get("/stream")).body == b"onetwo"


async def test_each_request_has_a_fresh_protocol(app: Roll, client: Client) -> None:
    @app.route("/{n}")
    async def handler(request: Request, response: Response, n: str) -> None:
        response.body = n

    await client.get("/1")
    first = client.protocol
    await client.get("/22")
    assert client.protocol is not first
    assert client.protocol is not None
    assert client.protocol.transport.data == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n22"


async def test_headers_keyword(echo: Roll, client: Client) -> None:
    received = await sent(client, method="get", headers={"Accept": "text/html", "Cookie": "a=b"})
    assert received["headers"]["ACCEPT"] == "text/html"
    assert received["headers"]["COOKIE"] == "a=b"


# Fixture life cycle.


@pytest.fixture
async def lifecycle(app: Roll) -> AsyncIterator[list[Any]]:
    """Set up before `client`/`liveclient`, torn down after them."""
    calls: list[Any] = []

    @app.listen("startup")
    async def startup() -> None:
        calls.append(("startup", asyncio.get_running_loop()))

    @app.listen("shutdown")
    async def shutdown() -> None:
        calls.append(("shutdown", asyncio.get_running_loop()))

    yield calls
    assert [name for name, _ in calls] == ["startup", "shutdown"]


async def test_client_runs_startup_and_shutdown(lifecycle: list[Any], client: Client) -> None:
    assert lifecycle == [("startup", asyncio.get_running_loop())]


async def test_liveclient_runs_startup_and_shutdown(
    lifecycle: list[Any], liveclient: LiveClient
) -> None:
    assert lifecycle == [("startup", asyncio.get_running_loop())]


@pytest.fixture
async def closed_port() -> AsyncIterator[list[int]]:
    """After `liveclient`'s teardown, its server refuses connections."""
    ports: list[int] = []
    yield ports
    assert ports
    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", ports[0])
        writer.close()


async def test_liveclient_server_closed_at_teardown(
    closed_port: list[int], liveclient: LiveClient
) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)  # open now
    writer.close()
    closed_port.append(liveclient.port)


class TestSyncAutouseFixture:
    seen: list[Client] = []

    @pytest.fixture(autouse=True)
    def use_client(self, client: Client) -> None:
        self.seen.append(client)

    async def test_client_from_sync_fixture(self, app: Roll, client: Client) -> None:
        @app.route("/test")
        async def handler(request: Request, response: Response) -> None:
            response.body = "sync"

        assert self.seen[-1] is client
        assert (await client.get("/test")).body == b"sync"


# The live client.


async def test_liveclient_attributes(app: Roll, liveclient: LiveClient) -> None:
    assert liveclient.app is app
    assert liveclient.port > 0
    assert liveclient.url == f"http://127.0.0.1:{liveclient.port}"
    assert liveclient.wsl == f"ws://127.0.0.1:{liveclient.port}"


async def test_liveclient_query(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.status = 202
        response.body = request.headers["X-IN"] + ":" + request.body.decode()

    response = await liveclient.query("POST", "/test", headers={"X-In": "hdr"}, body=b"data")
    assert response.status is HTTPStatus.ACCEPTED
    assert response.reason == "Accepted"
    assert response.body == b"hdr:data"
    assert response.chunks is None


async def test_liveclient_str_body(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.body

    assert (await liveclient.query("POST", "/test", body="é")).body == "é".encode()


async def test_liveclient_chunked_request_body(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.json = [request.headers.get("TRANSFER-ENCODING"), request.body.decode()]

    def gen() -> Iterator[Any]:
        yield b"bytes,"
        yield "str,"
        yield 42

    response = await liveclient.query("POST", "/test", body=gen())
    assert json.loads(response.body) == ["chunked", "bytes,str,42"]
    response = await liveclient.query("POST", "/test", body=[b"a", b"b"])
    assert json.loads(response.body) == ["chunked", "ab"]


async def test_liveclient_chunks(app: Roll, liveclient: LiveClient) -> None:
    app.route("/test")(two_chunks)
    response = await liveclient.query("GET", "/test")
    assert response.chunks == [b"one", b"two"]
    assert response.body == b"onetwo"


async def test_liveclient_non_ascii_uri(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/café")
    async def handler(request: Request, response: Response) -> None:
        response.body = request.query.get("q")

    response = await liveclient.query("GET", "/café?q=été")
    assert response.body == "été".encode()


async def test_liveclient_does_not_block_the_loop(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        await asyncio.sleep(0.05)
        response.body = "slow"

    results = await asyncio.gather(*(liveclient.query("GET", "/slow") for _ in range(5)))
    assert [r.body for r in results] == [b"slow"] * 5


async def test_liveclient_101_returns_after_headers(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/switch")
    async def switch(request: Request, response: Response) -> None:
        response.status = 101
        response.headers["Upgrade"] = "something"

    response = await asyncio.wait_for(
        liveclient.query("GET", "/switch", headers={"Connection": "keep-alive"}), 2
    )
    assert response.status is HTTPStatus.SWITCHING_PROTOCOLS
    assert response.reason == "Switching Protocols"


async def test_liveclient_query_on_a_connection_closed_without_answer(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.listen("headers")
    async def drop(request: Request, response: Response) -> None:
        assert isinstance(request.protocol, HTTPProtocol)
        request.protocol.transport.abort()

    with pytest.raises(ConnectionError):
        await asyncio.wait_for(liveclient.query("GET", "/test"), 2)


# The in-memory driver and the response reader.


async def test_drive_feeds_reads_and_waits(app: Roll) -> None:
    @app.route("/echo", methods=["POST"])
    async def echo(request: Request, response: Response) -> None:
        response.body = request.body

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def parts() -> AsyncIterator[bytes]:
            yield b"a"
            yield b"bc"

        response.body = parts()

    transport = await drive(
        app,
        [
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe",
            b"llo",
            b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
        ],
    )
    first, second = read_responses(transport.data)
    assert (first.status, first.body, first.headers["Content-Length"]) == (200, b"hello", "5")
    assert (second.status, second.body, second.chunks) == (200, b"abc", [b"a", b"bc"])


def test_read_responses_keeps_the_complete_ones() -> None:
    raw = (
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ncut"
    )
    [response] = read_responses(raw)
    assert (response.status, response.reason, response.body) == (404, "Not Found", b"no!")
    assert read_responses(b"garbage") == []


def test_driver_and_reader_import_without_pytest() -> None:
    # bench.micro drives the core with them in a venv that has no pytest.
    code = (
        "import sys; sys.modules['pytest'] = sys.modules['pytest_asyncio'] = None\n"
        "from roll.testing import drive, open_protocol, read_responses\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
