"""HTTP/1.1 over asyncio: httptools parses, one task per request, responses in order.

`HTTPProtocol` is three layers of one connection: `roll.sending.Sender`
writes responses, `roll.reading.RequestReader` parses requests, and this
module says when: the request's task, the order of the answers, errors,
upgrades, timeouts, shutdown. The bytes themselves are `roll.wire`'s.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any, Callable, ClassVar, MutableSet, Protocol

import httptools

from .compiled import mypyc_attr
from .http import HttpError, render_error
from .reading import BODY, HEAD, IDLE, IN_FLIGHT, LINGER, Phase, ReaderApp, RequestReader, StopParsing
from .request import ClientDisconnected, Request
from .response import Response
from .wire import ignores_upgrade

__all__ = ["App", "HTTPProtocol", "Phase", "Upgraded", "Websocket"]

log = logging.getLogger("roll")

INF = float("inf")
IDLE_SOON = 0.0  # a deadline meaning "idle from about now": set by the timer


class Upgraded(Protocol):
    """What takes the connection over after an HTTP upgrade (a websocket)."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class Websocket(Upgraded, Protocol):
    """What the app's `WebsocketProtocol` builds: it runs the session once upgraded."""

    async def run(self, data: bytes, previous: asyncio.Task[None] | None) -> None: ...


class App(ReaderApp, Protocol):
    """What the protocol needs of the app (`roll.Roll` is one)."""

    loop: asyncio.AbstractEventLoop | None

    @property
    def connections(self) -> MutableSet[HTTPProtocol]: ...

    async def __call__(self, request: Request, response: Response) -> None: ...

    @property
    def WebsocketProtocol(self) -> Callable[..., Websocket]: ...


