"""Typed websocket messages: receive_json / iter_json / send_json, over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from typing_extensions import TypedDict

import pytest
import pytest_asyncio
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from roll import WSProtocol
from roll.extensions import websockets_store
from roll.server import Server
from roll.typed import Depends, InvalidRequest, TypedRoll, WebSocket
from roll.typed.websocket import close_reason, validator


class Move(BaseModel):
    x: int
    y: int


class Player(BaseModel):
    name: str


class SecretPlayer(Player):
    password: str


class Score(TypedDict):
    name: str
    points: int


@dataclass
class Point:
    x: float
    y: float


def make_app() -> TypedRoll:
    app = TypedRoll()
    websockets_store(app)

    @app.route("/move", protocol="websocket")
    async def move(ws: WebSocket) -> None:
        first = await ws.receive_json(Move)
        await ws.send_json({"got": first.model_dump(), "type": type(first).__name__})
        async for item in ws.iter_json(Move):
            await ws.send_json(item)

    @app.route("/numbers", protocol="websocket")
    async def numbers(ws) -> None:  # type: ignore[no-untyped-def]  # by name: the typed one
        total = 0
        async for number in ws.iter_json(int):
            total += number
        app["total"] = total

    @app.route("/polite", protocol="websocket")
    async def polite(ws: WebSocket) -> None:
        while True:
            try:
                move = await ws.receive_json(Move)
            except InvalidRequest as error:
                await ws.send_json({"errors": error.problems})
                continue
            await ws.send_json(move)

    @app.route("/out", protocol="websocket")
    async def out(ws: WebSocket) -> None:
        secret = SecretPlayer(name="ann", password="hunter2")
        await ws.send_json(secret, Player)  # declared type: no password
        await ws.send_json({"name": "bob", "points": 3, "extra": 1}, Score)
        await ws.send_json(Point(1.5, float("nan")))
        await ws.send_json([1, "two", None])
        await ws.send_json(secret)  # no type: the whole model
        await ws.recv()

    @app.route("/stored", protocol="websocket")
    async def stored(ws: WebSocket) -> None:
        await ws.send(json.dumps({"stored": ws in app["websockets"]}))
        await ws.recv()

    async def session() -> AsyncIterator[str]:
        try:
            yield "session"
        except InvalidRequest as error:
            app["finished with"] = error.problems[0]["name"]
            raise

    @app.route("/with-provider", protocol="websocket")
    async def with_provider(ws: WebSocket, name: Annotated[str, Depends(session)]) -> None:
        await ws.receive_json(Move)

    @app.route("/core", protocol="websocket")
    async def core(ws: WSProtocol) -> None:
        await ws.send(type(ws).__name__)
        await ws.recv()

    return app


@pytest_asyncio.fixture
async def port() -> AsyncIterator[int]:
    app = make_app()
    server = Server(app)
    await server.start("127.0.0.1", 0)
    port: int = server.addresses[0][1]
    port_app[port] = app
    yield port
    await server.stop(grace=1)


port_app: dict[int, TypedRoll] = {}


async def receive(client: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(client.recv(), 5))


async def closed(client: ClientConnection) -> tuple[int | None, str | None]:
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(client.recv(), 5)
    assert client.close_code is not None
    return client.close_code, client.close_reason


async def test_receive_and_iterate_from_text_and_binary_frames(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/move") as client:
        await client.send('{"x": 1, "y": 2}')
        assert await receive(client) == {"got": {"x": 1, "y": 2}, "type": "Move"}
        await client.send(b'{"x": "3", "y": 4}')  # binary frame, lax int
        assert await receive(client) == {"x": 3, "y": 4}
        await client.send('{"x": 5, "y": 6}')
        assert await receive(client) == {"x": 5, "y": 6}


async def test_iteration_ends_when_the_client_closes(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/numbers") as client:
        for number in (1, 2, 3):
            await client.send(str(number))
    app = port_app[port]
    async with asyncio.timeout(5):
        while "total" not in app:
            await asyncio.sleep(0.01)
    assert app["total"] == 6
    assert client.close_code == 1000


async def test_invalid_message_escaping_closes_1007_naming_the_problem(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/move") as client:
        await client.send('{"x": 1}')
        assert await closed(client) == (1007, "y: Field required")
    async with connect(f"ws://127.0.0.1:{port}/move") as client:
        await client.send("{not json")
        code, reason = await closed(client)
        assert code == 1007 and reason is not None and reason.startswith("message: Invalid JSON")
    async with connect(f"ws://127.0.0.1:{port}/numbers") as client:
        await client.send("1")
        await client.send('"many"')
        assert await closed(client) == (1007, "message: Input should be a valid integer, unable to parse string as an integer")


async def test_the_providers_get_the_invalid_message_error(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/with-provider") as client:
        await client.send('{"y": 1}')
        assert await closed(client) == (1007, "x: Field required")
    assert port_app[port]["finished with"] == "x"


async def test_a_handler_can_catch_the_problems(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/polite") as client:
        await client.send('{"x": "a", "z": 1}')
        assert await receive(client) == {
            "errors": [
                {"location": "message", "name": "x", "message": "Input should be a valid integer, unable to parse string as an integer"},
                {"location": "message", "name": "y", "message": "Field required"},
            ]
        }
        await client.send('{"x": 1, "y": 1}')
        assert await receive(client) == {"x": 1, "y": 1}


async def test_send_json_serialises_and_filters_by_declared_type(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/out") as client:
        messages = [await asyncio.wait_for(client.recv(), 5) for _ in range(5)]
        assert all(isinstance(message, str) for message in messages)  # text frames
        assert [json.loads(message) for message in messages] == [
            {"name": "ann"},
            {"name": "bob", "points": 3},
            {"x": 1.5, "y": None},
            [1, "two", None],
            {"name": "ann", "password": "hunter2"},
        ]


async def test_the_typed_websocket_is_the_stored_connection(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/stored") as client:
        assert await receive(client) == {"stored": True}


async def test_annotated_with_the_core_class_gets_the_core_object(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/core") as client:
        assert await asyncio.wait_for(client.recv(), 5) == "WSProtocol"


def test_validators_are_built_once_per_type() -> None:
    assert validator(Move) is validator(Move)
    assert validator(list[int]) is validator(list[int])


def test_close_reason_fits_a_close_frame() -> None:
    error = InvalidRequest([{"location": "message", "name": "é" * 100, "message": "x" * 100}])
    reason = close_reason(error)
    assert len(reason.encode()) <= 123 and reason.endswith("...")
    assert close_reason(InvalidRequest([])) == "Invalid message"
