"""Websocket clients that misbehave: a ping flood that never reads its pongs, a wrong version."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from http import HTTPStatus

import pytest
from websockets.asyncio.client import connect

from roll import Request, Roll, WSProtocol
from roll.testing import LiveClient
from roll.websocket import refusal

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


def masked_ping(payload: bytes) -> bytes:
    """A client ping frame (clients mask their frames)."""
    mask = os.urandom(4)
    data = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return struct.pack("!BB", 0x89, 0x80 | len(payload)) + mask + data


@pytest.fixture
def app() -> Roll:
    app = Roll()

    @app.route("/ws", protocol="websocket")
    async def echo(request: Request, ws: WSProtocol) -> None:
        async for message in ws:
            await ws.send(message)

    return app


async def flood(port: int, limit: int) -> int:
    """Send pings, never read; return how many bytes went out before the server dropped us."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    await loop.sock_sendall(sock, HANDSHAKE + b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)  # byte by byte: leave the pongs unread
    assert head.startswith(b"HTTP/1.1 101 ")
    burst = masked_ping(b"p" * 125) * 512  # 67 KB of pings
    sent = 0
    try:
        while sent < limit:
            await asyncio.wait_for(loop.sock_sendall(sock, burst), 20)
            sent += len(burst)
    except (ConnectionResetError, BrokenPipeError):
        return sent
    finally:
        sock.close()
    return sent


async def test_ping_flood_without_reading_is_dropped(
    app: Roll, liveclient: LiveClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roll")
    sent = await flood(liveclient.port, 64 * 1024 * 1024)
    # Dropped once the kernel buffers are full and MAX_UNREAD more is queued:
    # megabytes, not the 64 MB the client was ready to send (and more).
    assert sent < 32 * 1024 * 1024
    assert "does not read its pongs" in caplog.text
    await asyncio.sleep(0.05)
    assert not app.connections  # the server let go of it


async def test_unread_limit_is_a_class_attribute(
    app: Roll, liveclient: LiveClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WSProtocol, "MAX_UNREAD", 64 * 1024 * 1024)
    sent = await flood(liveclient.port, 16 * 1024 * 1024)
    assert sent >= 16 * 1024 * 1024  # not dropped under that larger limit


async def test_pings_from_a_reading_client_are_answered(app: Roll, liveclient: LiveClient) -> None:
    async with connect(f"{liveclient.wsl}/ws") as ws:
        for _ in range(2000):  # well over MAX_UNREAD in pongs, but read as they come
            await (await ws.ping(b"x" * 125))
        await ws.send("still here")
        assert await ws.recv() == "still here"


@pytest.mark.parametrize("version", [b"8", b"14", b"13, 8"])
async def test_wrong_version_is_426_with_the_supported_one(
    app: Roll, liveclient: LiveClient, version: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(HANDSHAKE + b"Sec-WebSocket-Version: " + version + b"\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    head = answer.partition(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 426 Upgrade Required"
    assert b"Sec-WebSocket-Version: 13" in head
    assert b"Upgrade: websocket" in head


async def test_missing_version_is_still_400(app: Roll, liveclient: LiveClient) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    writer.write(HANDSHAKE + b"\r\n")
    answer = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_refusal_of_versions() -> None:
    assert refusal("GET", "1.1", "13") is None
    assert refusal("GET", "1.1", None) is None
    refused = refusal("GET", "1.1", "7")
    assert refused is not None and refused[0] == HTTPStatus.UPGRADE_REQUIRED
