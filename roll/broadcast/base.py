"""What the broadcast and its backends share: the message type, the backend
interface, and the `Hub` a backend reports to (the `Broadcast`)."""

from __future__ import annotations

from typing import Protocol

Message = str | bytes


class Backend(Protocol):
    """How messages leave and reach this process. It calls `broadcast.dispatch`
    for each message received, and `broadcast.lost` when its connection is lost."""

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, message: Message) -> None: ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...


def as_message(data: bytes) -> Message:
    """`str` when the bytes are valid UTF-8, else the bytes."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data


class Hub(Protocol):
    """What a backend calls on the `Broadcast` that owns it."""

    url: str
    max_delay: float

    def dispatch(self, channel: str, message: Message) -> None: ...

    def lost(self, error: BaseException) -> None: ...

    def reconnected(self) -> None: ...
