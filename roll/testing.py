"""Test support: the pytest plugin and the tools under it.

The fixtures, `client` (in memory) and `liveclient` (a real socket), need an
`app` fixture returning the Roll app under test. Under them, for tests that
work at the byte level: `open_protocol` and `drive`, the one in-memory
driver (a connection on a fake `Transport`), and `read_responses` /
`read_response`, the one response reader (`WireResponse`s, from bytes or from
a socket).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import mimetypes
from http import HTTPStatus
from typing import Any, AsyncIterator, Iterable, Iterator
from urllib.parse import quote, urlencode
from uuid import uuid4

import httptools

from .app import Roll
from .protocol import HTTPProtocol
from .response import JSON_CONTENT_TYPE, Response

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - no fixtures then; the driver and reader still work
    pytest_asyncio = None  # type: ignore[assignment]


class Transport:
    """A fake transport that keeps every byte written to it."""

    def __init__(self) -> None:
        self.data = b""
        self._closing = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self._closing = True

    def is_closing(self) -> bool:
        return self._closing

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def encode_multipart(
    data: dict[str, Any] | list[tuple[str, Any]], files: dict[str, Any]
) -> tuple[bytes, str]:
    boundary = uuid4().hex
    parts: list[bytes] = []
    items = data.items() if isinstance(data, dict) else data
    for name, value in items:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, spec in files.items():
        content, filename = spec[0], spec[1]
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode()
        mime = spec[2] if len(spec) > 2 else (
            mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        parts.append(
            (
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"; filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def encode_body(
    data: Any, content_type: str, files: dict[str, Any] | None
) -> tuple[bytes, str]:
    if files:
        return encode_multipart(data or {}, files)
    if isinstance(data, bytes):
        return data, content_type
    if isinstance(data, str):
        return data.encode(), content_type
    if not data:
        return b"", content_type
    if content_type.startswith("application/x-www-form-urlencoded"):
        return urlencode(data, doseq=True).encode(), content_type
    if content_type.startswith("multipart/form-data"):
        return encode_multipart(data, {})
    return json.dumps(data).encode(), content_type


class Asserting:
    """What a response offers a test: `json()` and `text` from `body` (bytes)."""

    body: bytes
    headers: Any

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not JSON)."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body decoded (UTF-8, or the charset of the Content-Type)."""
        return self.body.decode(charset(self.headers.get("Content-Type", "")), errors="replace")

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", ""))


def charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


class ClientResponse(Asserting):
    """The in-memory client's answer: `status` (HTTPStatus), `headers`
    (as the app set them), `body` (bytes, as sent), `json()`, `text`, and
    `cookies`; anything else is read from `response`, the app's Response."""

    def __init__(self, response: Response) -> None:
        self.response = response
        self.status: HTTPStatus = response.status
        self.headers: dict[str, str] = response.headers
        self.body: bytes = response.body

    def __getattr__(self, name: str) -> Any:
        if name == "response":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.response, name)

    def __repr__(self) -> str:
        return f"<ClientResponse {self.status.value} {self.body[:60]!r}>"


def open_protocol(app: Roll, transport: Transport | None = None) -> HTTPProtocol:
    """A new in-memory connection to `app`: its protocol, made on `transport`.

    The app gets the running loop first, as a server would give it.
    """
    app.loop = asyncio.get_running_loop()
    protocol = app.HttpProtocol(app)
    protocol.connection_made(transport if transport is not None else Transport())
    return protocol


async def drive(
    app: Roll, chunks: Iterable[bytes], transport: Transport | None = None
) -> Transport:
    """Feed `chunks` to a new in-memory connection, one read each, then drop it.

    Returns the transport (`data` is what the server wrote) once the tasks
    the connection started are over. Fails (AssertionError) when the server
    side misbehaved: `data_received` raised, a task failed, was cancelled or
    hung for 5 s, or an error reached the loop's exception handler.
    """
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    before = asyncio.all_tasks()
    try:
        protocol = open_protocol(app, transport)
        for chunk in chunks:
            protocol.data_received(chunk)
            await asyncio.sleep(0)
        if not protocol.transport.is_closing():
            await asyncio.sleep(0)
        protocol.connection_lost(None)  # ends requests still waiting for a body
        started = asyncio.all_tasks() - before - {asyncio.current_task()}
        if started:
            done, hanging = await asyncio.wait(started, timeout=5)
            assert not hanging, f"tasks left hanging: {hanging}"
            for task in done:
                assert not task.cancelled(), f"task cancelled: {task}"
                assert task.exception() is None, f"task failed: {task.exception()!r}"
    finally:
        loop.set_exception_handler(previous_handler)
    assert errors == [], errors
    result: Transport = protocol.transport
    return result


