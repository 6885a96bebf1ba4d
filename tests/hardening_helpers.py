"""Raw-socket helpers for the limits, timeouts and failure tests.

The in-memory driver and the response reader are public: `roll.testing`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

from roll import Roll
from roll.testing import WireResponse, read_responses


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    """All the server sends until it closes; fails the test if it does not close."""
    chunks: list[bytes] = []
    async with asyncio.timeout(timeout):
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, return what comes back until the server closes."""
    reader, writer = await connect(port)
    try:
        writer.write(data)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        return await read_until_closed(reader, timeout)
    finally:
        writer.close()


async def read_replies(
    reader: asyncio.StreamReader, count: int, timeout: float = 5.0
) -> list[WireResponse]:
    """Read `count` responses on a connection that stays open."""
    raw = b""
    async with asyncio.timeout(timeout):
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError(f"closed by the server after {raw!r}")
            raw += data
            replies = read_responses(raw)
            if len(replies) >= count:
                assert len(replies) == count, raw
                return replies


async def read_reply(reader: asyncio.StreamReader, timeout: float = 5.0) -> WireResponse:
    """Read one response on a connection that stays open."""
    return (await read_replies(reader, 1, timeout))[0]


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: the rudest way a client can leave."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def serve(app: Roll) -> tuple[asyncio.Server, int]:
    """Serve `app` on 127.0.0.1 (an ephemeral port), without the liveclient fixture."""
    loop = asyncio.get_running_loop()
    app.loop = loop
    server = await loop.create_server(app.factory, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    return server, port


def get(path: str = "/", headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()
