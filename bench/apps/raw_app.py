"""The ceiling: a bare asyncio.Protocol on uvloop answering a fixed response."""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop

BODY = b'{"message":"Hello, World!"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


class FixedResponse(asyncio.Protocol):
    """Answers every request head (GET, no body) with RESPONSE."""

    __slots__ = ("transport", "pending")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        if self.pending:
            data = self.pending + data
        count = data.count(b"\r\n\r\n")
        self.pending = data[data.rfind(b"\r\n\r\n") + 4 :] if count else data
        if count and self.transport is not None:
            self.transport.write(RESPONSE * count)


async def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])  # no shared module: no pydantic here
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FixedResponse, host, port, backlog=2048)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()


if __name__ == "__main__":
    uvloop.run(main())
