"""Typed websocket routes: parameters resolved before the 101, so bad input
gets the JSON 400 of HTTP routes and no upgrade; good input gets its values."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from roll import HttpError
from roll.testing import Client, LiveClient
from roll.typed import Cookie, Depends, Header, InvalidRequest, Query, TypedRoll, WebSocket

from typed.support import problem_places

HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
def app(events: list[Any]) -> TypedRoll:
    app = TypedRoll()

    async def user(token: Annotated[str, Header(alias="X-Token")] = "") -> str:
        if not token:
            raise HttpError(HTTPStatus.UNAUTHORIZED, "Who are you?")
        return token

    async def session(
        size: Annotated[int, Query()] = 10, slow: Annotated[float, Query()] = 0
    ) -> AsyncIterator[dict[str, int]]:
        events.append("enter")
        if slow:
            await asyncio.sleep(slow)
        try:
            yield {"size": size}
        except BaseException as error:
            events.append(f"error {type(error).__name__}")
            raise
        else:
            events.append("exit")

    @app.route("/rooms/{room}", protocol="websocket")
    async def room(
        ws: WebSocket,
        room: int,
        name: Annotated[str, Query()],
        lang: Annotated[str, Cookie()] = "en",
        level: Annotated[int, Header(alias="X-Level")] = 0,
    ) -> None:
        events.append("handler")
        await ws.send(json.dumps({"room": room, "name": name, "lang": lang, "level": level}))

    @app.route("/feed", protocol="websocket")
    async def feed(
        ws: WebSocket,
        who: Annotated[str, Depends(user)],
        sess: Annotated[dict[str, int], Depends(session)],
    ) -> None:
        events.append("handler")
        await ws.send(f"{who}:{sess['size']}")
        if await ws.recv() == "fail":
            raise ValueError("asked to")

    return app


def load(body: bytes | bytearray) -> Any:
    return json.loads(bytes(body))


async def refused(url: str, **kwargs: Any) -> Any:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, **kwargs):
            pass
    return info.value.response


async def test_good_input_upgrades(liveclient: LiveClient, events: list[Any]) -> None:
    url = f"{liveclient.wsl}/rooms/7?name=ann"
    headers = {"X-Level": "3", "Cookie": "lang=fr"}
    async with connect(url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv()) == {"room": 7, "name": "ann", "lang": "fr", "level": 3}
    assert events == ["handler"]


async def test_bad_input_is_a_json_400_before_the_upgrade(
    liveclient: LiveClient, events: list[Any]
) -> None:
    response = await refused(
        f"{liveclient.wsl}/rooms/seven", additional_headers={"X-Level": "high"}
    )
    assert problem_places(response.status_code, response.headers.get("Content-Type"), response.body) == [
        ("path", "room"),
        ("query", "name"),
        ("header", "X-Level"),
    ]
    assert events == []


async def test_dependencies_resolved_before_the_upgrade(
    liveclient: LiveClient, events: list[Any]
) -> None:
    response = await refused(f"{liveclient.wsl}/feed?size=x")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert events == []
    response = await refused(f"{liveclient.wsl}/feed?size=x", additional_headers={"X-Token": "t"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert load(response.body)["errors"][0]["name"] == "size"
    assert events == []


async def test_generator_provider_open_for_the_whole_session(
    liveclient: LiveClient, events: list[Any]
) -> None:
    async with connect(f"{liveclient.wsl}/feed?size=3", additional_headers={"X-Token": "t"}) as ws:
        assert await ws.recv() == "t:3"
        assert events == ["enter", "handler"]
        await ws.send("ok")
    await wait_for(lambda: len(events) == 3)
    assert events == ["enter", "handler", "exit"]


async def test_generator_provider_gets_the_handler_error(
    liveclient: LiveClient, events: list[Any]
) -> None:
    async with connect(f"{liveclient.wsl}/feed", additional_headers={"X-Token": "t"}) as ws:
        assert await ws.recv() == "t:10"
        await ws.send("fail")
        await ws.wait_closed()
    assert ws.close_code == 1011
    await wait_for(lambda: len(events) == 3)
    assert events == ["enter", "handler", "error ValueError"]


async def test_client_gone_during_the_handshake(
    liveclient: LiveClient, events: list[Any]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    head = "GET /feed?slow=0.1 HTTP/1.1\r\nHost: x\r\nX-Token: t\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in HANDSHAKE.items()
    )
    writer.write(head.encode() + b"\r\n")
    await asyncio.sleep(0.03)
    writer.transport.abort()
    await wait_for(lambda: len(events) == 2)
    # Prepared, never run: the provider is finished, the disconnection thrown in.
    assert events == ["enter", "error ClientDisconnected"]


async def test_in_memory_client(client: Client) -> None:
    response = await client.get("/rooms/x?name=ann", headers=HANDSHAKE)
    assert response.status == HTTPStatus.BAD_REQUEST
    assert load(response.body)["errors"][0]["name"] == "room"
    response = await client.get("/rooms/1?name=ann", headers=HANDSHAKE)
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS


async def test_error_listener_can_reshape(app: TypedRoll, liveclient: LiveClient) -> None:
    @app.listen("error")
    async def as_422(request: Any, response: Any, error: Any) -> None:
        if isinstance(error, InvalidRequest):
            response.status = 422
            response.json = {"detail": error.problems}

    response = await refused(f"{liveclient.wsl}/rooms/1")
    assert response.status_code == 422
    assert load(response.body) == {
        "detail": [{"location": "query", "name": "name", "message": "Field required"}]
    }


async def wait_for(condition: Any, timeout: float = 2) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
