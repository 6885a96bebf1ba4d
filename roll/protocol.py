"""HTTP/1.1 over asyncio: httptools parses, one task per request, responses in order."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any, Callable, ClassVar, MutableSet, Protocol, TypeAlias, cast
from urllib.parse import unquote_to_bytes

import httptools

from .http import HttpError, RouteOptions, render_error
from .request import ClientDisconnected, Request, RequestApp, Route
from .response import Response, ResponseApp
from .wire import (
    CONTINUE,
    absolute_authority,
    body_length,
    check_transfer_coding,
    head_answered_by_get,
    ignores_upgrade,
)

log = logging.getLogger("roll")

STATUS_LINES: dict[int, bytes] = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
    for status in HTTPStatus
}
BODYLESS_STATUSES = frozenset((204, 304))

# Where the parser is in the current request (`HTTPProtocol._state`).
IDLE = 0  # between requests
HEAD = 1  # request line and headers being received
BODY = 2  # headers done, body being received (the request's task runs already)
LINGER = 3  # answered an invalid request: reading (and dropping) until the client closes

INF = float("inf")
IDLE_SOON = 0.0  # a deadline meaning "idle from about now": set by the timer


class _StopParsing(Exception):
    """Raised from a parser callback to ignore the rest of the input."""


class Upgraded(Protocol):
    """What takes the connection over after an HTTP upgrade (a websocket)."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class Websocket(Upgraded, Protocol):
    """What the app's `WebsocketProtocol` builds: it runs the session once upgraded."""

    async def run(self, data: bytes, previous: asyncio.Task[None] | None) -> None: ...


# Inside `App`, `Request` and `Response` name the app's attributes; these, the classes.
RequestType: TypeAlias = Request
ResponseType: TypeAlias = Response


class App(RequestApp, ResponseApp, Protocol):
    """What the protocol needs of the app (`roll.Roll` is one)."""

    loop: asyncio.AbstractEventLoop | None

    @property
    def connections(self) -> MutableSet[HTTPProtocol]: ...

    # Per request: build both, find the route, run the app.
    @property
    def Request(self) -> type[RequestType]: ...

    def lookup(self, request: RequestType) -> Route: ...

    @property
    def Response(self) -> type[ResponseType]: ...

    async def __call__(self, request: RequestType, response: ResponseType) -> None: ...

    @property
    def WebsocketProtocol(self) -> Callable[..., Websocket]: ...


