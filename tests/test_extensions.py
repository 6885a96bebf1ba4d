"""The built-in extensions, mostly over a real socket (`liveclient`)."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from roll import HttpError, Request, Response, Roll, WSProtocol, extensions
from roll.testing import Client, LiveClient

# cors


async def test_cors_defaults(app: Roll, liveclient: LiveClient) -> None:
    extensions.cors(app)

    @app.route("/test")
    async def get(request: Request, response: Response) -> None:
        response.body = "test"

    response = await liveclient.query("GET", "/test")
    assert response.status == HTTPStatus.OK
    assert response.body == b"test"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_cors_applies_to_404(app: Roll, liveclient: LiveClient) -> None:
    extensions.cors(app, origin="mydomain.org")
    response = await liveclient.query("GET", "/nowhere")
    assert response.status == HTTPStatus.NOT_FOUND
    assert response.headers["Access-Control-Allow-Origin"] == "mydomain.org"


async def test_cors_methods_headers_credentials(app: Roll, client: Client) -> None:
    extensions.cors(
        app, methods=["PATCH", "PUT"], headers=["X-Powered-By", "X-Requested-With"], credentials=True
    )

    @app.route("/test")
    async def get(request: Request, response: Response) -> None:
        pass

    response = await client.get("/test")
    assert response.headers["Access-Control-Allow-Methods"] == "PATCH,PUT"
    assert response.headers["Access-Control-Allow-Headers"] == "X-Powered-By,X-Requested-With"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


async def test_cors_star_methods(app: Roll, client: Client) -> None:
    extensions.cors(app, methods="*")
    response = await client.get("/test")
    assert response.headers["Access-Control-Allow-Methods"] == ",".join(extensions.HTTP_METHODS)
    assert extensions.HTTP_METHODS == [
        "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"
    ]


# logger


async def test_logger_writes_method_and_url_to_stderr(
    app: Roll, liveclient: LiveClient, capsys: pytest.CaptureFixture[str]
) -> None:
    extensions.logger(app)
    await app.startup()

    @app.route("/test")
    async def get(request: Request, response: Response) -> None:
        pass

    capsys.readouterr()
    await liveclient.query("GET", "/test")
    assert capsys.readouterr().err == "GET /test\n"
    await app.shutdown()
    await liveclient.query("GET", "/test")
    assert capsys.readouterr().err == ""


async def test_logger_with_custom_handler_and_query_string(app: Roll, client: Client) -> None:
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    extensions.logger(app, level=logging.INFO, handler=handler)
    await app.startup()
    await client.get("/where?x=1")
    assert stream.getvalue() == "INFO GET /where?x=1\n"
    assert handler in logging.getLogger("roll").handlers
    await app.shutdown()
    assert handler not in logging.getLogger("roll").handlers


# traceback


async def test_traceback_prints_500_errors(
    app: Roll, liveclient: LiveClient, capsys: pytest.CaptureFixture[str]
) -> None:
    extensions.traceback(app)

    @app.route("/boom")
    async def boom(request: Request, response: Response) -> None:
        raise ValueError("Unhandled exception in handler")

    @app.route("/teapot")
    async def teapot(request: Request, response: Response) -> None:
        raise HttpError(HTTPStatus.IM_A_TEAPOT, "short and stout")

    response = await liveclient.query("GET", "/boom")
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ValueError: Unhandled exception in handler" in err
    await liveclient.query("GET", "/teapot")
    assert "Traceback" not in capsys.readouterr().err


# options


async def test_options_answers_200_without_calling_the_handler(
    app: Roll, liveclient: LiveClient
) -> None:
    extensions.options(app)
    called = []

    @app.route("/test")
    async def get(request: Request, response: Response) -> None:
        called.append(True)

    response = await liveclient.query("OPTIONS", "/test")
    assert response.status == HTTPStatus.OK
    assert response.body == b""
    assert called == []
    response = await liveclient.query("GET", "/test")
    assert called == [True]


async def test_options_with_cors_preflight(app: Roll, client: Client) -> None:
    extensions.options(app)
    extensions.cors(app, methods="*", headers="*")

    @app.route("/test", methods=["POST"])
    async def post(request: Request, response: Response) -> None:
        raise AssertionError("not called")

    response = await client.options("/test")
    assert response.status == HTTPStatus.OK
    assert response.headers["Access-Control-Allow-Headers"] == "*"


# content_negociation


@pytest.mark.parametrize(
    "accept,status",
    [
        ("text/html", HTTPStatus.OK),
        ("application/json", HTTPStatus.OK),
        ("text/*", HTTPStatus.OK),
        ("*/*", HTTPStatus.OK),
        ("image/png, text/html;q=0.5", HTTPStatus.OK),
        ("text/css", HTTPStatus.NOT_ACCEPTABLE),
        ("image/*", HTTPStatus.NOT_ACCEPTABLE),
        ("text/html;q=0", HTTPStatus.NOT_ACCEPTABLE),
        ("nonsense", HTTPStatus.NOT_ACCEPTABLE),
        (None, HTTPStatus.NOT_ACCEPTABLE),
    ],
)
async def test_content_negociation(
    app: Roll, liveclient: LiveClient, accept: str | None, status: HTTPStatus
) -> None:
    extensions.content_negociation(app)

    @app.route("/test", accepts=["text/html", "application/json"])
    async def get(request: Request, response: Response) -> None:
        response.body = "accepted"

    headers = {"Accept": accept} if accept is not None else {}
    response = await liveclient.query("GET", "/test", headers=headers)
    assert response.status == status
    if status == HTTPStatus.OK:
        assert response.body == b"accepted"


async def test_content_negociation_ignores_routes_without_accepts(
    app: Roll, client: Client
) -> None:
    extensions.content_negociation(app)

    @app.route("/free")
    async def get(request: Request, response: Response) -> None:
        response.body = "free"

    response = await client.get("/free")
    assert response.status == HTTPStatus.OK


# static


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "style.css").write_text("body {}")
    (root / "sub" / "index.html").write_text("<h1>sub</h1>")
    (root / "sub" / "data.bin").write_bytes(b"\x00\x01")
    (root / "noext").write_bytes(b"raw")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    (root / "big.js").write_bytes(b"x" * 300_000)
    return root


async def test_static_serves_files_with_content_type(
    app: Roll, liveclient: LiveClient, static_root: Path
) -> None:
    extensions.static(app, root=static_root, default_index="index.html")
    await app.startup()
    response = await liveclient.query("GET", "/static/style.css")
    assert response.status == HTTPStatus.OK
    assert response.body == b"body {}"
    assert response.headers["Content-Type"] == "text/css"
    response = await liveclient.query("GET", "/static/index.html")
    assert response.headers["Content-Type"] == "text/html"
    assert response.body == b"<h1>home</h1>"
    response = await liveclient.query("GET", "/static/noext")
    assert response.headers["Content-Type"] == "application/octet-stream"
    response = await liveclient.query("GET", "/static/big.js")
    assert response.body == b"x" * 300_000
    response = await liveclient.query("HEAD", "/static/style.css")
    assert response.status == HTTPStatus.OK and response.body == b""


async def test_static_default_index(app: Roll, liveclient: LiveClient, static_root: Path) -> None:
    extensions.static(app, root=static_root, default_index="index.html")
    await app.startup()
    response = await liveclient.query("GET", "/static/")
    assert response.status == HTTPStatus.OK
    assert response.body == b"<h1>home</h1>"
    response = await liveclient.query("GET", "/static/sub/")
    assert response.body == b"<h1>sub</h1>"


async def test_static_directory_without_default_index_is_404(
    app: Roll, client: Client, static_root: Path
) -> None:
    extensions.static(app, root=static_root)
    await app.startup()
    response = await client.get("/static/sub/")
    assert response.status == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    "path",
    ["/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/sub/../../secret.txt", "/static/link"],
)
async def test_static_never_escapes_root(
    app: Roll, liveclient: LiveClient, static_root: Path, path: str
) -> None:
    extensions.static(app, root=static_root)
    await app.startup()
    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert raw.split(b"\r\n\r\n", 1)[1] != b"secret"


async def test_static_missing_is_404(app: Roll, liveclient: LiveClient, static_root: Path) -> None:
    extensions.static(app, root=static_root)
    await app.startup()
    response = await liveclient.query("GET", "/static/nothing.css")
    assert response.status == HTTPStatus.NOT_FOUND


async def test_static_twice_with_missing_slash_and_missing_root(
    app: Roll, client: Client, static_root: Path, tmp_path: Path
) -> None:
    url_for = extensions.named_url(app)
    extensions.static(app, prefix="/one", root=static_root / "sub", name="one")
    extensions.static(app, prefix="/two/", root=tmp_path / "not-yet", name="two")
    assert not (tmp_path / "not-yet").exists()
    await app.startup()
    await app.startup()  # registering twice is harmless
    response = await client.get("/one/data.bin")
    assert response.status == HTTPStatus.OK
    assert response.body == b"\x00\x01"
    (tmp_path / "not-yet").mkdir()
    (tmp_path / "not-yet" / "late.txt").write_text("late")
    response = await client.get("/two/late.txt")
    assert response.body == b"late"
    assert response.headers["Content-Type"] == "text/plain"
    assert url_for("one", path="data.bin") == "/one/data.bin"
    assert url_for("two", path="a/b.txt") == "/two/a/b.txt"


async def test_static_route_is_added_at_startup(app: Roll, client: Client, static_root: Path) -> None:
    extensions.static(app, root=static_root)
    response = await client.get("/static/style.css")
    assert response.status == HTTPStatus.NOT_FOUND
    await app.startup()
    response = await client.get("/static/style.css")
    assert response.status == HTTPStatus.OK


# named_url


async def test_named_url(app: Roll) -> None:
    url_for = extensions.named_url(app)

    @app.route("/test")
    async def mytest(request: Request, response: Response) -> None:
        pass

    @app.route("/user/{id}/{kind:alpha}", name="user")
    async def user(request: Request, response: Response, id: str, kind: str) -> None:
        pass

    @app.route("/t/{p:int}", name="typed")
    @app.route("/r/{p:[xyz]+}/{q:[0-9]{2}}", name="regex")
    async def typed(request: Request, response: Response, p: str, q: str = "") -> None:
        pass

    @app.route("/view")
    class MyView:
        async def on_get(self, request: Request, response: Response) -> None:
            pass

    assert url_for("mytest") == "/test"
    assert url_for("user", id=1, kind="cat") == "/user/1/cat"
    assert url_for("typed", p=22) == "/t/22"
    assert url_for("regex", p="xy", q=12) == "/r/xy/12"
    assert url_for("myview") == "/view"
    with pytest.raises(ValueError):
        url_for("unknown")
    with pytest.raises(ValueError):
        url_for("user", id=1)


async def test_named_url_with_a_name_placeholder(app: Roll) -> None:
    url_for = extensions.named_url(app)

    @app.route("/hello/{name}")
    async def hello(request: Request, response: Response, name: str) -> None:
        pass

    assert url_for("hello", name="you") == "/hello/you"


async def test_named_url_duplicates(app: Roll) -> None:
    extensions.named_url(app)

    @app.route("/one", name="same")
    async def one(request: Request, response: Response) -> None:
        pass

    @app.route("/also-one", name="other")  # one view under two names is fine
    @app.route("/one-again", name="another")
    async def again(request: Request, response: Response) -> None:
        pass

    with pytest.raises(ValueError):

        @app.route("/two", name="same")
        async def two(request: Request, response: Response) -> None:
            pass


async def test_named_url_ignores_routes_added_before(app: Roll) -> None:
    @app.route("/before")
    async def before(request: Request, response: Response) -> None:
        pass

    url_for = extensions.named_url(app)
    with pytest.raises(ValueError):
        url_for("before")


# websockets_store


async def test_websockets_store_and_broadcast(app: Roll, liveclient: LiveClient) -> None:
    extensions.websockets_store(app)
    assert app["websockets"] == set()

    @app.route("/chat", protocol="websocket")
    async def chat(request: Request, ws: WSProtocol) -> None:
        async for message in ws:
            assert request.app is not None
            for other in request.app["websockets"]:
                asyncio.ensure_future(other.send(message))

    async with connect(liveclient.wsl + "/chat") as one, connect(liveclient.wsl + "/chat") as two:
        while len(app["websockets"]) < 2:
            await asyncio.sleep(0.01)
        assert all(isinstance(ws, WSProtocol) for ws in app["websockets"])
        await two.send("hello")
        assert await one.recv() == "hello"
        assert await two.recv() == "hello"
    for _ in range(100):
        if not app["websockets"]:
            break
        await asyncio.sleep(0.01)
    assert app["websockets"] == set()


# igniter


async def test_igniter_logs_a_banner(app: Roll, caplog: pytest.LogCaptureFixture) -> None:
    extensions.igniter(app)
    with caplog.at_level(logging.DEBUG, logger="roll"):
        await app.startup()
    assert any("rolling" in record.getMessage() for record in caplog.records)


# simple_server


def test_simple_server_serves_and_stops(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "from roll import Roll\nfrom roll.extensions import simple_server\n"
        "app = Roll()\n@app.route('/')\nasync def home(request, response):\n"
        "    response.body = 'home'\n"
        f"simple_server(app, port={port})\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.strip() == f"Rolling on http://127.0.0.1:{port}"
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
            assert answer.read() == b"home"
        process.send_signal(__import__("signal").SIGINT)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
