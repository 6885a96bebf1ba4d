"""Raw-socket helpers for the limits, timeouts and failure tests.

The in-memory driver and the response reader are public: `roll.testing`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from typing import Any, AsyncIterator

from roll import Request, Response, Roll
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


async def read_until(
    reader: asyncio.StreamReader, marker: bytes, received: bytes = b"", timeout: float = 5.0
) -> bytes:
    """Read on (after `received`) until `marker` has come; all received so far."""
    async with asyncio.timeout(timeout):
        while marker not in received:
            data = await reader.read(1024)
            if not data:
                raise ConnectionError(f"closed by the server after {received!r}")
            received += data
    return received


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


async def send_slowly(port: int, first: bytes, piece: bytes, times: int, pause: float) -> bytes:
    """Send `first`, then `piece` `times` times, `pause` seconds apart (or until
    the server stops reading); return all it sent until it closed."""
    reader, writer = await connect(port)
    writer.write(first)
    try:
        for _ in range(times):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(pause)
    except ConnectionError:
        pass
    raw = await read_until_closed(reader)
    writer.close()
    return raw


async def big_stream(events: list[Any], count: int = 1000) -> AsyncIterator[bytes]:
    """`count` chunks of 64 KiB, with a loop turn between them; "stream closed" in `events` at its end."""
    try:
        for _ in range(count):
            yield b"x" * 65536
            await asyncio.sleep(0)
    finally:
        events.append("stream closed")


def add_common_routes(app: Roll) -> Roll:
    """The routes the limits, timeouts and failure tests share.

    `/` (GET, POST) answers `got <body size>` and logs its path in app["calls"];
    `/lazy` (POST, lazy body) reads the body in chunks, logs the running total
    in app["seen"], answers `got <total>`; `/sleep?s=` sleeps `s` seconds, logs
    "slept <s>" or "cancelled" in app["events"]; `/stream` streams `big_stream`.
    """
    app["calls"], app["seen"], app["events"] = [], [], []

    @app.route("/", methods=["GET", "POST"])
    async def index(request: Request, response: Response) -> None:
        app["calls"].append(request.path)
        response.body = f"got {len(request.body)}"

    @app.route("/lazy", methods=["POST"], lazy_body=True)
    async def lazy(request: Request, response: Response) -> None:
        total = 0
        async for chunk in request:
            total += len(chunk)
            app["seen"].append(total)
        response.body = f"got {total}"

    @app.route("/sleep")
    async def sleep(request: Request, response: Response) -> None:
        try:
            await asyncio.sleep(request.query.float("s"))
        except asyncio.CancelledError:
            app["events"].append("cancelled")
            raise
        app["events"].append(f"slept {request.query.get('s')}")
        response.body = "slept"

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        response.body = big_stream(app["events"], 10_000)

    return app