class HTTPProtocol(asyncio.Protocol):
    """One instance per connection: parses requests, runs the app, writes responses.

    The limits and timeouts below are class attributes: change them on a
    subclass set as `app.HttpProtocol` (or on this class, for every app).
    See docs/hardening.md.
    """

    # Limits. Crossing one answers with the status in the comment, then closes.
    MAX_URL_SIZE: ClassVar[int] = 8 * 1024  # request target, bytes → 414
    MAX_HEADERS: ClassVar[int] = 100  # header fields (distinct names) → 431
    MAX_HEADERS_SIZE: ClassVar[int] = 16 * 1024  # header names + values, bytes → 431
    # Request body, bytes → 413 (None: no limit). A route can set its own with
    # the `max_body_size=` extra. Checked against Content-Length before reading,
    # and while receiving a chunked body.
    MAX_BODY_SIZE: ClassVar[int | None] = 1024 * 1024
    # Requests received but not answered yet on one connection: reading pauses
    # there; more than that in a single read → 429.
    MAX_PIPELINED: ClassVar[int] = 100

    # Timeouts in seconds (None: no timeout).
    KEEP_ALIVE_TIMEOUT: ClassVar[float | None] = 5.0  # idle connection → closed
    HEADERS_TIMEOUT: ClassVar[float | None] = 10.0  # to receive a whole head → 408
    BODY_TIMEOUT: ClassVar[float | None] = 10.0  # with no body byte received → 408
    # A body trickling in slower than that (bytes/s, averaged once it has been
    # arriving for BODY_TIMEOUT seconds, not counting while the app does not
    # read it) → 408 (None: no minimum).
    MIN_BODY_RATE: ClassVar[float | None] = 1024.0
    # A client that does not read what we send: closed (aborted) after that.
    SEND_TIMEOUT: ClassVar[float | None] = 30.0
    # After answering an invalid request, the input is read and dropped that
    # long before closing, so that the client gets the answer instead of a
    # connection reset.
    LINGER_TIMEOUT: ClassVar[float | None] = 2.0

    __slots__ = (
        "__weakref__",
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
        "_draining",
        "_state",
        "_head_size",
        "_read_size",
        "_body_size",
        "_body_limit",
        "_body_start",
        "_body_base",
        "_in_flight",
        "_timer",
        "_timer_at",
        "_deadline",
        "_streaming",
    )

    # Lazy-body bytes buffered under which reading resumes.
    LOW_WATER = 64 * 1024

    def __init__(self, app: App) -> None:
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
        self._draining = False
        self._state = IDLE
        self._head_size = 0
        self._read_size = 0
        self._body_size = 0
        self._body_limit: int | None = None
        self._body_start = 0.0
        self._body_base = 0
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = INF
        self._deadline = INF
        # (task, body) while a streamed body is being written.
        self._streaming: tuple[asyncio.Task[Any], Any] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        if self.app is not None:
            self.app.connections.add(self)
        self._arm(self.KEEP_ALIVE_TIMEOUT)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.app is not None:
            self.app.connections.discard(self)
        if self.upgraded is not None:
            self.upgraded.connection_lost(exc)
        if self.request is not None:
            self.request.fail(ClientDisconnected())
        if self._streaming is not None:
            # The writer may wait for the body's next chunk (an idle event
            # stream) for ever: stop it, which closes the body.
            self._streaming[0].cancel()
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
        self._read_size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self.on_upgrade(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError as error:
            if not isinstance(error.__context__, _StopParsing):
                self.on_parse_error(error)
            self._failed = True
            return
        if self._state:  # the request goes on in a later read
            if self._state == BODY:
                self._body_progress()
            elif self._head_size < 0:  # the head started in this read
                self._head_size = 0
                self._arm(self.HEADERS_TIMEOUT)  # for the whole head
            else:
                # httptools keeps an unfinished header line to itself: count the
                # bytes here so that a never-ending line cannot fill the memory.
                self._head_size += len(data)
                if self._head_size > self.MAX_URL_SIZE + self.MAX_HEADERS_SIZE + 1024:
                    self.on_parse_error(self._headers_too_large(False))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if not self.keep_alive:
            raise _StopParsing  # a previous request asked to close, or failed
        self.request = self.app.Request(self.app, self)
        self.response = self.app.Response(self.app, self)
        self._state = HEAD
        self._head_size = -1

    def on_url(self, url: bytes) -> None:
        request = self.request
        request.url += url
        target = request.url
        if len(target) > self.MAX_URL_SIZE:
            raise HttpError(
                HTTPStatus.REQUEST_URI_TOO_LONG,
                f"URL too long (limit: {self.MAX_URL_SIZE} bytes)",
            )
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
            if key == "HOST":  # RFC 9112 §3.2: which one would be the host?
                raise HttpError(HTTPStatus.BAD_REQUEST, "More than one Host header")
            text = headers[key] + ("; " if key == "COOKIE" else ", ") + text
        headers[key] = text

    def on_headers_complete(self) -> None:
        request = self.request
        if not request.path:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Invalid URL encoding")
        request.method = self.parser.get_method().decode()
        keep_alive = self.parser.should_keep_alive()
        headers = request.headers
        # A head that came in one small read cannot be too large: only count
        # the bytes when it spanned reads or came in a large one.
        if self._head_size >= 0 or self._read_size > self.MAX_HEADERS_SIZE:
            if sum(map(len, headers.values())) + sum(map(len, headers)) > self.MAX_HEADERS_SIZE:
                raise self._headers_too_large(False)
        if len(headers) > self.MAX_HEADERS:
            raise self._headers_too_large(True)
        if "HOST" not in headers and self.parser.get_http_version() != "1.0":
            raise HttpError(HTTPStatus.BAD_REQUEST, "Missing Host header")
        if request.url[:1] != b"/":  # absolute-form: its host wins (RFC 9112 §3.2.2)
            authority = absolute_authority(request.url)
            if authority is not None:
                headers["HOST"] = authority
        payload = self.app.lookup(request).payload
        length = headers.get("CONTENT-LENGTH")
        coding = headers.get("TRANSFER-ENCODING")
        if length is not None or coding is not None:
            self._frame_body(request, payload, length, coding)
        if self._in_flight >= self.MAX_PIPELINED - 1:
            if self._in_flight >= self.MAX_PIPELINED:  # all came in one read
                raise HttpError(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    f"Too many pipelined requests (limit: {self.MAX_PIPELINED})",
                )
            if not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()
        self._state = BODY
        if self.parser.should_upgrade():
            if request.method == "CONNECT":
                keep_alive = False  # no tunnelling: answered as a plain request, then closed
            elif not ignores_upgrade(request):
                self.keep_alive = keep_alive
                return  # `data_received` hands the connection over once the parser stops.
        self._in_flight += 1
        assert self.loop is not None
        self.task = self.loop.create_task(
            self.handle(request, self.response, self.task, keep_alive)
        )

    def _frame_body(
        self, request: Request, payload: dict[str, Any] | None, length: str | None, coding: str | None
    ) -> None:
        """A request with a body: check its framing and size, maybe answer `Expect`."""
        if coding is not None:
            if length is not None:
                raise HttpError(HTTPStatus.BAD_REQUEST, "Both Content-Length and Transfer-Encoding")
            check_transfer_coding(coding, self.parser.get_http_version())
        limit = self._body_limit = self._max_body_size(payload)
        self._body_size = 0
        self._body_start = 0.0
        if length is not None:  # httptools checked it is one number
            size = int(length)
            if limit is not None and size > limit:
                raise HttpError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"Request body too large (limit: {limit} bytes)",
                )
            if not size:
                return
        expect = request.headers.get("EXPECT")
        if (
            expect is not None
            and expect.lower() == "100-continue"
            and self.parser.get_http_version() != "1.0"  # RFC 9110 §10.1.1
        ):
            # The client waits for a word before sending the body: `100 Continue`
            # once the app reads it (`send_continue`), or the final answer.
            # Reading waits too: the body timeout starts with the 100.
            request._expect = self.task if self.task is not None else True
            if not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()

    async def send_continue(self, request: Request) -> None:
        """The app starts reading a body the client holds back for `100 Continue`."""
        previous, request._expect = request._expect, None
        if isinstance(previous, asyncio.Task) and not previous.done():
            await asyncio.wait((previous,))  # the responses before this one go first
        transport = self.transport
        if not (request._complete or self._failed or transport is None or transport.is_closing()):
            transport.write(CONTINUE)
        self.body_consumed(request.buffered)

    def on_body(self, data: bytes) -> None:
        size = self._body_size + len(data)
        if self._body_limit is not None and size > self._body_limit:
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request body too large (limit: {self._body_limit} bytes)",
            )
        self._body_size = size
        if self.request.feed(data) and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        self._state = IDLE
        self.request.finish()

    def _max_body_size(self, payload: dict[str, Any] | None) -> int | None:
        if payload and "max_body_size" in payload:
            return cast(RouteOptions, payload)["max_body_size"]
        return self.MAX_BODY_SIZE

    def _headers_too_large(self, count: bool) -> HttpError:
        if count:
            message = f"Too many header fields (limit: {self.MAX_HEADERS})"
        else:
            message = f"Request header fields too large (limit: {self.MAX_HEADERS_SIZE} bytes)"
        return HttpError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, message)

    # Flow control for lazy bodies, driven by the request, and for pipelining.

    def body_consumed(self, buffered: int) -> None:
        if (
            self._reading_paused
            and buffered <= self.LOW_WATER
            and self._in_flight < self.MAX_PIPELINED
            and not self._closed
        ):
            self._reading_paused = False
            self._body_start = 0.0  # the time paused does not count against the client
            self.transport.resume_reading()

    # Request handling

    async def handle(
        self,
        request: Request,
        response: Response,
        previous: asyncio.Task[None] | None,
        keep_alive: bool = True,
    ) -> None:
        try:
            await self.app(request, response)
            if previous is not None and not previous.done():
                await asyncio.wait((previous,))  # pipelined requests are answered in order
            if not keep_alive:
                self.keep_alive = False
            await self.write(request, response)
        except Exception:
            log.exception("Error while answering %s %s", request.method, request.path)
            self.abort()
        finally:
            if request._files:
                request.close_files()  # also when the task is cancelled (shutdown, grace over)
            self._exchange_done()
            if request._after_response is not None:
                await request.run_after_response()

    def on_parse_error(self, error: Exception) -> None:
        """Answer a request that cannot go on (bad framing, a limit, a timeout) and close."""
        self._failed = True
        self.keep_alive = False
        cause = error if isinstance(error, HttpError) else error.__context__
        if not isinstance(cause, HttpError):
            cause = HttpError(HTTPStatus.BAD_REQUEST, f"Unparsable request: {error}")
        state, self._state = self._state, IDLE
        if state == BODY and self.task is not None:
            # The request's task runs already: it gets the error from the body.
            self.request.fail(cause)
            if self.task.done():
                self.close()
            return
        if state == IDLE or self.request is None:
            self.request = self.app.Request(self.app, self)
            self.response = self.app.Response(self.app, self)
        render_error(self.response, cause)
        self._in_flight += 1
        assert self.loop is not None
        self.task = self.loop.create_task(self._answer_error(self.request, self.response, self.task))

    async def _answer_error(
        self,
        request: Request | None,
        response: Response | None,
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            if previous is not None and not previous.done():
                await asyncio.wait((previous,))
            await self.write(request, response)
        except Exception:
            log.exception("Error while answering an invalid request")
            self.abort()
        finally:
            self._exchange_done()

    def _exchange_done(self) -> None:
        """A request is answered: maybe read again, maybe wait for the next one."""
        self._in_flight -= 1
        if self._reading_paused and self.request is not None:
            self.body_consumed(self.request.buffered)
        if not self._in_flight and not self._state:
            if self._timer is None:
                self._arm(self.KEEP_ALIVE_TIMEOUT)
            else:
                # Hot path: no clock reading. The armed timer starts the idle
                # timeout when it fires, so an idle connection is closed after
                # between one and two KEEP_ALIVE_TIMEOUTs.
                self._deadline = IDLE_SOON

    def on_upgrade(self, data: bytes) -> None:
        request, response = self.request, self.response
        if request.method == "CONNECT":
            self._failed = True  # its task answers; what follows the head is not HTTP
            self._state = IDLE
            return
        if ignores_upgrade(request):
            # Answered as a plain request (its task runs): read on with a new parser.
            self.parser = httptools.HttpRequestParser(self)
            if data:
                self.data_received(data)
            return
        payload = request.route.payload
        if (
            request.headers.get("UPGRADE", "").lower() != "websocket"
            or not payload
            or payload["protocol"] != "websocket"
        ):
            self.keep_alive = False
            self._failed = True
            self._state = IDLE
            render_error(response, HttpError(HTTPStatus.NOT_IMPLEMENTED, "Upgrade not supported"))
            self._in_flight += 1
            assert self.loop is not None
            self.task = self.loop.create_task(self._answer_error(request, response, self.task))
            return
        websocket = self.app.WebsocketProtocol(self.app, self, request, response)
        self.upgraded = websocket
        self._state = IDLE
        assert self.loop is not None
        self.task = self.loop.create_task(websocket.run(data, self.task))

    # Writing

    async def write(
        self, request: Request | None = None, response: Response | None = None
    ) -> None:
        request = request if request is not None else self.request
        response = response if response is not None else self.response
        if request is not None and request._expect is not None and not request._complete:
            # Answered without asking for the body (a 404, a 405, a refusal in a
            # hook...): the client may or may not send it now. Close rather than guess.
            self._last_response(response)
        elif self._draining and self._in_flight <= 1 and self._state != HEAD:
            # Shutting down, and no other request begun: this one ends the connection.
            self._last_response(response)
        try:
            await self._send(request, response)
        finally:
            if request is not None and not request._complete:
                request.discard()
                self.body_consumed(0)
            if self._draining and self.keep_alive and self._in_flight <= 1 and self._state != HEAD:
                # The drain began while this response was on its way: its head
                # could not say so, the close will.
                self.keep_alive = False
                self._failed = True
            # When closing, the last response in flight closes the connection.
            if (not self.keep_alive and self._in_flight <= 1) or response.headers.get(
                "Connection"
            ) == "close":
                self.close()

    def _last_response(self, response: Response) -> None:
        """Say that the connection closes after `response`, and drop what the client still sends.

        Dropping rather than parsing: the client learns from `Connection: close`
        that what it sent after this request was not processed. The close lingers
        (see `close`) so that a request already on its way does not reset the
        connection and destroy this response.
        """
        self.keep_alive = False
        self._failed = True
        response.headers["Connection"] = "close"

    async def _send(self, request: Request | None, response: Response) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            await _close_stream(response.body)
            return
        status = response.status
        body = response.body
        headers = response.headers
        chunked = streamed = False
        if status < 200 or status in BODYLESS_STATUSES:
            await _close_stream(body)
            body = b""
        elif request is not None and request.method == "HEAD":
            if "Content-Length" not in headers and head_answered_by_get(request):
                length = body_length(body)
                if length is not None:
                    headers["Content-Length"] = str(length)
            await _close_stream(body)
            body = b""
        else:
            if isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, bytes):
                if hasattr(body, "__aiter__"):
                    streamed = True
                    # A streamed body may bring its own default headers
                    # (an event stream: its Content-Type, no caching).
                    for name, value in getattr(body, "response_headers", {}).items():
                        headers.setdefault(name, value)
                    # A stream of known length (a file) goes as is; else chunked.
                    chunked = "Content-Length" not in headers
                    if chunked:
                        headers.setdefault("Transfer-Encoding", "chunked")
                else:
                    body = str(body).encode()
            if not streamed:
                if "Content-Length" not in headers:
                    headers["Content-Length"] = str(len(body))
                response.body = body
        try:
            length = int(headers["Content-Length"]) if streamed and not chunked else 0
            head = serialize_head(STATUS_LINES[status], response)
        except ValueError as error:
            log.error("Invalid response headers: %s", error)
            await _close_stream(body)
            transport.write(STATUS_LINES[500] + b"Content-Length: 21\r\n\r\nInternal Server Error")
            return
        if not streamed:
            transport.write(head + body)
            return
        transport.write(head)
        if chunked:
            await self._write_chunks(body)
        else:
            await self._write_stream(body, length)

    async def _write_chunks(self, body: Any) -> None:
        task = asyncio.current_task()
        self._streaming = (task, body) if task is not None else None
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
            self._streaming = None
            await _close_stream(body)
        self.keep_alive = False

    async def _write_stream(self, body: Any, length: int) -> None:
        """A streamed body with a Content-Length: its bytes as they come, no framing."""
        try:
            async for item in body:
                if self._closed:
                    return
                chunk = item if isinstance(item, bytes) else str(item).encode()
                if len(chunk) > length:
                    break  # more than announced: the client would take it for the next response
                length -= len(chunk)
                self.transport.write(chunk)
                if self._writing_paused:
                    await self._drained()
            else:
                if not length:
                    return
        except Exception:
            log.exception("Error while streaming a response body")
        finally:
            await _close_stream(body)
        log.error("A streamed body did not match its Content-Length: connection closed")
        self.keep_alive = False
        self.close()  # now: a response pipelined after this one would be out of step

    async def _drained(self) -> None:
        assert self.loop is not None
        self._drain = self.loop.create_future()
        try:
            if self.SEND_TIMEOUT is None:
                await self._drain
            else:
                try:
                    async with asyncio.timeout(self.SEND_TIMEOUT):
                        await self._drain
                except TimeoutError:
                    self.abort()  # the client does not read: drop it
        finally:
            self._drain = None

    def close(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._state == LINGER:
            return
        if self._failed and getattr(transport, "can_write_eof", bool)():
            # The client may still be sending: closing with unread input would
            # reset the connection and could destroy our answer on its way.
            # Send it with a FIN, then read and drop until the client closes.
            self._state = LINGER
            transport.write_eof()
            if self._reading_paused:
                self._reading_paused = False
                transport.resume_reading()
            self._arm(self.LINGER_TIMEOUT)
            return
        transport.close()
        # The transport closes once its buffer is sent: don't wait forever.
        self._arm(self.SEND_TIMEOUT)

    def abort(self) -> None:
        """Close now, dropping what is not sent yet."""
        self.keep_alive = False
        self._failed = True
        if self.transport is not None:
            abort = getattr(self.transport, "abort", None)
            if abort is not None:
                abort()
            else:
                self.transport.close()

    @property
    def draining(self) -> bool:
        return self._draining

    def shutdown(self) -> None:
        """Close gracefully: now if idle, else after the responses in flight.

        No request the server began to read is lost: one received in part is
        read to its end and answered. The last response says `Connection:
        close`. An idle connection closes at once (a request the client sends
        meanwhile is refused by the close, unread).

        A streamed body being written that has a `shutdown()` method (an
        event stream, which would never end by itself) has it called.

        A connection taken over (a websocket) gets its `shutdown()` method
        called when it has one; else its task is cancelled (a websocket
        handler cancelled closes with 1001), else it is closed.
        """
        self._draining = True
        if self._streaming is not None:
            # A streamed body that never ends by itself (an event stream)
            # has a `shutdown()` that ends it.
            shutdown = getattr(self._streaming[1], "shutdown", None)
            if shutdown is not None:
                shutdown()
        if self.upgraded is not None:
            shutdown = getattr(self.upgraded, "shutdown", None)
            if shutdown is not None:
                shutdown()
            elif self.task is not None and not self.task.done():
                self.task.cancel()
            else:
                self.close()
        elif not self._in_flight and self._state != HEAD:
            if self._state == BODY:  # the rest of a body already answered: drop it
                self._failed = True  # (and linger, so that it does not reset the answer)
            self.close()

    # Timeouts: one timer per connection, re-armed lazily.

    def _body_progress(self) -> None:
        """Some body came, not all: the inactivity timeout restarts; is it too slow?"""
        self._arm(self.BODY_TIMEOUT)
        rate = self.MIN_BODY_RATE
        if rate is None:
            return
        assert self.loop is not None
        now = self.loop.time()
        if not self._body_start:
            self._body_start, self._body_base = now, self._body_size
            return
        elapsed = now - self._body_start
        if elapsed >= (self.BODY_TIMEOUT or 10.0) and self._body_size - self._body_base < rate * elapsed:
            self.on_parse_error(
                HttpError(HTTPStatus.REQUEST_TIMEOUT, f"Request body too slow (minimum: {rate:g} bytes/s)")
            )

    def _arm(self, timeout: float | None) -> None:
        """Start the timeout of the current phase (idle, head, body or closing)."""
        if timeout is None:
            self._deadline = INF
            return
        assert self.loop is not None
        deadline = self.loop.time() + timeout
        self._deadline = deadline
        # A timer set to fire later than needed is replaced; one set earlier
        # stays: when it fires, it sees the new deadline and sets itself again.
        if deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = INF
        if self._closed or self.upgraded is not None:
            return
        assert self.loop is not None
        deadline = self._deadline
        if deadline > self.loop.time():
            if deadline != INF:
                self._timer = self.loop.call_at(deadline, self._on_timer)
                self._timer_at = deadline
            return
        self._deadline = INF
        if self.transport.is_closing() or self._state == LINGER:
            self.abort()  # `close()` waited long enough for the buffer to go out
        elif self._state == HEAD:
            self.on_parse_error(
                HttpError(HTTPStatus.REQUEST_TIMEOUT, f"Request headers timeout ({self.HEADERS_TIMEOUT}s)")
            )
        elif self._state == BODY:
            if self._reading_paused:  # waiting for the app, not for the client
                self._arm(self.BODY_TIMEOUT)
            else:
                self.on_parse_error(
                    HttpError(HTTPStatus.REQUEST_TIMEOUT, f"Request body timeout ({self.BODY_TIMEOUT}s)")
                )
        elif not self._in_flight:
            if deadline == IDLE_SOON:
                self._arm(self.KEEP_ALIVE_TIMEOUT)
            else:
                self.close()  # idle keep-alive connection


def serialize_head(status_line: bytes, response: Response) -> bytes:
    """Status line, headers and cookies; ValueError on a line break in any of them."""
    lines = [f"{name}: {value}\r\n" for name, value in response.headers.items()]
    if response.has_cookies:
        lines += [f"Set-Cookie: {cookie}\r\n" for cookie in response.cookies.values()]
    text = "".join(lines)
    # Each line ends with one CRLF: any other CR or LF would split the response.
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        raise ValueError("Line break in a response header")
    return status_line + text.encode() + b"\r\n"


def unquote(path: bytes) -> str:
    if b"%" not in path:
        return path.decode()
    return unquote_to_bytes(path).decode()


async def _close_stream(body: Any) -> None:
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        await aclose()
