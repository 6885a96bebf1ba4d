"""WebSocket support (placeholder until the sans-I/O implementation lands)."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import Roll
    from .protocol import HTTPProtocol
    from .request import Request
    from .response import Response


class ConnectionClosed(Exception):
    """The websocket connection is closed."""


class WSProtocol:
    TIMEOUT = 5

    def __init__(
        self, app: Roll, http: HTTPProtocol, request: Request, response: Response
    ) -> None:
        self.app = app
        self.http = http
        self.request = request
        self.response = response

    async def run(self, data: bytes, previous: asyncio.Task[None] | None) -> None:
        self.response.status = HTTPStatus.NOT_IMPLEMENTED
        self.http.keep_alive = False
        await self.http.write(self.request, self.response)

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        pass
