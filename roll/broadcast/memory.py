"""`memory://`: channels within one process, no server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Hub, Message


class MemoryBackend:
    def __init__(self, broadcast: Hub) -> None:
        self.broadcast = broadcast

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def publish(self, channel: str, message: Message) -> None:
        if isinstance(message, bytes):  # as through Redis: text when it is UTF-8
            try:
                message = message.decode()
            except UnicodeDecodeError:
                pass
        self.broadcast.dispatch(channel, message)

    async def subscribe(self, channel: str) -> None:
        pass

    async def unsubscribe(self, channel: str) -> None:
        pass
