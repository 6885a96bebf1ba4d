"""Streamed (async iterable) bodies and the connection: the core's side of event streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hardening_helpers import connect, read_until

from roll import Request, Response, Roll
from roll.server import Server


async def test_a_waiting_stream_is_closed_when_the_client_leaves(app: Roll) -> None:
    closed = asyncio.Event()

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                await asyncio.sleep(3600)  # nothing more to say for a long time
                yield b"never"
            finally:
                closed.set()

        response.body = body()

    server = Server(app)
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await connect(server.addresses[0][1])
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        await read_until(reader, b"first")
        writer.transport.abort()
        await asyncio.wait_for(closed.wait(), 2)
    finally:
        await server.stop(grace=1)


async def test_a_stream_can_bring_default_headers_and_a_shutdown(app: Roll) -> None:
    class Endless:
        response_headers = {"Content-Type": "text/x-endless", "X-Custom": "1"}

        def __init__(self) -> None:
            self.stop = asyncio.Event()

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self.generate()

        async def generate(self) -> AsyncIterator[bytes]:
            yield b"tick"
            await self.stop.wait()

        def shutdown(self) -> None:
            self.stop.set()

    @app.route("/endless")
    async def endless(request: Request, response: Response) -> None:
        response.headers["X-Custom"] = "handler"  # the handler's own header wins
        response.body = Endless()

    server = Server(app)
    await server.start("127.0.0.1", 0)
    reader, writer = await connect(server.addresses[0][1])
    writer.write(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
    received = await read_until(reader, b"tick")
    assert b"Content-Type: text/x-endless\r\n" in received
    assert b"X-Custom: handler\r\n" in received
    started = asyncio.get_running_loop().time()
    await server.stop(grace=10)  # asks the stream to end: no waiting for the grace
    assert asyncio.get_running_loop().time() - started < 5
    rest = await asyncio.wait_for(reader.read(), 5)
    assert (received + rest).endswith(b"0\r\n\r\n")  # ended properly, then closed
    writer.close()
