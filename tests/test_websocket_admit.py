"""Before a websocket's 101: the `headers` and `request` events, and a
handler's `prepare` step, may refuse the upgrade with an HTTP response."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from roll import HttpError, Request, Response, Roll, WSProtocol
from roll.testing import Client, LiveClient


@pytest.fixture
def app() -> Roll:
    app = Roll()
    app["events"] = []
    events: list[Any] = app["events"]

    @app.listen("headers")
    async def auth(request: Request, response: Response) -> None:
        events.append(("headers", request.path))
        if request.path.startswith("/ws") and request.query.get("token", "") != "secret":
            raise HttpError(HTTPStatus.UNAUTHORIZED, "Who are you?")

    @app.listen("request")
    async def busy(request: Request, response: Response) -> bool:
        events.append(("request", request.path))
        if request.query.bool("busy", False):
            response.status = HTTPStatus.SERVICE_UNAVAILABLE
            response.body = "Come back later"
            return True
        return False

    @app.listen("response")
    async def mark(request: Request, response: Response) -> None:
        events.append(("response", response.status))
        response.headers["X-Seen"] = "yes"

    @app.route("/ws", protocol="websocket")
    async def echo(request: Request, ws: WSProtocol) -> None:
        events.append("handler")
        await ws.send(await ws.recv())

    return app


async def test_listeners_run_before_the_upgrade(liveclient: LiveClient, app: Roll) -> None:
    async with connect(f"{liveclient.wsl}/ws?token=secret") as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
    assert app["events"][:3] == [("headers", "/ws"), ("request", "/ws"), "handler"]


async def test_http_error_in_a_listener_refuses_the_upgrade(
    liveclient: LiveClient, app: Roll
) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{liveclient.wsl}/ws"):
            pass
    response = info.value.response
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.body == b"Who are you?"
    assert response.headers["X-Seen"] == "yes"  # the `response` event ran
    assert "handler" not in app["events"]


async def test_truthy_listener_refuses_the_upgrade(liveclient: LiveClient, app: Roll) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{liveclient.wsl}/ws?token=secret&busy=1"):
            pass
    assert info.value.response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert info.value.response.body == b"Come back later"
    assert app["events"] == [("headers", "/ws"), ("request", "/ws"), ("response", 503)]


async def test_refusal_over_the_in_memory_client(client: Client) -> None:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    response = await client.get("/ws", headers=headers)
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.body == b"Who are you?"


async def test_invalid_handshake_is_answered_before_the_listeners(
    liveclient: LiveClient, app: Roll
) -> None:
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    response = await liveclient.query("GET", "/ws?token=secret", headers=headers)
    assert response.status == HTTPStatus.BAD_REQUEST
    assert app["events"] == []


async def test_handler_prepare_step(liveclient: LiveClient) -> None:
    app = liveclient.app
    seen: list[Any] = []

    class Prepared:
        async def __call__(self, request: Request, ws: WSProtocol, **vars: str) -> None:
            raise AssertionError("prepare() decides what runs")

        async def prepare(self, request: Request, ws: WSProtocol, **vars: str) -> Any:
            assert ws.state.name == "CONNECTING"
            if vars["n"] == "0":
                raise HttpError(HTTPStatus.BAD_REQUEST, "n must not be 0")
            number = int(vars["n"])

            async def run(request: Request, ws: WSProtocol, **vars: str) -> None:
                seen.append(number)
                await ws.send(str(number * 2))

            return run

    app.route("/double/{n}", protocol="websocket")(Prepared())
    async with connect(f"{liveclient.wsl}/double/21?token=secret") as ws:
        assert await ws.recv() == "42"
    assert seen == [21]
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{liveclient.wsl}/double/0?token=secret"):
            pass
    assert info.value.response.status_code == HTTPStatus.BAD_REQUEST
    assert info.value.response.body == b"n must not be 0"


async def test_after_response_runs_when_the_websocket_is_over(
    liveclient: LiveClient, app: Roll
) -> None:
    done = asyncio.Event()

    @app.route("/ws-after", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        request.after_response(lambda: app["events"].append(("after", ws.closed)))
        request.after_response(done.set)
        await ws.send("bye")

    async with connect(f"{liveclient.wsl}/ws-after?token=secret") as ws:
        assert await ws.recv() == "bye"
    await asyncio.wait_for(done.wait(), 2)
    assert app["events"][-1] == ("after", True)


async def test_the_app_owns_the_events_before_the_upgrade() -> None:
    # `Roll.admit` is the one place the order lives: a subclass changing it
    # changes what the websocket does, with no websocket code to touch.
    class Gated(Roll):
        async def admit(self, request: Request, ws: WSProtocol) -> Any:
            if request.query.get("open", "") != "yes":
                ws.response.status = HTTPStatus.FORBIDDEN
                ws.response.body = "closed"
                return None
            return await super().admit(request, ws)

    app = Gated()

    @app.route("/ws", protocol="websocket")
    async def echo(request: Request, ws: WSProtocol) -> None:
        await ws.send(await ws.recv())

    live = LiveClient(app)
    await live.start()
    try:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{live.wsl}/ws"):
                pass
        assert refused.value.response.status_code == 403
        assert refused.value.response.body == b"closed"
        async with connect(f"{live.wsl}/ws?open=yes") as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
    finally:
        await live.stop()
