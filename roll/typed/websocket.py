"""`WebSocket`: the type to annotate a websocket handler's connection with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class WebSocket(Protocol):
    """What a handler uses of the core's websocket (`roll.WSProtocol`)."""

    async def recv(self) -> str | bytes: ...

    async def send(self, data: str | bytes) -> Any: ...

    async def close(self, code: int = 1000, reason: str = "") -> Any: ...

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...
