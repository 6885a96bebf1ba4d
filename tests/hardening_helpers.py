"""Helpers for the limits, timeouts, failure and fuzz tests: raw sockets and an in-memory driver."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

import httptools

from roll import Roll
from roll.testing import Transport


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Collector:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self._current = Reply()
        self.parser: httptools.HttpResponseParser | None = None

    def on_message_begin(self) -> None:
        self._current = Reply()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._current.headers[name.decode()] = value.decode()

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self._current.status = self.parser.get_status_code()

    def on_body(self, data: bytes) -> None:
        self._current.body += data

    def on_message_complete(self) -> None:
        self.replies.append(self._current)


def parse_replies(raw: bytes) -> list[Reply]:
    """Every complete response in `raw`."""
    collector = _Collector()
    parser = httptools.HttpResponseParser(collector)
    collector.parser = parser
    try:
        parser.feed_data(raw)
    except httptools.HttpParserError:
        pass
    return collector.replies


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
) -> list[Reply]:
    """Read `count` responses on a connection that stays open."""
    raw = b""
    async with asyncio.timeout(timeout):
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError(f"closed by the server after {raw!r}")
            raw += data
            replies = parse_replies(raw)
            if len(replies) >= count:
                assert len(replies) == count, raw
                return replies


async def read_reply(reader: asyncio.StreamReader, timeout: float = 5.0) -> Reply:
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


async def feed_protocol(app: Roll, chunks: list[bytes]) -> Transport:
    """Feed `chunks` to a fresh protocol in memory, then drop the connection.

    Asserts the protocol never raised, no task was left hanging or failed, and
    nothing reached the loop's exception handler. Returns the transport.
    """
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    app.loop = loop
    protocol = app.HttpProtocol(app)
    transport = Transport()
    protocol.connection_made(transport)
    for chunk in chunks:
        protocol.data_received(chunk)  # must never raise
        await asyncio.sleep(0)
    if not transport.is_closing():
        await asyncio.sleep(0)
    protocol.connection_lost(None)  # ends requests still waiting for a body
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    if pending:
        done, still = await asyncio.wait(pending, timeout=5)
        assert not still, "tasks left hanging"
        for task in done:
            assert not task.cancelled()
            assert task.exception() is None
    assert errors == []
    return transport
