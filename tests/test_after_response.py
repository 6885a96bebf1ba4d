"""`request.after_response(callback)`: work done once the response is out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hardening_helpers import big_stream, connect, get, reset

from roll import HTTPProtocol, Request, Response, Roll
from roll.testing import Client, LiveClient, open_protocol


@pytest.fixture
def app() -> Roll:
    app = Roll()
    app["events"] = []
    events: list[Any] = app["events"]

    @app.route("/")
    async def index(request: Request, response: Response) -> None:
        protocol = request.protocol
        assert isinstance(protocol, HTTPProtocol)

        def sync_callback() -> None:
            # The response is already written when the callback runs.
            events.append(("sync", b"\r\n\r\nhello" in protocol.transport.data))

        async def async_callback() -> None:
            await asyncio.sleep(0)
            events.append("async")

        request.after_response(sync_callback)
        request.after_response(async_callback)
        response.body = "hello"
        events.append("handler")

    @app.route("/failing")
    async def failing(request: Request, response: Response) -> None:
        def broken() -> None:
            raise RuntimeError("broken callback")

        request.after_response(lambda: events.append("still called"))
        request.after_response(broken)
        raise ValueError("the handler fails too")

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        request.after_response(lambda: events.append("after"))
        response.body = big_stream(events)

    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        request.after_response(lambda: events.append("after slow"))
        await asyncio.sleep(0.1)
        response.body = "late"

    @app.route("/plain")
    async def plain(request: Request, response: Response) -> None:
        response.body = "plain"

    return app




async def test_callbacks_run_after_the_response_last_added_first(client: Client, app: Roll) -> None:
    response = await client.get("/")
    assert response.body == b"hello"
    assert app["events"] == ["handler", "async", ("sync", True)]


async def test_no_callback_no_cost(client: Client) -> None:
    await client.get("/plain")
    assert client.protocol is not None
    assert client.protocol.request._after_response is None


async def test_a_failing_callback_is_logged_and_the_others_run(
    client: Client, app: Roll, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    response = await client.get("/failing")
    assert response.status == 500
    assert app["events"] == ["still called"]
    assert "Error in an after_response callback" in caplog.text
    assert loop_errors == []


async def test_callback_added_by_a_callback(app: Roll) -> None:
    request = Request(app, None)
    calls: list[str] = []
    request.after_response(lambda: calls.append("first"))
    request.after_response(lambda: request.after_response(lambda: calls.append("nested")))
    await request.run_after_response()
    assert calls == ["nested", "first"]
    assert request._after_response is None


async def test_after_a_streamed_body(liveclient: LiveClient, app: Roll) -> None:
    response = await liveclient.query("GET", "/stream")
    assert len(response.body) == 1000 * 65536
    assert app["events"] == ["stream closed", "after"]


async def test_client_gone_mid_stream(
    liveclient: LiveClient, app: Roll, loop_errors: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    tasks = len(asyncio.all_tasks())
    reader, writer = await connect(liveclient.port)
    writer.write(get("/stream"))
    await reader.read(100_000)
    reset(writer)
    for _ in range(200):
        if "after" in app["events"]:
            break
        await asyncio.sleep(0.01)
    assert app["events"] == ["stream closed", "after"]
    await asyncio.sleep(0.02)
    assert len(asyncio.all_tasks()) == tasks
    assert loop_errors == []
    assert "never retrieved" not in caplog.text


async def test_client_gone_before_the_response(liveclient: LiveClient, app: Roll) -> None:
    reader, writer = await connect(liveclient.port)
    writer.write(get("/slow"))
    await asyncio.sleep(0.02)
    reset(writer)
    for _ in range(100):
        if app["events"]:
            break
        await asyncio.sleep(0.01)
    assert app["events"] == ["after slow"]


async def test_task_cancelled(app: Roll) -> None:
    protocol = open_protocol(app)
    protocol.data_received(get("/slow"))
    await asyncio.sleep(0.01)
    assert protocol.task is not None
    protocol.task.cancel()
    await asyncio.wait([protocol.task])
    assert app["events"] == ["after slow"]