# Apps subclass it (limits, timeouts): allowed when compiled.
@mypyc_attr(allow_interpreted_subclasses=True)
class HTTPProtocol(RequestReader[App]):
    """One instance per connection: parses requests, runs the app, writes responses.

    Which bytes are `roll.wire`'s; this class decides when. Its phase
    (`Phase`, in `_state`): IDLE → HEAD on a request's first byte → BODY
    once its head is parsed (its task starts then) → IDLE when its last body
    byte came. Answering an invalid request (any phase) goes to IDLE, then
    LINGER when closing: reading and dropping until the client closes.

    The limits and timeouts are class attributes (here and on the two bases,
    `RequestReader` and `Sender`): change them on a subclass set as
    `app.HttpProtocol` (or on this class, for every app). See
    docs/hardening.md.
    """

    # Timeouts in seconds (None: no timeout); BODY_TIMEOUT, MIN_BODY_RATE and
    # SEND_TIMEOUT are the bases'.
    KEEP_ALIVE_TIMEOUT: ClassVar[float | None] = 5.0  # idle connection → closed
    HEADERS_TIMEOUT: ClassVar[float | None] = 10.0  # to receive a whole head → 408
    # After answering an invalid request, the input is read and dropped that
    # long before closing, so that the client gets the answer instead of a
    # connection reset.
    LINGER_TIMEOUT: ClassVar[float | None] = 2.0

    __slots__ = ("__weakref__", "upgraded", "_draining", "_timer", "_timer_at", "_deadline", "_keep_exchange")

    def __init__(self, app: App) -> None:
        super().__init__(app, app.loop if app is not None else None)
        self.upgraded: Upgraded | None = None
        self._draining = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = INF
        self._deadline = INF
        self._keep_exchange = False

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        # In memory (`roll.testing.Transport`), the last request, response and
        # task stay readable once answered; on a socket they go (`_drop_exchange`).
        self._keep_exchange = getattr(transport, "keep_exchange", False)
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
        if self.request is not None and self.request.body_stream is not None:
            self.request.body_stream.fail(ClientDisconnected())
        if self._streaming is not None:
            # The writer may wait for the body's next chunk (an idle event
            # stream) for ever: stop it, which closes the body.
            self._streaming[0].cancel()
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
            if not isinstance(error.__context__, StopParsing):
                self.on_parse_error(error)
            self._failed = True
            return
        if self._state:  # the request goes on in a later read
            if self._state is BODY:
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
        except BaseException:
            # Also when the task is cancelled (shutdown, grace over). (Not in a
            # `finally`: mypyc leaks the exception of a `finally` that awaits,
            # see docs/performance.md, "mypyc".)
            after = request.response_done()
            self._exchange_done()
            if after is not None:
                await after
            raise
        after = request.response_done()
        self._exchange_done()
        if after is not None:
            await after

    def on_parse_error(self, error: Exception) -> None:
        """Answer a request that cannot go on (bad framing, a limit, a timeout) and close."""
        self._failed = True
        self.keep_alive = False
        cause = error if isinstance(error, HttpError) else error.__context__
        if not isinstance(cause, HttpError):
            cause = HttpError(HTTPStatus.BAD_REQUEST, f"Unparsable request: {error}")
        state, self._state = self._state, IDLE
        if state is BODY and self.task is not None:
            # The request's task runs already: it gets the error from the body.
            if self.request.body_stream is not None:
                self.request.body_stream.fail(cause)
            if self.task.done():
                self.close()
            return
        if state is IDLE or self.request is None:
            self.request = self.app.Request(self.app, self)
            self.response = self.app.Response(self.app, self)
        render_error(self.response, cause)
        self._in_flight += 1
        IN_FLIGHT[0] += 1
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
        IN_FLIGHT[0] -= 1
        if self._reading_paused and self.request is not None:
            stream = self.request.body_stream
            self.body_consumed(stream.buffered if stream is not None else 0)
        if not self._in_flight and not self._state:
            if not IN_FLIGHT[0] and not self._keep_exchange and self.upgraded is None:
                # The whole server is idle: drop the answered exchange now (what
                # comes next reuses its memory). Under load it stays until the
                # next request replaces it or the idle timer drops it: freed
                # here by many connections at once, the exchanges tripped the
                # cyclic GC on every batch (json p99 3.6 → 15 ms).
                self._drop_exchange()
            if self._timer is None:
                self._arm(self.KEEP_ALIVE_TIMEOUT)
            else:
                # Hot path: no clock reading. The armed timer starts the idle
                # timeout when it fires, so an idle connection is closed after
                # between one and two KEEP_ALIVE_TIMEOUTs.
                self._deadline = IDLE_SOON

    def _drop_exchange(self) -> None:
        """Forget the answered request, response and task: most of what an
        idle keep-alive connection held (docs/performance.md)."""
        self.request = self.response = None  # type: ignore[assignment]
        self.task = None

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
            IN_FLIGHT[0] += 1
            assert self.loop is not None
            self.task = self.loop.create_task(self._answer_error(request, response, self.task))
            return
        websocket = self.app.WebsocketProtocol(self.app, self, request, response)
        self.upgraded = websocket
        self._state = IDLE
        assert self.loop is not None
        self.task = self.loop.create_task(websocket.run(data, self.task))

    # Writing, closing

    async def write(
        self, request: Request | None = None, response: Response | None = None
    ) -> None:
        request = request if request is not None else self.request
        response = response if response is not None else self.response
        stream = request.body_stream if request is not None else None
        if stream is not None and stream.expect is not None and not stream.complete:
            # Answered without asking for the body (a 404, a 405, a refusal in a
            # hook...): the client may or may not send it now. Close rather than guess.
            self._last_response(response)
        elif self._draining and self._in_flight <= 1 and self._state is not HEAD:
            # Shutting down, and no other request begun: this one ends the connection.
            self._last_response(response)
        try:
            await self._send(request, response)
        finally:
            if stream is not None and not stream.complete:
                stream.discard()
                self.body_consumed(0)
            if self._draining and self.keep_alive and self._in_flight <= 1 and self._state is not HEAD:
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

    def close(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._state is LINGER:
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
        elif not self._in_flight and self._state is not HEAD:
            if self._state is BODY:  # the rest of a body already answered: drop it
                self._failed = True  # (and linger, so that it does not reset the answer)
            self.close()

    # Timeouts: one timer per connection, re-armed lazily.

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
        if self.transport.is_closing() or self._state is LINGER:
            self.abort()  # `close()` waited long enough for the buffer to go out
        elif self._state is HEAD:
            self.on_parse_error(
                HttpError(HTTPStatus.REQUEST_TIMEOUT, f"Request headers timeout ({self.HEADERS_TIMEOUT}s)")
            )
        elif self._state is BODY:
            if self._reading_paused:  # waiting for the app, not for the client
                self._arm(self.BODY_TIMEOUT)
            else:
                self.on_parse_error(
                    HttpError(HTTPStatus.REQUEST_TIMEOUT, f"Request body timeout ({self.BODY_TIMEOUT}s)")
                )
        elif not self._in_flight:
            if not self._keep_exchange:
                self._drop_exchange()  # idle for a while: drop the answered exchange
            if deadline == IDLE_SOON:
                self._arm(self.KEEP_ALIVE_TIMEOUT)
            else:
                self.close()  # idle keep-alive connection
