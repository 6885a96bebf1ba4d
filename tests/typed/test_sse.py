"""Server-Sent Events over real sockets: httpx-sse, raw HTTP, and Chromium's EventSource."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import pytest_asyncio
from browser import browser_dom
from hardening_helpers import connect, read_until
from httpx_sse import aconnect_sse
from pydantic import BaseModel

from roll import Request, Response
from roll.server import Server
from roll.typed import Depends, EventStream, Header, ServerSentEvent, TypedRoll

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


class Tick(BaseModel):
    n: int


class State:
    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.closed = asyncio.Event()
        self.events: list[str] = []


def make_app(state: State) -> TypedRoll:
    app = TypedRoll()

    @app.route("/kinds", methods=["GET", "HEAD"])
    async def kinds() -> EventStream:
        async def generate() -> AsyncIterator[Any]:
            yield {"plain": "value"}
            yield Tick(n=1)
            yield "text"
            yield ServerSentEvent("line one\nline two\r\nline three", event="multi", id="7")
            yield ServerSentEvent(Tick(n=2), event="tick", retry=1500)
            yield ServerSentEvent("")

        return EventStream(generate())

    @app.route("/paced")
    async def paced() -> EventStream:
        async def generate() -> AsyncIterator[Any]:
            try:
                yield {"step": 1}
                await state.go.wait()  # the client must have the first one by now
                yield {"step": 2}
                await asyncio.sleep(3600)  # idle until the client leaves
                yield {"step": 3}
            finally:
                state.closed.set()

        return EventStream(generate(), ping=0.1)

    @app.route("/resume")
    async def resume(
        last_event_id: Annotated[int, Header(alias="Last-Event-ID")] = -1,
    ) -> EventStream:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            for number in range(last_event_id + 1, last_event_id + 3):
                yield ServerSentEvent(number, id=str(number))

        return EventStream(generate())

    @app.route("/plain", typed=False)
    async def plain(request: Request, response: Response) -> None:
        async def generate() -> AsyncIterator[str]:
            yield "from a plain handler"

        response.body = EventStream(generate())

    async def session() -> AsyncIterator[str]:
        state.events.append("open")
        yield "session"
        state.events.append("close")

    @app.route("/with-provider")
    async def with_provider(name: Annotated[str, Depends(session)]) -> EventStream:
        async def generate() -> AsyncIterator[str]:
            yield name

        return EventStream(generate())

    @app.route("/forever")
    async def forever() -> EventStream:
        async def generate() -> AsyncIterator[int]:
            try:
                yield 1
                await asyncio.sleep(3600)
            finally:
                state.closed.set()

        return EventStream(generate())

    return app


@pytest.fixture
def state() -> State:
    return State()


@pytest_asyncio.fixture
async def server(state: State) -> AsyncIterator[tuple[Server, str]]:
    server = Server(make_app(state))
    await server.start("127.0.0.1", 0)
    yield server, f"http://127.0.0.1:{server.addresses[0][1]}"
    await server.stop(grace=1)


async def test_events_headers_and_framing(server: tuple[Server, str]) -> None:
    _, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        async with aconnect_sse(client, "GET", "/kinds") as source:
            response = source.response
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"  # nginx: pass each event on
            assert response.headers["transfer-encoding"] == "chunked"
            events = [(event.event, event.data, event.id, event.retry) async for event in source.aiter_sse()]
    assert events == [
        ("message", '{"plain":"value"}', "", None),
        ("message", '{"n":1}', "", None),
        ("message", '"text"', "", None),  # a plain value is JSON, a str too
        ("multi", "line one\nline two\nline three", "7", None),
        ("tick", '{"n":2}', "7", 1500),  # the id is remembered by the client
        ("message", "", "7", None),
    ]


async def test_raw_framing(server: tuple[Server, str]) -> None:
    _, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        text = (await client.get("/kinds")).text
    assert "event: multi\nid: 7\ndata: line one\ndata: line two\ndata: line three\n\n" in text
    assert "event: tick\nretry: 1500\ndata: {\"n\":2}\n\n" in text


async def test_streamed_as_produced_pinged_while_idle_closed_when_the_client_leaves(
    server: tuple[Server, str], state: State
) -> None:
    reader, writer = await connect(server[0].addresses[0][1])
    writer.write(b"GET /paced HTTP/1.1\r\nHost: x\r\n\r\n")
    received = await read_until(reader, b'data: {"step":1}')
    assert not state.go.is_set()  # produced and sent before the second exists
    state.go.set()
    received = await read_until(reader, b'data: {"step":2}', received)
    async with asyncio.timeout(5):
        # Idle: a comment line every 0.1 s.
        while received.count(b": ping\n\n") < 3:
            received += await reader.read(1024)
    assert not state.closed.is_set()
    writer.transport.abort()  # the client leaves while the generator waits
    await asyncio.wait_for(state.closed.wait(), 2)


async def test_an_idle_stream_is_closed_as_soon_as_the_client_leaves(
    server: tuple[Server, str], state: State
) -> None:
    # No ping due for 15 s: the core itself stops the writer on the lost connection.
    reader, writer = await connect(server[0].addresses[0][1])
    writer.write(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_until(reader, b"data: 1")
    writer.transport.abort()
    await asyncio.wait_for(state.closed.wait(), 2)


async def test_last_event_id_is_a_header(server: tuple[Server, str]) -> None:
    _, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        async with aconnect_sse(client, "GET", "/resume", headers={"Last-Event-ID": "41"}) as source:
            assert [event.id async for event in source.aiter_sse()] == ["42", "43"]
        async with aconnect_sse(client, "GET", "/resume", headers={"Last-Event-ID": "x"}) as source:
            assert source.response.status_code == 400  # validated like any header


async def test_set_as_the_body_of_a_plain_handler(server: tuple[Server, str]) -> None:
    _, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        async with aconnect_sse(client, "GET", "/plain") as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            assert [event.data async for event in source.aiter_sse()] == ['"from a plain handler"']


async def test_with_a_generator_provider(server: tuple[Server, str], state: State) -> None:
    _, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        async with aconnect_sse(client, "GET", "/with-provider") as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            assert [event.data async for event in source.aiter_sse()] == ['"session"']
    async with asyncio.timeout(2):
        while state.events != ["open", "close"]:
            await asyncio.sleep(0.01)


async def test_head_gets_no_events(
    server: tuple[Server, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.head("/kinds")
    assert response.status_code == 200 and response.content == b""
    assert "Error" not in caplog.text


async def test_server_shutdown_ends_the_stream(server: tuple[Server, str], state: State) -> None:
    stopping_server, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        async with aconnect_sse(client, "GET", "/forever") as source:
            events = source.aiter_sse()
            assert (await anext(events)).data == "1"
            started = asyncio.get_running_loop().time()
            stopping = asyncio.create_task(stopping_server.stop(grace=10))
            # The stream ends properly (last chunk), well before the grace period.
            assert [event async for event in events] == []
            await asyncio.wait_for(stopping, 5)
    assert asyncio.get_running_loop().time() - started < 5
    assert state.closed.is_set()


async def nothing() -> AsyncIterator[int]:
    return
    yield


def test_invalid_events() -> None:
    with pytest.raises(ValueError):
        ServerSentEvent("x", id="1\n2")
    with pytest.raises(ValueError):
        ServerSentEvent("x", id="a\0")
    with pytest.raises(ValueError):
        ServerSentEvent("x", event="a\rb")
    with pytest.raises(ValueError):
        ServerSentEvent("x", retry=-1)
    with pytest.raises(ValueError):
        EventStream(nothing(), ping=0)


# A browser: Chromium's EventSource, reconnecting with Last-Event-ID.

PAGE = """<!doctype html>
<html><body><ul id="log"></ul><script>
const log = document.getElementById("log");
const source = new EventSource("/countdown");
source.addEventListener("count", (event) => {
  const item = document.createElement("li");
  item.textContent = event.lastEventId + ":" + JSON.parse(event.data).left;
  log.appendChild(item);
  if (JSON.parse(event.data).left === 0) { source.close(); log.dataset.done = "yes"; }
});
</script></body></html>"""


async def test_a_browser_event_source(tmp_path: Path) -> None:
    app = TypedRoll()
    headers_seen: list[str | None] = []

    @app.route("/")
    async def page(response: Response) -> None:
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        response.body = PAGE

    @app.route("/countdown")
    async def countdown(
        last_event_id: Annotated[int | None, Header(alias="Last-Event-ID")] = None,
    ) -> EventStream:
        headers_seen.append(None if last_event_id is None else str(last_event_id))
        start = 5 if last_event_id is None else last_event_id - 1

        async def generate() -> AsyncIterator[ServerSentEvent]:
            # Two events per connection, then the stream ends: the browser
            # reconnects (after `retry` ms) and says where it was.
            for left in range(start, max(start - 2, -1), -1):
                yield ServerSentEvent({"left": left}, event="count", id=str(left), retry=50)

        return EventStream(generate())

    server = Server(app)
    await server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.addresses[0][1]}/"
    try:
        dom, log = await browser_dom(url, tmp_path / "chromium")
    finally:
        await server.stop(grace=1)
    assert 'data-done="yes"' in dom, log[-2000:]
    items = re.findall(r"<li>([^<]*)</li>", dom)
    assert items == ["5:5", "4:4", "3:3", "2:2", "1:1", "0:0"]
    assert headers_seen == [None, "4", "2"]  # each reconnection said where it was