class Client:
    """In-memory client: each request goes through a fresh protocol and transport."""

    content_type = JSON_CONTENT_TYPE

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.protocol: HTTPProtocol | None = None

    async def request(
        self,
        path: str,
        method: str = "GET",
        body: Any = b"",
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        files: dict[str, Any] | None = None,
    ) -> ClientResponse:
        headers = dict(headers or {})
        body, content_type = encode_body(body, content_type or self.content_type, files)
        if body or method in ("POST", "PUT", "PATCH"):
            headers.setdefault("Content-Type", content_type)
        headers["Content-Length"] = str(len(body))
        headers.setdefault("Host", "127.0.0.1")
        target = quote(path, safe="/?=&%:+,;@!$'()*~")
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        protocol = self.protocol = open_protocol(self.app)
        protocol.data_received(head.encode() + b"\r\n" + body)
        if protocol.upgraded is not None and protocol.task is not None:
            # A websocket: this client speaks none, and its session would only end
            # with the handler. Return the handshake answer; the session is cancelled.
            task = protocol.task
            while not task.done() and not protocol.transport.data:
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.wait([task])
        elif protocol.task is not None:
            await protocol.task
        response = protocol.response
        if not isinstance(response.body, bytes):
            response.body = read_body(protocol.transport.data)
        return ClientResponse(response)

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="GET", **kwargs)

    async def head(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="HEAD", **kwargs)

    async def options(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="OPTIONS", **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="DELETE", **kwargs)

    async def connect(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="CONNECT", **kwargs)

    async def post(self, path: str, data: Any = None, **kwargs: Any) -> ClientResponse:
        return await self._with_body("POST", path, data, kwargs)

    async def put(self, path: str, data: Any = None, **kwargs: Any) -> ClientResponse:
        return await self._with_body("PUT", path, data, kwargs)

    async def patch(self, path: str, data: Any = None, **kwargs: Any) -> ClientResponse:
        return await self._with_body("PATCH", path, data, kwargs)

    async def _with_body(
        self, method: str, path: str, data: Any, kwargs: dict[str, Any]
    ) -> ClientResponse:
        body = kwargs.pop("body", None)
        return await self.request(
            path, method=method, body=data if data is not None else (body or b""), **kwargs
        )


class WireResponse(Asserting):
    """A response as read from the wire (`read_responses`, `read_response`),
    with `json()` and `text` too."""

    def __init__(self) -> None:
        self.status: HTTPStatus = HTTPStatus.OK
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.body = b""
        self.chunks: list[bytes] | None = None
        self.complete = False
        self.headers_complete = False
        self._parts: list[bytes] = []
        self._chunked = False

    # httptools.HttpResponseParser callbacks, passed on by ResponseReader.

    def on_status(self, reason: bytes) -> None:
        self.reason += reason.decode()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode()] = value.decode()

    def on_headers_complete(self) -> None:
        self.headers_complete = True

    def on_body(self, data: bytes) -> None:
        self._parts.append(data)
        if self.chunks is not None:
            self.chunks[-1] += data

    def on_chunk_header(self) -> None:
        if self.chunks is None:
            self.chunks = []
        self.chunks.append(b"")

    def on_chunk_complete(self) -> None:
        if self.chunks and not self.chunks[-1]:
            self.chunks.pop()  # the terminating zero-size chunk

    def on_message_complete(self) -> None:
        self.body = b"".join(self._parts)
        self.complete = True


