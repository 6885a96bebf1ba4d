"""The reading half of a connection: httptools' callbacks, the limits, the body's flow.

`RequestReader` sits between `Sender` and `HTTPProtocol`: httptools calls
it as it parses (`on_url`, `on_header`...); it builds the request, checks the
limits and the framing (with `roll.wire`), starts the request's task once
the head is complete (`handle`, the protocol's) and feeds the body to the
request's `BodyStream`, pausing the transport while the app does not read.
An error it raises from a callback becomes the parser's error, which the
protocol answers (`on_parse_error`).
"""

from __future__ import annotations

import asyncio
import enum
from http import HTTPStatus
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, cast

import httptools

from .body import BodyStream
from .compiled import mypyc_attr
from .http import HttpError, RouteOptions
from .request import Request, RequestApp, Route
from .response import Response, ResponseApp
from .sending import Sender
from .wire import (
    CONTINUE,
    HEADER_KEYS,
    absolute_authority,
    check_transfer_coding,
    ignores_upgrade,
    split_target,
)


class Phase(enum.IntEnum):
    """Where the parser is in the current request (`HTTPProtocol._state`)."""

    IDLE = 0  # between requests
    HEAD = 1  # request line and headers being received
    BODY = 2  # headers done, body being received (the request's task runs already)
    LINGER = 3  # answered an invalid request: reading (and dropping) until the client closes


# Module names for the members: `Phase.BODY` is a slow class attribute on Python 3.11.
IDLE, HEAD, BODY, LINGER = Phase.IDLE, Phase.HEAD, Phase.BODY, Phase.LINGER


# Requests received and not answered yet, every connection of the process
# together (a list: one mutable cell). 0: the server is idle, so an answered
# exchange can go at once (`HTTPProtocol._exchange_done`); otherwise (a
# handler that never returns included, or a loop closed with requests in
# flight: their tasks never end) the idle timer drops it.
IN_FLIGHT = [0]


class StopParsing(Exception):
    """Raised from a parser callback to ignore the rest of the input."""


# Inside `ReaderApp`, `Request` and `Response` name the app's attributes; these, the classes.
RequestType: TypeAlias = Request
ResponseType: TypeAlias = Response


class ReaderApp(RequestApp, ResponseApp, Protocol):
    """What reading a request needs of the app (`roll.Roll` is one): build both, find the route."""

    @property
    def Request(self) -> type[RequestType]: ...

    def lookup(self, request: RequestType) -> Route: ...

    @property
    def Response(self) -> type[ResponseType]: ...


# The app's type: `HTTPProtocol` needs more of it than reading does. (A type
# parameter, not a narrower `self.app` in the subclass, which mypyc refuses.)
AppT = TypeVar("AppT", bound=ReaderApp)


@mypyc_attr(allow_interpreted_subclasses=True)  # (for `HTTPProtocol`'s)
class RequestReader(Sender, Generic[AppT]):
    """Parses requests (httptools callbacks); the limits are class attributes (docs/hardening.md)."""

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

    BODY_TIMEOUT: ClassVar[float | None] = 10.0  # with no body byte received → 408
    # A body trickling in slower than that (bytes/s, averaged once it has been
    # arriving for BODY_TIMEOUT seconds, not counting while the app does not
    # read it) → 408 (None: no minimum).
    MIN_BODY_RATE: ClassVar[float | None] = 1024.0

    # Lazy-body bytes buffered under which reading resumes.
    LOW_WATER: ClassVar[int] = 64 * 1024

    __slots__ = (
        "app",
        "parser",
        "request",
        "response",
        "task",
        "_reading_paused",
        "_state",
        "_head_size",
        "_read_size",
        "_body_size",
        "_body_limit",
        "_body_start",
        "_body_base",
        "_in_flight",
    )

    def __init__(self, app: AppT, loop: asyncio.AbstractEventLoop | None) -> None:
        super().__init__(loop)
        self.app = app
        self.parser = httptools.HttpRequestParser(self)
        self.request: Request = None  # type: ignore[assignment]
        self.response: Response = None  # type: ignore[assignment]
        self.task: asyncio.Task[None] | None = None
        self._reading_paused = False
        self._state: Phase = IDLE
        self._head_size = 0  # -1: the head began in this read
        self._read_size = 0  # bytes of the current read
        self._body_size = 0
        self._body_limit: int | None = None
        self._body_start = 0.0  # when the rate began to be measured
        self._body_base = 0  # body bytes then
        self._in_flight = 0  # requests received, not answered yet

    # What the protocol does for the reader.

    async def handle(
        self, request: Request, response: Response, previous: asyncio.Task[None] | None, keep_alive: bool = True
    ) -> None:
        """Run the app on a request whose head is parsed, and answer it (the request's task)."""
        raise NotImplementedError

    def on_parse_error(self, error: Exception) -> None:
        """Answer a request that cannot go on, and close."""
        raise NotImplementedError

    def _arm(self, timeout: float | None) -> None:
        """Start the timeout of the current phase."""
        raise NotImplementedError

    # httptools callbacks

    def on_message_begin(self) -> None:
        if not self.keep_alive:
            raise StopParsing  # a previous request asked to close, or failed
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
        try:
            request.path, request.query_string = split_target(target)
        except UnicodeDecodeError:
            # Maybe a character split between two reads: the complete head decides.
            request.path = ""

    def on_header(self, name: bytes, value: bytes) -> None:
        key = HEADER_KEYS.get(name) or name.decode("latin-1").upper()
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
        IN_FLIGHT[0] += 1
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
        stream = request.body_stream = BodyStream(request.HIGH_WATER)
        expect = request.headers.get("EXPECT")
        if (
            expect is not None
            and expect.lower() == "100-continue"
            and self.parser.get_http_version() != "1.0"  # RFC 9110 §10.1.1
        ):
            # The client waits for a word before sending the body: `100 Continue`
            # once the app reads it (`send_continue`), or the final answer.
            # Reading waits too: the body timeout starts with the 100.
            stream.expect = self.task if self.task is not None else True
            if not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()

    async def send_continue(self, request: Request) -> None:
        """The app starts reading a body the client holds back for `100 Continue`."""
        stream = request.body_stream
        if stream is None:
            return
        previous, stream.expect = stream.expect, None
        if isinstance(previous, asyncio.Task) and not previous.done():
            await asyncio.wait((previous,))  # the responses before this one go first
        transport = self.transport
        if not (stream.complete or self._failed or transport is None or transport.is_closing()):
            transport.write(CONTINUE)
        self.body_consumed(stream.buffered)

    def http_version(self) -> str:
        """The HTTP version of the request being parsed ("1.1", "1.0")."""
        return self.parser.get_http_version()

    def on_body(self, data: bytes) -> None:
        size = self._body_size + len(data)
        if self._body_limit is not None and size > self._body_limit:
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request body too large (limit: {self._body_limit} bytes)",
            )
        self._body_size = size
        stream = self.request.body_stream
        assert stream is not None  # `_frame_body` made it: httptools saw a body
        if stream.feed(data) and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        self._state = IDLE
        stream = self.request.body_stream
        if stream is not None:
            stream.finish()

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
