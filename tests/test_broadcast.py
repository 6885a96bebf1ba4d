"""roll.broadcast in one process: memory:// and a real Redis (started on a free port)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect

from roll import Roll
from roll.broadcast import Broadcast, Overflow, Subscriber
from roll.server import Server
from roll.typed import TypedRoll, WebSocket

from servers import executable, redis_server, running


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    redis: str = request.getfixturevalue("redis_url")
    return redis


@pytest_asyncio.fixture
async def broadcast(url: str) -> AsyncIterator[Broadcast]:
    async with Broadcast(url) as broadcast:
        yield broadcast


async def take(subscriber: Subscriber, count: int, timeout: float = 5) -> list[str | bytes]:
    async def read() -> list[str | bytes]:
        return [await anext(subscriber) for _ in range(count)]

    return await asyncio.wait_for(read(), timeout)


async def test_every_subscriber_gets_every_message_in_order(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("room") as first, broadcast.subscribe("room") as second:
        async with broadcast.subscribe("other") as other:
            for number in range(100):
                await broadcast.publish("room", str(number))
            await broadcast.publish("other", "elsewhere")
            expected = [str(number) for number in range(100)]
            assert await take(first, 100) == expected
            assert await take(second, 100) == expected
            assert await take(other, 1) == ["elsewhere"]
    assert broadcast.subscribers("room") == 0


async def test_text_and_bytes(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("room") as subscriber:
        await broadcast.publish("room", "héllo")
        await broadcast.publish("room", b"\xff\x00binary")
        await broadcast.publish("room", "héllo".encode())  # UTF-8 bytes come out as text
        assert await take(subscriber, 3) == ["héllo", b"\xff\x00binary", "héllo"]
    with pytest.raises(TypeError):
        await broadcast.publish("room", 42)  # type: ignore[arg-type]


async def test_nothing_published_before_subscribing_is_received(broadcast: Broadcast) -> None:
    await broadcast.publish("room", "too early")
    async with broadcast.subscribe("room") as subscriber:
        await broadcast.publish("room", "on time")
        assert await take(subscriber, 1) == ["on time"]


async def test_close_ends_the_subscribers_after_what_they_have(url: str) -> None:
    broadcast = Broadcast(url)
    await broadcast.connect()
    async with broadcast.subscribe("room") as subscriber:
        await broadcast.publish("room", "last")
        await asyncio.sleep(0.1)  # through Redis: delivered
        await broadcast.close()
        assert [message async for message in subscriber] == ["last"]
    with pytest.raises(ConnectionError):
        async with broadcast.subscribe("room"):
            pass


async def test_a_slow_subscriber_is_dropped_with_overflow(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Broadcast(url, max_queue=10) as broadcast:
        async with broadcast.subscribe("room") as slow, broadcast.subscribe("room") as fast:
            for number in range(15):
                await broadcast.publish("room", str(number))
                assert await take(fast, 1) == [str(number)]  # keeps up
            assert await take(slow, 10) == [str(number) for number in range(10)]
            with pytest.raises(Overflow):
                await anext(slow)
            assert not slow.active and fast.active
            await broadcast.publish("room", "still here")
            assert await take(fast, 1) == ["still here"]
        assert "Dropping a slow subscriber of 'room'" in caplog.text


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="Unsupported broadcast URL"):
        Broadcast("kafka://somewhere")
    with pytest.raises(ValueError):
        Broadcast(max_queue=0)


async def test_publish_without_redis_raises_connection_error(tmp_path: Path) -> None:
    with redis_server(tmp_path) as url:
        pass  # stopped: nothing listens on its port any more
    broadcast = Broadcast(url)
    with pytest.raises(ConnectionError):
        await broadcast.connect()
    with pytest.raises(ConnectionError):
        await broadcast.publish("room", "nobody")


async def test_lost_redis_ends_subscribers_then_reconnects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "roll.broadcast")
    async with AsyncExitStack() as stack:
        with redis_server(tmp_path) as url:
            broadcast = Broadcast(url, max_delay=0.2)
            await broadcast.connect()
            subscriber = await stack.enter_async_context(broadcast.subscribe("room"))
            await broadcast.publish("room", "before")
            assert await take(subscriber, 1) == ["before"]
        # Redis stopped (SIGTERM) at the end of the `with`: the loop just ends.
        async with asyncio.timeout(5):
            assert [message async for message in subscriber] == []
    assert "connection lost" in caplog.text
    assert not broadcast.connected
    with pytest.raises(ConnectionError):
        async with broadcast.subscribe("room"):
            pass
    # Redis comes back on the same port: the broadcast reconnects by itself.
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    args = [executable("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    with running(args, port, tmp_path / "again.log"):
        async with asyncio.timeout(10):
            while not broadcast.connected:
                await asyncio.sleep(0.05)
        async with broadcast.subscribe("room") as subscriber:
            await broadcast.publish("room", "after")
            assert await take(subscriber, 1) == ["after"]
        await broadcast.close()
    assert "reconnected" in caplog.text


async def test_attach_connects_at_startup_and_ends_subscribers_at_shutdown(url: str) -> None:
    app = Roll()
    broadcast = Broadcast(url)
    broadcast.attach(app)
    await app.startup()
    assert broadcast.connected
    received: list[str | bytes] = []

    async def listen() -> None:
        async with broadcast.subscribe("room") as subscriber:
            subscribed.set()
            async for message in subscriber:
                received.append(message)

    subscribed = asyncio.Event()
    listening = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 5)
    await broadcast.publish("room", "hello")
    async with asyncio.timeout(5):
        while not received:
            await asyncio.sleep(0.01)
    await app.shutdown()
    await asyncio.wait_for(listening, 5)  # the loop ended by itself
    assert received == ["hello"]
    assert broadcast.closed and not broadcast.connected
    assert broadcast.subscribers("room") == 0


async def test_a_websocket_handler_relays_a_channel(broadcast: Broadcast) -> None:
    app = TypedRoll()
    joined = asyncio.Event()

    @app.route("/room", protocol="websocket")
    async def room(ws: WebSocket) -> None:
        async with broadcast.subscribe("room") as subscriber:
            joined.set()
            async for message in subscriber:
                await ws.send(message)

    server = Server(app)
    await server.start("127.0.0.1", 0)
    try:
        async with connect(f"ws://127.0.0.1:{server.addresses[0][1]}/room") as client:
            await asyncio.wait_for(joined.wait(), 5)
            await broadcast.publish("room", "hello")
            await broadcast.publish("room", b"\x00\xff")
            assert await asyncio.wait_for(client.recv(), 5) == "hello"
            assert await asyncio.wait_for(client.recv(), 5) == b"\x00\xff"
    finally:
        await server.stop(grace=2)


async def test_many_channels_leave_nothing_behind(broadcast: Broadcast) -> None:
    for number in range(50):
        async with broadcast.subscribe(f"user-{number}") as subscriber:
            await broadcast.publish(f"user-{number}", "hi")
            assert await take(subscriber, 1) == ["hi"]
    assert broadcast._channels == {} and broadcast._locks == {}


async def test_concurrent_subscribers_of_one_channel(broadcast: Broadcast) -> None:
    async with AsyncExitStack() as stack:
        subscribers = await asyncio.gather(
            *(stack.enter_async_context(broadcast.subscribe("busy")) for _ in range(20))
        )
        assert broadcast.subscribers("busy") == 20
        await broadcast.publish("busy", "all of you")
        for subscriber in subscribers:
            assert await take(subscriber, 1) == ["all of you"]
    assert broadcast.subscribers("busy") == 0 and broadcast._locks == {}