class ResponseReader:
    """Reads the responses of one connection: feed it bytes as they come."""

    def __init__(self) -> None:
        self.responses: list[WireResponse] = []
        self.parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes) -> None:
        self.parser.feed_data(data)

    @property
    def current(self) -> WireResponse:
        if not self.responses:
            self.responses.append(WireResponse())
        return self.responses[-1]

    def on_message_begin(self) -> None:
        if not self.responses or self.responses[-1].complete:
            self.responses.append(WireResponse())

    def on_status(self, reason: bytes) -> None:
        self.current.on_status(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.on_header(name, value)

    def on_headers_complete(self) -> None:
        self.current.status = HTTPStatus(self.parser.get_status_code())
        self.current.on_headers_complete()

    def on_body(self, data: bytes) -> None:
        self.current.on_body(data)

    def on_chunk_header(self) -> None:
        self.current.on_chunk_header()

    def on_chunk_complete(self) -> None:
        self.current.on_chunk_complete()

    def on_message_complete(self) -> None:
        self.current.on_message_complete()


def read_responses(raw: bytes) -> list[WireResponse]:
    """Every complete response in `raw` (what a server wrote), up to any unparsable byte."""
    reader = ResponseReader()
    try:
        reader.feed(raw)
    except httptools.HttpParserError:
        pass
    return [response for response in reader.responses if response.complete]


def read_body(raw: bytes) -> bytes:
    """The body of a raw HTTP response, chunked or not (what arrived of it if cut short)."""
    reader = ResponseReader()
    reader.feed(raw)
    response = reader.current
    return response.body if response.complete else b"".join(response._parts)


class LiveClient:
    """Runs the app on a real socket and queries it over TCP."""

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.url = ""
        self.wsl = ""

    async def start(self) -> None:
        self.app.loop = asyncio.get_running_loop()
        self.server = await self.app.loop.create_server(self.app.factory, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.wsl = f"ws://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            close_clients = getattr(self.server, "close_clients", None)
            if close_clients is not None:  # Python 3.13+ waits for open connections
                close_clients()
            await self.server.wait_closed()

    async def query(
        self,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> WireResponse:
        headers = dict(headers or {})
        headers.setdefault("Host", f"127.0.0.1:{self.port}")
        headers.setdefault("Connection", "close")
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            chunks: Iterable[Any] | None = None
            if isinstance(body, str):
                body = body.encode()
            if isinstance(body, (bytes, bytearray)):
                headers.setdefault("Content-Length", str(len(body)))
            elif body is not None:
                chunks, body = body, None
                headers["Transfer-Encoding"] = "chunked"
            head = f"{method} {quote(uri, safe='/?=&%:+,;@!$()*~')} HTTP/1.1\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            writer.write(head.encode() + b"\r\n" + (body or b""))
            if chunks is not None:
                for chunk in chunks:
                    data = chunk if isinstance(chunk, bytes) else str(chunk).encode()
                    writer.write(b"%x\r\n%b\r\n" % (len(data), data))
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            return await read_response(reader)
        finally:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> WireResponse:
    """The next response from a socket (all of it, or up to a 101's head)."""
    responses = ResponseReader()
    response = responses.current
    parser = responses.parser
    while not response.complete:
        data = await reader.read(65536)
        if not data:
            parser.feed_data(b"")  # lets a close-delimited body complete
            break
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            break
        except httptools.HttpParserError:
            # A 101 without `Connection: upgrade` makes the parser pause with a plain error.
            if response.headers_complete and parser.get_status_code() == 101:
                break
            raise
        if response.headers_complete and parser.get_status_code() == 101:
            break
    if not response.headers_complete:
        raise ConnectionError("The connection closed before a response head")
    if not response.complete:
        response.body = b"".join(response._parts)
    return response


ASYNC_MARKERS = frozenset(("asyncio", "anyio", "trio"))


if pytest_asyncio is not None:
    import pytest  # pytest-asyncio is there, so pytest is

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> Iterator[None]:
        """Run `async def test_...` with pytest-asyncio with no configuration.

        pytest-asyncio's default (strict) mode skips an unmarked coroutine test
        with "async def functions are not natively supported"; a project would
        need `asyncio_mode = auto`. A coroutine test marked for no async plugin
        gets the `asyncio` mark here, before it is collected (in auto mode the
        mark changes nothing)."""
        if (
            pytest_asyncio is not None
            and inspect.iscoroutinefunction(obj)
            and collector.istestfunction(obj, name)
            and not any(mark.name in ASYNC_MARKERS for mark in getattr(obj, "pytestmark", ()))
            and not any(mark.name in ASYNC_MARKERS for mark in collector.iter_markers())
        ):
            pytest.mark.asyncio(obj)
        yield


    @pytest_asyncio.fixture
    async def client(app: Roll) -> AsyncIterator[Client]:
        app.loop = asyncio.get_running_loop()
        await app.startup()
        yield Client(app)
        await app.shutdown()

    @pytest_asyncio.fixture
    async def liveclient(app: Roll) -> AsyncIterator[LiveClient]:
        live = LiveClient(app)
        await app.startup()
        await live.start()
        yield live
        await live.stop()
        await app.shutdown()


__all__ = [
    "Client",
    "Client",
    "ClientResponse",
    "LiveClient",
    "ResponseReader",
    "Transport",
    "WireResponse",
    "drive",
    "encode_body",
    "open_protocol",
    "read_response",
    "read_responses",
]
