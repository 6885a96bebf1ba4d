"""Generator providers are finished once the response is sent: a streamed
body may use what they yield; a client leaving mid-stream leaks nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest

from roll import HTTPProtocol, Request, Response
from roll.testing import Client, LiveClient
from roll.typed import Depends, TypedRoll

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")

CHUNKS = 200
CHUNK = b"x" * 65536


class Resource:
    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.open = True

    def read(self) -> bytes:
        assert self.open, "used after its provider was finished"
        return CHUNK


@pytest.fixture
def app(events: list[Any]) -> TypedRoll:
    app = TypedRoll()

    async def resource(request: Request) -> AsyncIterator[Resource]:
        value = Resource(events)
        events.append("enter")
        try:
            yield value
        except BaseException as error:
            events.append(f"error {type(error).__name__}")
            raise
        else:
            protocol = request.protocol
            data = protocol.transport.data if isinstance(protocol, HTTPProtocol) and hasattr(protocol.transport, "data") else b""
            events.append(("exit", b"\r\n\r\nok" in data))
        finally:
            value.open = False

    def cursor() -> Iterator[str]:
        yield "cursor"
        events.append("cursor closed")

    def failing_cleanup() -> Iterator[str]:
        yield "value"
        raise RuntimeError("cleanup failed")

    @app.route("/ok")
    async def ok(res: Annotated[Resource, Depends(resource)]) -> str:
        events.append("handler")
        return "ok"

    @app.route("/stream")
    async def stream(
        res: Annotated[Resource, Depends(resource)], cur: Annotated[str, Depends(cursor)]
    ) -> AsyncIterator[bytes]:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(CHUNKS):
                yield res.read()
                await asyncio.sleep(0)
            events.append("streamed")

        return body()

    @app.route("/stream-on-response")
    async def stream_on_response(
        response: Response, res: Annotated[Resource, Depends(resource)]
    ) -> None:
        async def body() -> AsyncIterator[bytes]:
            yield res.read()
            yield res.read()

        response.headers["Content-Type"] = "application/octet-stream"
        response.body = body()

    @app.route("/stream-fails", methods=["GET", "HEAD"])
    async def stream_fails(res: Annotated[Resource, Depends(resource)]) -> AsyncIterator[bytes]:
        async def body() -> AsyncIterator[bytes]:
            try:
                yield res.read()
                raise RuntimeError("stream broke")
            finally:
                events.append("body closed")

        return body()

    @app.route("/fail")
    async def fail(res: Annotated[Resource, Depends(resource)]) -> str:
        raise ValueError("oops")

    @app.route("/cleanup-fails")
    async def cleanup_fails(value: Annotated[str, Depends(failing_cleanup)]) -> str:
        return value

    return app




async def test_finished_after_the_response_is_written(client: Client, events: list[Any]) -> None:
    response = await client.get("/ok")
    assert response.body == b"ok"
    assert events == ["enter", "handler", ("exit", True)]


async def test_failure_throws_the_error_in_at_once(client: Client, events: list[Any]) -> None:
    response = await client.get("/fail")
    assert response.status == 500
    assert events == ["enter", "error ValueError"]


async def test_cleanup_error_after_the_response_is_logged(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/cleanup-fails")
    assert response.status == 200
    assert response.body == b"value"
    assert "Error while closing a provider" in caplog.text


async def test_streamed_body_uses_the_provider(liveclient: LiveClient, events: list[Any]) -> None:
    response = await liveclient.query("GET", "/stream")
    assert response.status == 200
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Type" not in response.headers
    assert len(response.body) == CHUNKS * len(CHUNK)
    # Last entered, first finished, after the whole body.
    assert events == ["enter", "streamed", "cursor closed", ("exit", False)]


async def test_streamed_body_set_on_the_response(client: Client, events: list[Any]) -> None:
    response = await client.get("/stream-on-response")
    assert response.status == 200
    assert response.body == CHUNK * 2
    assert events == ["enter", ("exit", False)]


async def test_stream_failing_midway(
    liveclient: LiveClient, events: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    response = await liveclient.query("GET", "/stream-fails")
    assert not response.complete or response.body == CHUNK  # the stream is cut
    await asyncio.sleep(0.05)
    # The stream's error is thrown into the provider, after the (cut) response.
    assert events == ["enter", "body closed", "error RuntimeError"]
    assert "Error while streaming a response body" in caplog.text


async def test_head_request_with_a_stream(client: Client, events: list[Any]) -> None:
    response = await client.head("/stream-fails")
    assert response.status == 200
    # Never iterated: the body is closed, the provider finished normally.
    assert events == ["enter", ("exit", False)]


async def test_client_leaves_mid_stream(
    liveclient: LiveClient,
    events: list[Any],
    loop_errors: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = len(asyncio.all_tasks())
    for _ in range(5):
        events.clear()
        reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.read(70_000)
        writer.transport.abort()
        for _ in range(200):
            if len(events) == 2:
                break
            await asyncio.sleep(0.01)
        # The body was cut: no "streamed"; the providers are finished anyway,
        # with the disconnection thrown in (a transaction rolls back).
        assert events == ["enter", "error ClientDisconnected"]
    await asyncio.sleep(0.05)
    assert len(asyncio.all_tasks()) == tasks
    assert loop_errors == []
    assert "never retrieved" not in caplog.text
    assert "Error while closing" not in caplog.text
