"""WebSockets over Roll's own transport, framed by the sans-I/O protocol of `websockets`.

Two layers:

- protocol logic, with no I/O (`roll.websocket_sansio`, its names exported
  here too): `websockets.server.ServerProtocol` parses and serialises frames
  and runs the closing handshake; `handshake_request`, `select_subprotocol`
  and `Assembler` (whole messages out of frames) are plain functions and
  objects around it;
- `WSProtocol`, the `ws` object a handler receives: it moves bytes between that
  protocol and the asyncio transport the HTTP connection already has, and owns
  the handler's lifecycle (events, close codes, timeouts, back-pressure). The
  order of the app's events before the 101 is the app's (`App.admit`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, AsyncIterator, Protocol, cast

from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
)
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from .http import RouteOptions
from .websocket_sansio import (
    Assembler,
    Message,
    Pings,
    answer_handshake,
    closed_error,
    handshake_request,
    refusal,
    select_subprotocol,
)

if TYPE_CHECKING:
    from .protocol import HTTPProtocol
    from .request import Request
    from .response import Response

__all__ = [
    "Assembler",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "WSProtocol",
    "handshake_request",
    "refusal",
    "select_subprotocol",
]

log = logging.getLogger("roll")


# I/O: the `ws` object.


class App(Protocol):
    """What a websocket needs of the app (`roll.Roll` is one): its events."""

    async def hook(self, name: str, *args: Any, **kwargs: Any) -> Any: ...

    async def admit(self, request: Request, ws: WSProtocol) -> Any: ...


class WSProtocol:
    """One websocket connection: what a handler gets as `ws`.

    Limits are class attributes, read at run time: change them on this class
    or on a subclass set as `app.WebsocketProtocol`.
    """

    # Seconds to wait for the client's close frame after the server's.
    TIMEOUT: float = 5
    # Largest incoming message, in bytes (None: no limit); bigger closes with 1009.
    MAX_SIZE: int | None = 2**20
    # Messages received and not yet read before the socket stops being read.
    MAX_QUEUE: int = 16
    # Keepalive: seconds between pings (None: no keepalive), and seconds for the
    # pong to come back before the connection is failed with 1011.
    PING_INTERVAL: float | None = 20
    PING_TIMEOUT: float | None = 20
    # Bytes of automatic replies (pongs to its pings) queued for a client that
    # does not read its socket: past that, it is dropped (close 1008). Without
    # it, a client flooding pings would grow the server's memory without end.
    MAX_UNREAD: int = 1024 * 1024

    def __init__(
        self, app: App, http: HTTPProtocol, request: Request, response: Response
    ) -> None:
        self.app = app
        self.http = http
        self.request = request
        self.response = response
        self.protocol: ServerProtocol | None = None
        self.subprotocol: str | None = None
        self._loop = http.loop if http.loop is not None else asyncio.get_running_loop()
        self._pending = b""  # bytes received before the handshake was answered
        self._lost = False
        self._messages: deque[Message] = deque()
        self._assembler = Assembler()
        self._waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._pings = Pings()
        self._reading_paused = False
        self._drain: asyncio.Task[None] | None = None
        self._handler_done = False
        self._unread = 0  # bytes of replies queued while the client does not read
        # What runs once open: the route's handler, or what its `prepare` returned.
        self.handler: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request.path} {self.state.name}>"

    # State.

    @property
    def state(self) -> State:
        return self.protocol.state if self.protocol is not None else State.CONNECTING

    @property
    def closed(self) -> bool:
        return self.protocol is None or self.protocol.state is not State.OPEN

    @property
    def close_code(self) -> int | None:
        """The close code the client sent, once closed (1006 if it sent none)."""
        return self.protocol.close_code if self.protocol is not None else None

    @property
    def remote_address(self) -> Any:
        transport = self.http.transport
        return transport.get_extra_info("peername") if transport is not None else None

    # Handler API.

    async def recv(self) -> Message:
        """The next message: `str` for a text frame, `bytes` for a binary one."""
        protocol = self._protocol()
        while not self._messages:
            if protocol.state is not State.OPEN:
                raise closed_error(protocol)
            if self._waiter is not None:
                raise RuntimeError("recv() is already waiting for the next message")
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages.popleft()
        if self._reading_paused and len(self._messages) <= self.MAX_QUEUE // 4:
            self._resume_reading()
        return message

    async def __aiter__(self) -> AsyncIterator[Message]:
        """Every message until the client closes (normally: then the loop just ends)."""
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    async def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (`str`) or binary (`bytes`) message."""
        protocol = self._open()
        if isinstance(data, str):
            protocol.send_text(data.encode())
        elif isinstance(data, (bytes, bytearray, memoryview)):
            protocol.send_binary(data)
        else:
            raise TypeError(f"Cannot send {type(data).__name__}: str or bytes expected")
        self._flush()
        await self._drained()

    def ping(self, data: str | bytes | None = None) -> asyncio.Future[float]:
        """Send a ping; the future resolves with the latency (seconds) when the pong comes."""
        protocol = self._open()
        if data is None:
            data = os.urandom(4)
            while data in self._pings:
                data = os.urandom(4)
        elif isinstance(data, str):
            data = data.encode()
        if data in self._pings:
            raise RuntimeError("Already waiting for a pong with the same data")
        waiter: asyncio.Future[float] = self._loop.create_future()
        self._pings.add(data, waiter, self._loop.time())
        protocol.send_ping(data)
        self._flush()
        return waiter

    async def pong(self, data: str | bytes = b"") -> None:
        """Send an unsolicited pong (the answers to the client's pings are automatic)."""
        protocol = self._protocol()
        if protocol.state is not State.OPEN and protocol.state is not State.CLOSING:
            raise closed_error(protocol)
        protocol.send_pong(data.encode() if isinstance(data, str) else data)
        self._flush()
        await self._drained()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame, wait up to TIMEOUT for the client's, then drop the connection."""
        protocol = self._protocol()
        if protocol.state is State.OPEN:
            protocol.send_close(code, reason)
            self._flush()
        await self._wait_closed()
        self._close_transport()

    # Called by HTTPProtocol.

    async def run(self, data: bytes, previous: asyncio.Task[None] | None) -> None:
        """Answer the handshake, then run the handler (this is the connection's task)."""
        try:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])  # earlier pipelined responses go first
            if not await self.handshake():
                return
            pending, self._pending = self._pending + data, b""
            if self._reading_paused:
                self._resume_reading()
            self._receive(pending)
            await self.serve()
        except asyncio.CancelledError:
            self._close_transport()
            raise
        except Exception:
            log.exception("Websocket failure on %s", self.request.path)
            self._close_transport()
        finally:
            after = self.request.response_done()
            if after is not None:
                await after

    def data_received(self, data: bytes) -> None:
        if self.protocol is None:  # early frames, while earlier responses are written
            self._pending += data
            if len(self._pending) > 64 * 1024 and not self._reading_paused:
                self._pause_reading()
        else:
            self._receive(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        protocol = self.protocol
        if protocol is not None:
            protocol.receive_eof()  # idempotent; the state becomes CLOSED
            self._process(protocol)
        self._set_closed()
        self._wake()
        self._fail_pings()

    # Handshake and lifecycle.

    async def handshake(self) -> bool:
        """Write the 101, or the refusal (which closes the connection). True when accepted."""
        payload = cast(RouteOptions, self.request.route.payload or {})
        protocol, answer = answer_handshake(
            self.request, self.http.http_version(), payload.get("subprotocols"), self.MAX_SIZE
        )
        response = self.response
        accepted = answer.status_code == HTTPStatus.SWITCHING_PROTOCOLS
        if not accepted:
            response.status = answer.status_code
            for name, value in answer.headers.raw_items():
                if name not in ("Date", "Connection", "Content-Length"):
                    response.headers[name] = value
            response.body = answer.body
        if not accepted or not await self.admit():
            self.http.keep_alive = False
            await self.http.write(self.request, response)
            return False
        response.status = answer.status_code
        del answer.headers["Date"]  # like every Roll response: only the headers that matter
        response.headers = dict(answer.headers.raw_items())
        transport = self.http.transport
        if self._lost or transport is None or transport.is_closing():
            return False
        transport.write(answer.serialize())
        self.protocol = protocol
        self.subprotocol = protocol.subprotocol
        return True

    async def admit(self) -> bool:
        """Before the 101: may this valid handshake be upgraded? The app says
        (`App.admit`), and what to run once open; False when refused."""
        handler = await self.app.admit(self.request, self)
        if handler is None:
            return False
        self.handler = handler
        return True

    async def serve(self) -> None:
        """Run the handler between the two events and close with the right code."""
        handler = self.handler or (self.request.route.payload or {})["GET"]
        keepalive = None
        if self.PING_INTERVAL is not None:
            keepalive = self._loop.create_task(self._keepalive())
        cancelled = False
        try:
            await self.app.hook("websocket_connect", self.request, self)
            await handler(self.request, self, **self.request.route.vars)
        except ConnectionClosed as closed:
            log.debug("Websocket %s closed by the client: %s", self.request.path, closed)
            await self._finish(CloseCode.PROTOCOL_ERROR, "Connection closed untimely.")
        except asyncio.CancelledError:
            cancelled = True
            self._finish_now(CloseCode.GOING_AWAY, "Handler cancelled.")
        except Exception:
            log.exception("Websocket handler died on %s", self.request.path)
            await self._finish(CloseCode.INTERNAL_ERROR, "Handler died prematurely.")
        else:
            await self._finish(CloseCode.NORMAL_CLOSURE, "")
        finally:
            if keepalive is not None:
                keepalive.cancel()
            try:
                await self.app.hook("websocket_disconnect", self.request, self)
            except Exception:
                log.exception("Error in a websocket_disconnect listener")
        if cancelled:
            raise asyncio.CancelledError()

    async def _finish(self, code: int, reason: str) -> None:
        self._finish_now(code, reason, close=False)
        await self._wait_closed()
        self._close_transport()

    def _finish_now(self, code: int, reason: str, close: bool = True) -> None:
        """The handler is over: stop queueing, send the close frame if still open."""
        self._handler_done = True
        self._messages.clear()
        if self._reading_paused:
            self._resume_reading()
        protocol = self._protocol()
        if protocol.state is State.OPEN:
            protocol.send_close(code, reason)
            self._flush()
        if close:
            self._close_transport()

    async def _wait_closed(self) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._closed), self.TIMEOUT)
        except asyncio.TimeoutError:
            log.debug("Websocket %s: no close frame from the client", self.request.path)

    async def _keepalive(self) -> None:
        assert self.PING_INTERVAL is not None
        try:
            while True:
                await asyncio.sleep(self.PING_INTERVAL)
                pong = self.ping()
                try:
                    await asyncio.wait_for(pong, self.PING_TIMEOUT)
                except asyncio.TimeoutError:
                    protocol = self._protocol()
                    if protocol.state is State.OPEN:
                        log.info("Websocket %s: keepalive ping timeout", self.request.path)
                        protocol.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
                        self._flush()
                        self._close_transport()
                    return
        except ConnectionClosed:
            return

    # Moving bytes.

    def _protocol(self) -> ServerProtocol:
        if self.protocol is None:
            raise RuntimeError("The websocket handshake is not done")
        return self.protocol

    def _open(self) -> ServerProtocol:
        protocol = self._protocol()
        if protocol.state is not State.OPEN:
            raise closed_error(protocol)
        return protocol

    def _receive(self, data: bytes) -> None:
        protocol = self.protocol
        if not data or protocol is None or self._lost:
            return
        try:
            protocol.receive_data(data)
        except EOFError:  # data after the end of the stream: nothing to do with it
            return
        self._process(protocol)

    def _process(self, protocol: ServerProtocol) -> None:
        wake = False
        for event in protocol.events_received():
            if not isinstance(event, Frame):
                continue
            if event.opcode is Opcode.PONG:
                self._pings.pong(bytes(event.data), self._loop.time())
                continue
            try:
                message = self._assembler.feed(event)
            except UnicodeDecodeError as error:
                protocol.fail(CloseCode.INVALID_DATA, f"Invalid UTF-8: {error.reason}")
                break
            if message is None or self._handler_done:
                continue
            if protocol.state is not State.OPEN and len(self._messages) >= self.MAX_QUEUE:
                continue  # closing: do not let the queue grow past its size
            self._messages.append(message)
            wake = True
            if (
                len(self._messages) >= self.MAX_QUEUE
                and protocol.state is State.OPEN
                and not self._reading_paused
            ):
                self._pause_reading()
        replied = self._flush()
        if self.http.writing_paused:  # over the transport's high-water mark: not reading
            self._unread += replied
            if self._unread > self.MAX_UNREAD:
                self._drop_unreading(protocol)
        else:
            self._unread = 0
        if wake or protocol.state is not State.OPEN:
            self._wake()
        if protocol.state is not State.OPEN:
            self._fail_pings()

    def _flush(self) -> int:
        """Write what the protocol has to send; the number of bytes written."""
        protocol = self.protocol
        if protocol is None:
            return 0
        transport = self.http.transport
        written = 0
        for chunk in protocol.data_to_send():
            if not chunk:  # end of stream: the server closes the TCP connection
                self._close_transport()
            elif transport is not None and not transport.is_closing():
                transport.write(chunk)
                written += len(chunk)
        return written

    def _drop_unreading(self, protocol: ServerProtocol) -> None:
        """The client sends but does not read what that makes us send: drop it."""
        log.info("Websocket %s: the client does not read its pongs", self.request.path)
        if protocol.state is State.OPEN:
            protocol.fail(CloseCode.POLICY_VIOLATION, "Not reading")
        self.http.abort()  # a close frame would only queue behind what it does not read

    async def _drained(self) -> None:
        """Wait while the transport's write buffer is over its high-water mark."""
        http = self.http
        if not http.writing_paused or self._lost:
            return
        if self._drain is None or self._drain.done():
            self._drain = self._loop.create_task(http.drained())
        await asyncio.shield(self._drain)

    def _pause_reading(self) -> None:
        transport = self.http.transport
        if transport is not None and not transport.is_closing():
            self._reading_paused = True
            transport.pause_reading()

    def _resume_reading(self) -> None:
        self._reading_paused = False
        transport = self.http.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def _close_transport(self) -> None:
        transport = self.http.transport
        if transport is not None and not transport.is_closing():
            transport.close()
        self._set_closed()

    def _set_closed(self) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail_pings(self) -> None:
        if self._pings and self.protocol is not None:
            self._pings.fail(closed_error(self.protocol))
