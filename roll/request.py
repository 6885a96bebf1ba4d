"""The incoming request: parsed head, lazily parsed query/form/files/json, and its body."""

from __future__ import annotations

import asyncio
import json
import inspect
import logging
from http import HTTPStatus
from typing import Any, AsyncIterator, Awaitable, Callable, ClassVar, NamedTuple, Protocol
from urllib.parse import parse_qs

import pydantic_core
from biscuits import parse as parse_cookies

from .body import BodyStream
from .http import HttpError
from .identity import Identity
from .multidict import Files, Form, Query
from .multipart import MultipartApp, parse_multipart
from .proxy import ProxyHeaders

log = logging.getLogger("roll")


class RequestApp(MultipartApp, Protocol):
    """What a request needs of the app (`roll.Roll` is one): the classes it builds.

    Handlers also read the app's data as `request.app[key]`.
    """

    @property
    def Query(self) -> type[Query]: ...

    @property
    def proxy_headers(self) -> ProxyHeaders | None: ...

    def __getitem__(self, key: str) -> Any: ...


class Connection(Protocol):
    """What a request needs of its connection (`roll.HTTPProtocol` is one)."""

    @property
    def transport(self) -> asyncio.BaseTransport | None: ...

    def body_consumed(self, buffered: int) -> None: ...

    async def send_continue(self, request: Request) -> None: ...


class Route(NamedTuple):
    """What URL matching found: the route payload (None if nothing) and the URL vars."""

    payload: dict[str, Any] | None
    vars: dict[str, str]


NO_ROUTE = Route(None, {})

# `request.json` not parsed yet (None is a valid JSON value, so it cannot mark that).
UNPARSED: Any = object()


class ClientDisconnected(HttpError):
    """The client went away before sending the whole body."""

    def __init__(self) -> None:
        super().__init__(HTTPStatus.BAD_REQUEST, "Client disconnected")


