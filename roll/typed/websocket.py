"""`WebSocket`: the websocket a typed handler gets, with typed JSON messages.

A thin wrapper around the core's connection (`roll.WSProtocol`, kept as
`ws.core`): the core's methods, plus `receive_json(T)`, `iter_json(T)` and
`send_json(value)`. Messages are validated by pydantic-core straight from the
frame's text or bytes, in one pass, with a validator built once per type.
An invalid message raises `InvalidRequest` (the problems an HTTP request
would get); if the handler lets it escape, the connection closes with 1007
and a reason naming the first problem (see `close_invalid`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, overload

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_json

from roll.websocket import ConnectionClosedOK

from .errors import InvalidRequest, Problem, problem

__all__ = ["WebSocket", "close_invalid"]

T = TypeVar("T")

LOCATION = "message"
# The reason of a close frame: at most 123 bytes (RFC 6455, 5.5).
MAX_REASON = 123
INVALID_DATA = 1007

_validators: dict[Any, Callable[[str | bytes], Any]] = {}
_serializers: dict[Any, Callable[[Any], bytes]] = {}


def validator(tp: Any) -> Callable[[str | bytes], Any]:
    """`validate_json` of `tp`, built at first use and kept."""
    try:
        return _validators[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable annotation: not cached
        return TypeAdapter(tp).validator.validate_json
    validate: Callable[[str | bytes], Any] = TypeAdapter(tp).validator.validate_json
    _validators[tp] = validate
    return validate


def serializer(tp: Any) -> Callable[[Any], bytes]:
    """JSON for a value declared as `tp` (only the fields `tp` declares)."""
    try:
        return _serializers[tp]
    except KeyError:
        pass
    except TypeError:
        return _adapter_serializer(tp)
    serialize = _serializers[tp] = _adapter_serializer(tp)
    return serialize


def _adapter_serializer(tp: Any) -> Callable[[Any], bytes]:
    # NaN and infinities: null (pydantic's default for declared types).
    serialize: Callable[[Any], bytes] = TypeAdapter(tp).serializer.to_json
    return serialize


def message_problems(error: ValidationError) -> list[Problem]:
    return [
        problem(LOCATION, ".".join(str(part) for part in item["loc"]) or LOCATION, item["msg"])
        for item in error.errors()
    ]


def close_reason(error: InvalidRequest) -> str:
    """The first problem, cut to fit a close frame (on a character boundary)."""
    first = error.problems[0] if error.problems else None
    text = "Invalid message" if first is None else f"{first['name']}: {first['message']}"
    data = text.encode()
    if len(data) <= MAX_REASON:
        return text
    return data[: MAX_REASON - 3].decode(errors="ignore") + "..."


async def close_invalid(ws: Any, error: InvalidRequest) -> None:
    """Close with 1007 (invalid data), unless the connection is over already."""
    if not ws.closed:
        await ws.close(INVALID_DATA, close_reason(error))


class WebSocket:
    """The connection a typed websocket handler gets (annotated, or named `ws`)."""

    __slots__ = ("core",)

    def __init__(self, core: Any) -> None:
        self.core = core  # the core's `WSProtocol`

    def __repr__(self) -> str:
        return f"<WebSocket {self.core!r}>"

    # The same connection as the core's object: found in the sets of
    # `websockets_store`, whichever of the two is looked up.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, WebSocket):
            return self.core is other.core
        return self.core is other

    def __hash__(self) -> int:
        return hash(self.core)

    # The core's API.

    @property
    def request(self) -> Any:
        return self.core.request

    @property
    def subprotocol(self) -> str | None:
        subprotocol: str | None = self.core.subprotocol
        return subprotocol

    @property
    def closed(self) -> bool:
        return bool(self.core.closed)

    @property
    def close_code(self) -> int | None:
        code: int | None = self.core.close_code
        return code

    @property
    def remote_address(self) -> Any:
        return self.core.remote_address

    async def recv(self) -> str | bytes:
        message: str | bytes = await self.core.recv()
        return message

    async def send(self, data: str | bytes) -> None:
        await self.core.send(data)

    def ping(self, data: str | bytes | None = None) -> Any:
        return self.core.ping(data)

    async def pong(self, data: str | bytes = b"") -> None:
        await self.core.pong(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.core.close(code, reason)

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        try:
            while True:
                yield await self.core.recv()
        except ConnectionClosedOK:
            return

    # Typed JSON messages.

    @overload
    async def receive_json(self, tp: type[T]) -> T: ...

    @overload
    async def receive_json(self, tp: Any) -> Any: ...

    async def receive_json(self, tp: Any) -> Any:
        """The next message (text or binary frame), validated as `tp`."""
        validate = validator(tp)
        message = await self.core.recv()
        try:
            return validate(message)
        except ValidationError as error:
            raise InvalidRequest(message_problems(error)) from None

    @overload
    def iter_json(self, tp: type[T]) -> AsyncIterator[T]: ...

    @overload
    def iter_json(self, tp: Any) -> AsyncIterator[Any]: ...

    def iter_json(self, tp: Any) -> AsyncIterator[Any]:
        """Every message validated as `tp`, until the client closes normally."""
        return self._iter_json(validator(tp))

    async def _iter_json(self, validate: Callable[[str | bytes], Any]) -> AsyncIterator[Any]:
        recv = self.core.recv
        while True:
            try:
                message = await recv()
            except ConnectionClosedOK:
                return
            try:
                value = validate(message)
            except ValidationError as error:
                raise InvalidRequest(message_problems(error)) from None
            yield value

    async def send_json(self, value: Any, tp: Any = None) -> None:
        """Send `value` (a model, dataclass, dict, list...) as one JSON text frame.

        With `tp`, it is serialised as that type: only the fields `tp`
        declares (as for a typed HTTP handler's declared return type).
        """
        if tp is None:
            data = to_json(value, inf_nan_mode="null")
        else:
            data = serializer(tp)(value)
        await self.core.send(data.decode())
