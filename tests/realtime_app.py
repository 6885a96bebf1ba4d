"""The app the real-time tests run in subprocesses (`python -m roll tests.realtime_app`),
behind nginx and next to each other through Redis.

$ROLL_TEST_BROADCAST is the broadcast URL (default memory://).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from roll.broadcast import Broadcast
from roll.typed import EventStream, Header, ServerSentEvent, TypedRoll, WebSocket

app = TypedRoll()
broadcast = Broadcast(os.environ.get("ROLL_TEST_BROADCAST", "memory://"))
broadcast.attach(app)


@app.route("/pid")
async def pid() -> str:
    return str(os.getpid())


@app.route("/client")
async def client(request: Any) -> dict[str, Any]:
    return {"client": request.client, "scheme": request.scheme, "pid": os.getpid()}


@app.route("/slow")
async def slow(seconds: float = 0.2) -> str:
    await asyncio.sleep(seconds)
    return "done"


@app.route("/publish/{room}", methods=["POST"], lazy_body=True)
async def publish(request: Any, room: str) -> str:
    await broadcast.publish(room, await request.read())
    return "ok"


@app.route("/chat/{room}", protocol="websocket")
async def chat(ws: WebSocket, room: str) -> None:
    """Every message of the room, from any process; what the client says goes to the room."""
    async with broadcast.subscribe(room) as subscriber:
        await ws.send_json({"joined": room, "pid": os.getpid()})

        async def forward() -> None:  # ends on shutdown or a lost Redis connection
            async for message in subscriber:
                await ws.send(message)

        async def listen() -> None:  # ends when the client leaves
            async for message in ws:
                await broadcast.publish(room, message)

        tasks = [asyncio.create_task(forward()), asyncio.create_task(listen())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # its error, if any
        finally:
            for task in tasks:
                task.cancel()


@app.route("/echo", protocol="websocket")
async def echo(ws: WebSocket) -> None:
    async for message in ws:
        await ws.send(message)


@app.route("/events")
async def events(
    count: int = 3,
    pause: float = 0.0,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID")] = None,
) -> EventStream:
    start = 0 if last_event_id is None else last_event_id + 1

    async def generate() -> AsyncIterator[ServerSentEvent]:
        for number in range(start, count):
            yield ServerSentEvent({"n": number, "pid": os.getpid()}, id=str(number))
            await asyncio.sleep(pause)

    return EventStream(generate())
