"""The websocket's protocol logic, without I/O: handshake, subprotocol, messages, pings.

`websockets.server.ServerProtocol` parses and serialises frames and runs the
closing handshake; these functions and objects are what Roll puts around it.
`roll.websocket.WSProtocol` does the I/O (and exports these names too).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import TYPE_CHECKING, Sequence

from websockets.http11 import Response as HandshakeResponse

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.frames import OK_CLOSE_CODES, Frame, Opcode
from websockets.http11 import Request as HandshakeRequest
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

if TYPE_CHECKING:
    from .request import Request

Message = str | bytes


def handshake_request(request: Request) -> HandshakeRequest:
    """The `websockets` handshake request, built from what httptools already parsed.

    Method and HTTP version are checked by `refusal` (websockets < 17 has no
    fields for them).
    """
    headers = Headers()
    for name, value in request.headers.items():
        if not value.isascii():
            # The core decodes header values as UTF-8; `websockets` wants
            # them as latin-1 text (one character a byte): give it the bytes.
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                value = value.encode().decode("latin-1")
        headers[name] = value
    path = request.url.decode("latin-1") if request.url else request.path or "/"
    return HandshakeRequest(path, headers)


def refusal(
    method: str | None, http_version: str, ws_version: str | None = "13"
) -> tuple[HTTPStatus, str] | None:
    """Why a handshake cannot be accepted before looking at its headers, if it cannot.

    A `Sec-WebSocket-Version` other than 13 is a 426 (RFC 6455 §4.4), which
    the answer completes with the version this server speaks; a missing one
    is left to `websockets` (a malformed handshake, 400).
    """
    if method != "GET":
        return HTTPStatus.METHOD_NOT_ALLOWED, f"invalid HTTP method; expected GET; got {method}"
    if http_version != "1.1":
        return (
            HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
            f"invalid HTTP version; expected HTTP/1.1; got HTTP/{http_version}",
        )
    if ws_version is not None and ws_version.strip() != "13":
        return (
            HTTPStatus.UPGRADE_REQUIRED,
            f"unsupported Sec-WebSocket-Version; expected 13; got {ws_version}",
        )
    return None


def select_subprotocol(
    offered: Sequence[str], allowed: Sequence[str] | None
) -> Subprotocol | None:
    """The first subprotocol the client lists that the route allows, else None."""
    if allowed:
        for name in offered:
            if name in allowed:
                return Subprotocol(name)
    return None


def answer_handshake(
    request: Request, http_version: str, allowed: Sequence[str] | None, max_size: int | None
) -> tuple[ServerProtocol, HandshakeResponse]:
    """The protocol for the connection, and the answer to its handshake: a 101, or why not."""

    def choose(protocol: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        return select_subprotocol(offered, allowed)

    protocol = ServerProtocol(select_subprotocol=choose, state=State.OPEN, max_size=max_size)
    refused = refusal(request.method, http_version, request.headers.get("SEC-WEBSOCKET-VERSION"))
    if refused is None:
        return protocol, protocol.accept(handshake_request(request))
    answer = protocol.reject(*refused)
    if refused[0] == HTTPStatus.METHOD_NOT_ALLOWED:
        answer.headers["Allow"] = "GET"
    elif refused[0] == HTTPStatus.UPGRADE_REQUIRED:
        answer.headers["Upgrade"] = "websocket"
        answer.headers["Sec-WebSocket-Version"] = "13"
    return protocol, answer


class Assembler:
    """Turns data frames (possibly fragmented) into whole messages."""

    __slots__ = ("_parts", "_text")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._text = False

    def feed(self, frame: Frame) -> Message | None:
        """The message this frame completes, if any. Raises UnicodeDecodeError on bad text."""
        if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.BINARY:
            self._parts = []
            self._text = frame.opcode is Opcode.TEXT
        elif frame.opcode is not Opcode.CONT:
            return None
        self._parts.append(bytes(frame.data))
        if not frame.fin:
            return None
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts = []
        return data.decode() if self._text else data


def closed_error(protocol: ServerProtocol) -> ConnectionClosed:
    """What to raise on a connection that is closing or closed (`close_exc` wants CLOSED)."""
    if protocol.state is State.CLOSED:
        return protocol.close_exc
    rcvd, sent = protocol.close_rcvd, protocol.close_sent
    ok = (
        rcvd is not None
        and sent is not None
        and rcvd.code in OK_CLOSE_CODES
        and sent.code in OK_CLOSE_CODES
    )
    kind = ConnectionClosedOK if ok else ConnectionClosedError
    return kind(rcvd, sent, protocol.close_rcvd_then_sent)


class Pings:
    """The pings sent and not answered yet: each one's waiter, resolved with the latency."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: dict[bytes, tuple[asyncio.Future[float], float]] = {}

    def __contains__(self, data: bytes) -> bool:
        return data in self._waiting

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def add(self, data: bytes, waiter: asyncio.Future[float], now: float) -> None:
        self._waiting[data] = (waiter, now)

    def pong(self, data: bytes, now: float) -> None:
        """A pong came: it answers its ping and every earlier one (others are ignored)."""
        if data not in self._waiting:
            return
        for key in list(self._waiting):
            waiter, sent = self._waiting.pop(key)
            if not waiter.done():
                waiter.set_result(now - sent)
            if key == data:
                break

    def fail(self, error: BaseException) -> None:
        """The connection is closing: no pong will come."""
        for waiter, _ in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # retrieved: an ignored ping must not log at GC
        self._waiting.clear()
