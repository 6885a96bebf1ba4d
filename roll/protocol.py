"""HTTP/1.1 over asyncio: httptools parses, one task per request, responses in order."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote_to_bytes

import httptools

from .http import HttpError
from .request import ClientDisconnected, Request
from .response import Response

if TYPE_CHECKING:
    from .app import Roll

log = logging.getLogger("roll")

STATUS_LINES: dict[int, bytes] = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
    for status in HTTPStatus
}
BODYLESS_STATUSES = frozenset((204, 304))


class Upgraded(Protocol):
    """What takes the connection over after an HTTP upgrade (a websocket)."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class HTTPProtocol(asyncio.Protocol):
    """One instance per connection: parses requests, runs the app, writes responses."""

    __slots__ = (
        "app",
        "loop",
        "parser",
        "transport",
        "request",
        "response",
        "task",
        "upgraded",
        "keep_alive",
        "_reading_paused",
        "_writing_paused",
        "_drain",
        "_failed",
        "_closed",
    )

    # Lazy-body bytes buffered under which reading resumes.
    LOW_WATER = 64 * 1024

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = app.loop if app is not None else None
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.request: Request = None  # type: ignore[assignment]
        self.response: Response = None  # type: ignore[assignment]
        self.task: asyncio.Task[None] | None = None
        self.upgraded: Upgraded | None = None
        self.keep_alive = True
        self._reading_paused = False
        self._writing_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._failed = False
        self._closed = False

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self.loop is None:
            self.loop = asyncio.get_running_loop()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self.upgraded is not None:
            self.upgraded.connection_lost(exc)
        if self.request is not None:
            self.request.fail(ClientDisconnected())
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.upgraded is not None:
            self.upgraded.data_received(data)
            return
        if self._failed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self.on_upgrade(data[upgrade.args[0] :])
        except httptools.HttpParserError as error:
            self.on_parse_error(error)

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.request = self.app.Request(self.app, self)
        self.response = self.app.Response(self.app, self)

    def on_url(self, url: bytes) -> None:
        request = self.request
        request.url += url
        target = request.url
        if target[:1] != b"/" and b"://" in target:  # absolute-form: drop scheme and host
            target = b"/" + target.split(b"://", 1)[1].partition(b"/")[2]
        path, _, query = target.partition(b"?")
        path = path.partition(b"#")[0]
        try:
            request.path = unquote(path)
            request.query_string = query.partition(b"#")[0].decode()
        except UnicodeDecodeError:
            # Maybe a character split between two reads: the complete head decides.
            request.path = ""

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").upper()
        try:
            text = value.decode()
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        headers = self.request.headers
        if key in headers:
            text = headers[key] + ("; " if key == "COOKIE" else ", ") + text
        headers[key] = text

    def on_headers_complete(self) -> None:
        request = self.request
        if not request.path:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Invalid URL encoding")
        request.method = self.parser.get_method().decode()
        keep_alive = self.parser.should_keep_alive()
        self.app.lookup(request)
        if self.parser.should_upgrade():
            if request.method != "CONNECT":
                self.keep_alive = keep_alive
                return  # `data_received` hands the connection over once the parser stops.
            keep_alive = False  # no tunnelling: answered as a plain request, then closed
        assert self.loop is not None
        self.task = self.loop.create_task(
            self.handle(request, self.response, self.task, keep_alive)
        )

    def on_body(self, data: bytes) -> None:
        if self.request.feed(data) and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        self.request.finish()

    # Flow control for lazy bodies, driven by the request.

    def body_consumed(self, buffered: int) -> None:
        if self._reading_paused and buffered <= self.LOW_WATER and not self._closed:
            self._reading_paused = False
            self.transport.resume_reading()

    # Request handling

    async def handle(
        self,
        request: Request,
        response: Response,
        previous: asyncio.Task[None] | None,
        keep_alive: bool = True,
    ) -> None:
        await self.app(request, response)
        if previous is not None and not previous.done():
            await previous  # pipelined requests are answered in order
        if not keep_alive:
            # Only now: a pipelined `Connection: close` must not cut earlier responses.
            self.keep_alive = False
        await self.write(request, response)
        request.close_files()

    def on_parse_error(self, error: Exception) -> None:
        self._failed = True
        message = f"Unparsable request: {error}"
        assert self.loop is not None
        request = self.request
        if request is not None and request.method is not None and not request._complete:
            # Broken body: the request's own task answers it (if not done yet), then we close.
            request.fail(HttpError(HTTPStatus.BAD_REQUEST, message))
            self.task = self.loop.create_task(self._answer_error(None, None, self.task))
            return
        if request is None or request.method is not None:
            self.on_message_begin()
        self.response.status = HTTPStatus.BAD_REQUEST
        self.response.body = message
        self.task = self.loop.create_task(self._answer_error(self.request, self.response, self.task))

    async def _answer_error(
        self,
        request: Request | None,
        response: Response | None,
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None and not previous.done():
            await previous  # earlier pipelined responses go out first
        self.keep_alive = False
        if response is None:
            self.close()
        else:
            await self.write(request, response)

    def on_upgrade(self, data: bytes) -> None:
        request, response = self.request, self.response
        if request.method == "CONNECT":
            self._failed = True  # its task answers; what follows the head is not HTTP
            return
        payload = request.route.payload
        if (
            request.headers.get("UPGRADE", "").lower() != "websocket"
            or not payload
            or payload["protocol"] != "websocket"
        ):
            self.keep_alive = False
            self._failed = True
            response.status = HTTPStatus.NOT_IMPLEMENTED
            response.body = "Upgrade not supported"
            assert self.loop is not None
            self.task = self.loop.create_task(self._answer_error(request, response, self.task))
            return
        websocket = self.app.WebsocketProtocol(self.app, self, request, response)
        self.upgraded = websocket
        assert self.loop is not None
        self.task = self.loop.create_task(websocket.run(data, self.task))

    # Writing

    async def write(
        self, request: Request | None = None, response: Response | None = None
    ) -> None:
        request = request if request is not None else self.request
        response = response if response is not None else self.response
        try:
            await self._send(request, response)
        finally:
            if request is not None and not request._complete:
                request.discard()
                self.body_consumed(0)
            if not self.keep_alive or response.headers.get("Connection") == "close":
                self.close()

    async def _send(self, request: Request | None, response: Response) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            await _close_stream(response.body)
            return
        status = response.status
        body = response.body
        lines = [STATUS_LINES[status]]
        headers = response.headers
        if (request is not None and request.method == "HEAD") or status < 200 or status in BODYLESS_STATUSES:
            await _close_stream(body)
            body = b""
            chunked = False
        elif isinstance(body, bytes):
            chunked = False
        elif isinstance(body, str):
            body = body.encode()
            chunked = False
        elif hasattr(body, "__aiter__"):
            chunked = True
            headers.setdefault("Transfer-Encoding", "chunked")
        else:
            body = str(body).encode()
            chunked = False
        if not chunked and status >= 200 and status not in BODYLESS_STATUSES:
            if request is None or request.method != "HEAD":
                if "Content-Length" not in headers:
                    headers["Content-Length"] = str(len(body))
                response.body = body
        try:
            head = serialize_headers(lines, response)
        except ValueError as error:
            log.error("Invalid response headers: %s", error)
            await _close_stream(body)
            transport.write(STATUS_LINES[500] + b"Content-Length: 21\r\n\r\nInternal Server Error")
            return
        if not chunked:
            transport.write(head + body)
            return
        transport.write(head)
        await self._write_chunks(body)

    async def _write_chunks(self, body: Any) -> None:
        try:
            async for item in body:
                if self._closed:
                    break
                chunk = item if isinstance(item, bytes) else str(item).encode()
                if chunk:
                    self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    if self._writing_paused:
                        await self._drained()
            else:
                self.transport.write(b"0\r\n\r\n")
                return
        except Exception:
            # The head is out: the only honest signal left is cutting the stream.
            log.exception("Error while streaming a response body")
            self.keep_alive = False
        finally:
            await _close_stream(body)
        self.keep_alive = False

    async def _drained(self) -> None:
        assert self.loop is not None
        self._drain = self.loop.create_future()
        try:
            await self._drain
        finally:
            self._drain = None

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def serialize_headers(lines: list[bytes], response: Response) -> bytes:
    for name, value in response.headers.items():
        value = str(value)
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"Line break in header {name!r}")
        lines.append(f"{name}: {value}\r\n".encode())
    if response.has_cookies:
        for cookie in response.cookies.values():
            lines.append(f"Set-Cookie: {cookie}\r\n".encode())
    lines.append(b"\r\n")
    return b"".join(lines)


def unquote(path: bytes) -> str:
    if b"%" not in path:
        return path.decode()
    return unquote_to_bytes(path).decode()


async def _close_stream(body: Any) -> None:
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        await aclose()
