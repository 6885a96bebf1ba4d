"""The proof: one app, two `python -m roll` processes (two machines), one Redis.

A message published by an HTTP request to one server reaches the websocket
clients of both. The servers and Redis are real subprocesses on free
loopback ports, stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from broadcast_latency import APP, join, run
from servers import redis_server, roll_server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    folder = tmp_path_factory.mktemp("cluster")
    with redis_server(folder) as url:
        env = {"ROLL_TEST_BROADCAST": url}
        with roll_server(APP, folder, env=env) as (_, first):
            with roll_server(APP, folder, env=env) as (_, second):
                yield first, second


async def test_a_message_published_on_one_server_reaches_a_client_of_the_other(
    cluster: tuple[int, int],
) -> None:
    first, second = cluster
    client = await join(first, "lobby")
    try:
        async with httpx.AsyncClient() as http:
            pids = {
                (await http.get(f"http://127.0.0.1:{port}/pid")).text for port in cluster
            }
            assert len(pids) == 2  # two processes
            started = time.perf_counter()
            response = await http.post(f"http://127.0.0.1:{second}/publish/lobby", content="hi")
            assert response.status_code == 200
            assert await asyncio.wait_for(client.recv(), 1) == "hi"
            assert time.perf_counter() - started < 1
    finally:
        await client.close()


async def test_a_client_message_reaches_the_room_on_both_servers(
    cluster: tuple[int, int],
) -> None:
    first, second = cluster
    alice, bob = await join(first, "chat"), await join(second, "chat")
    try:
        await alice.send("hello from alice")
        assert await asyncio.wait_for(bob.recv(), 2) == "hello from alice"
        assert await asyncio.wait_for(alice.recv(), 2) == "hello from alice"
    finally:
        await alice.close()
        await bob.close()


async def test_100_clients_over_both_servers_get_1000_messages_in_order(
    cluster: tuple[int, int],
) -> None:
    result = await run(cluster, messages=1000, clients=100, room="crowd", paced=False)
    print(json.dumps(result))
    assert result["timed_out_readers"] == 0
    assert result["lost"] == 0 and result["out_of_order"] == 0
    assert result["delivered"] == 100 * 1000


async def test_workers_of_one_server_share_the_room(tmp_path: Path) -> None:
    # `python -m roll --workers 2`: the kernel spreads the connections over
    # both workers; through Redis, a message reaches the clients of both.
    with redis_server(tmp_path) as url:
        options = ("--workers", "2")
        with roll_server(APP, tmp_path, *options, env={"ROLL_TEST_BROADCAST": url}) as (_, port):
            clients: list[ClientConnection] = []
            pids: set[int] = set()
            try:
                async with asyncio.timeout(30):
                    while len(pids) < 2 or len(clients) < 4:
                        client = await connect(f"ws://127.0.0.1:{port}/chat/workers")
                        clients.append(client)
                        pids.add(json.loads(await client.recv())["pid"])
                async with httpx.AsyncClient() as http:
                    await http.post(f"http://127.0.0.1:{port}/publish/workers", content="to all")
                for client in clients:
                    assert await asyncio.wait_for(client.recv(), 2) == "to all"
            finally:
                for client in clients:
                    await client.close()
    assert len(pids) == 2