# `type: ignore`: typeshed says a dict has no hash; Identity gives it one.
class Request(Identity, dict[str, Any]):  # type: ignore[misc]
    """The request. As a dict it holds custom data; Roll never uses its keys."""

    # Bytes of a streamed body buffered before the protocol stops reading
    # (the `high_water` of the request's `BodyStream`).
    HIGH_WATER = 256 * 1024

    # Limits on what is parsed from the body (the body itself is limited by
    # `HTTPProtocol.MAX_BODY_SIZE`). Crossing one answers 413.
    MAX_JSON_SIZE: ClassVar[int | None] = 1024 * 1024  # bytes, for `request.json`
    MAX_FORM_FIELDS: ClassVar[int | None] = 1000  # urlencoded fields, for `request.form`

    __slots__ = (
        "app",
        "protocol",
        "url",
        "path",
        "query_string",
        "method",
        "headers",
        "route",
        "body_stream",
        "_body",
        "_query",
        "_form",
        "_files",
        "_json",
        "_cookies",
        "_after_response",
        # `client` and `scheme`, set when first read (never set: no cost).
        "_client",
        "_scheme",
    )

    def __init__(self, app: RequestApp | None, protocol: Connection | None) -> None:
        self.app = app
        self.protocol = protocol
        self.url = b""
        self.path = ""
        self.query_string = ""
        self.method: str | None = None
        self.headers: dict[str, str] = {}
        self.route = NO_ROUTE
        # The body as it arrives, set by the protocol when the request has one.
        self.body_stream: BodyStream | None = None
        self._body: bytes | None = None
        self._query: Query | None = None
        self._form: Form | None = None
        self._files: Files | None = None
        self._json: Any = UNPARSED
        self._cookies: dict[str, str] | None = None
        self._after_response: list[Callable[[], Any]] | None = None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"

    # Head shortcuts.

    @property
    def content_type(self) -> str:
        return self.headers.get("CONTENT-TYPE", "")

    @property
    def host(self) -> str:
        return self.headers.get("HOST", "")

    @property
    def referrer(self) -> str:
        return self.headers.get("REFERER", "")

    referer = referrer

    @property
    def origin(self) -> str:
        return self.headers.get("ORIGIN", "")

    @property
    def client(self) -> tuple[str, int] | None:
        """The client's (address, port): the connection's peer, or, behind a
        trusted proxy (`roll.proxy.ProxyHeaders`), the one it forwarded (port
        0 when it gave none). None when unknown (no socket)."""
        try:
            return self._client
        except AttributeError:
            self._find_client()
            return self._client

    @property
    def scheme(self) -> str:
        """The scheme, "http" or "https" (as the trusted proxy says, if any)."""
        try:
            return self._scheme
        except AttributeError:
            self._find_client()
            return self._scheme

    def _find_client(self) -> None:
        transport = self.protocol.transport if self.protocol is not None else None
        peer: Any = None
        scheme = "http"
        if transport is not None:
            peer = transport.get_extra_info("peername")
            if transport.get_extra_info("sslcontext") is not None:
                scheme = "https"
        client = (peer[0], peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
        proxy = self.app.proxy_headers if self.app is not None else None
        if proxy is not None:
            client, scheme = proxy.resolve(client, scheme, self.headers)
        self._client = client
        self._scheme = scheme

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            header = self.headers.get("COOKIE")
            self._cookies = parse_cookies(header) if header else {}
        return self._cookies

    @property
    def query(self) -> Query:
        if self._query is None:
            self._query = self.app.Query() if self.app is not None else Query()
            if self.query_string:
                self._query.update(parse_query(self.query_string))
        return self._query

    # Body and what is parsed from it.

    @property
    def body(self) -> bytes:
        if self._body is None:
            raise HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, "Body is not loaded yet: await request.load_body()")
        return self._body

    @body.setter
    def body(self, data: bytes) -> None:
        self._body = data

    @property
    def json(self) -> Any:
        if self._json is UNPARSED:
            body = self._json_body()
            try:
                self._json = pydantic_core.from_json(body)
            except ValueError:
                # The fast parser takes UTF-8 only: `json.loads` also reads a BOM,
                # UTF-16/32 and lone surrogate escapes, as Roll does.
                try:
                    self._json = json.loads(body)
                except (ValueError, RecursionError):
                    raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable JSON body") from None
        return self._json

    def _json_body(self) -> bytes:
        body = self.body
        if self.MAX_JSON_SIZE is not None and len(body) > self.MAX_JSON_SIZE:
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"JSON body too large (limit: {self.MAX_JSON_SIZE} bytes)",
            )
        return body

    @property
    def form(self) -> Form:
        if self._form is None:
            self._parse_body()
        assert self._form is not None
        return self._form

    @property
    def files(self) -> Files:
        if self._files is None:
            self._parse_body()
        assert self._files is not None
        return self._files

    def _parse_body(self) -> None:
        content_type = self.content_type
        media_type = content_type.lower()  # case-insensitive; the boundary is not
        new_form = self.app.Form if self.app is not None else Form
        new_files = self.app.Files if self.app is not None else Files
        # Set only once parsed: after an error, reading again raises again
        # (instead of giving an empty form).
        if media_type.startswith("multipart/form-data"):
            self._form, self._files = parse_multipart(self.app, content_type, self.body)
            return
        form = new_form()
        if media_type.startswith("application/x-www-form-urlencoded") and self.body:
            limit = self.MAX_FORM_FIELDS
            if limit is not None and self.body.count(b"&") >= limit:
                raise HttpError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"Too many form fields (limit: {limit})",
                )
            try:
                fields = parse_qs(
                    self.body.decode(), keep_blank_values=True, strict_parsing=True
                )
            except ValueError:
                raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable urlencoded body")
            form.update(fields)
        self._form, self._files = form, new_files()

    async def load_body(self) -> None:
        if self._body is None:
            stream = self.body_stream
            if stream is None or (stream.complete and not stream.chunks):  # no body
                self._body = b""
                return
            stream.loading = True
            if self.protocol is not None:
                if stream.expect is not None:
                    await self.protocol.send_continue(self)
                self.protocol.body_consumed(0)
            while not stream.complete:
                if stream.error is not None:
                    raise stream.error
                await stream.wait()
            self._body = stream.take()

    async def read(self) -> bytes:
        await self.load_body()
        return self.body

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body is not None:
            return _once(self._body)
        return self._consume()

    async def _consume(self) -> AsyncIterator[bytes]:
        """Yield the body chunk by chunk as it arrives, keeping none of it."""
        stream = self.body_stream
        if stream is None:
            return
        if stream.expect is not None and self.protocol is not None:
            await self.protocol.send_continue(self)
        while True:
            if stream.chunks:
                chunk = stream.pop()
                if self.protocol is not None:
                    self.protocol.body_consumed(stream.buffered)
                yield chunk
            elif stream.error is not None:
                raise stream.error
            elif stream.complete:
                return
            else:
                await stream.wait()

    def close_files(self) -> None:
        """The response is out: close the uploaded files (and their temporary files)."""
        if self._files:
            for uploads in self._files.values():
                for upload in uploads:
                    close = getattr(upload, "close", None)
                    if close is not None:
                        close()

    # After the response.

    def after_response(self, callback: Callable[[], Any]) -> None:
        """Call `callback()` (a function or a coroutine function) once the
        response is sent, or could not be: the connection was lost, or the
        request's task cancelled. For a websocket, once the connection is over.

        Callbacks run last added, first called, in the request's task, after
        the response is written (the next pipelined response waits for them).
        An error in one is logged; the others still run.
        """
        if self._after_response is None:
            self._after_response = []
        self._after_response.append(callback)

    def response_done(self) -> Awaitable[None] | None:
        """Called by the protocol (and the websocket) once the response is out,
        or never will be: closes the uploaded files; returns what runs the
        `after_response` callbacks, to await, when there are any."""
        if self._files:
            self.close_files()
        if self._after_response is not None:
            return self.run_after_response()
        return None

    async def run_after_response(self) -> None:
        """Called by the protocol (and the websocket) when the response is out."""
        callbacks, self._after_response = self._after_response, None
        while callbacks:
            callback = callbacks.pop()
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("Error in an after_response callback of %r", self)
            if self._after_response:  # added by a callback: run them too
                callbacks.extend(self._after_response)
                self._after_response = None

    @property
    def buffered(self) -> int:
        """Body bytes received and not consumed yet."""
        return self.body_stream.buffered if self.body_stream is not None else 0

    @property
    def _chunk(self) -> bytes:
        """Roll's name for the body bytes received and not consumed yet.

        Roll apps and tests read it in a lazy-body handler to check that the
        server did not read the whole body ahead of them.
        """
        return b"".join(self.body_stream.chunks) if self.body_stream is not None else b""


def parse_query(query_string: str) -> dict[str, list[str]]:
    """`parse_qs(query_string, keep_blank_values=True)`, faster when nothing is escaped."""
    if "%" in query_string or "+" in query_string:
        return parse_qs(query_string, keep_blank_values=True)
    values: dict[str, list[str]] = {}
    for pair in query_string.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            if key in values:
                values[key].append(value)
            else:
                values[key] = [value]
    return values


async def _once(body: bytes) -> AsyncIterator[bytes]:
    if body:  # like a streamed body: no data, no chunk
        yield body
