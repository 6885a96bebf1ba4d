"""Broadcast latency across two processes through Redis.

    .venv/bin/python tests/broadcast_latency.py [--messages 1000] [--clients 100]

Starts a Redis and two `python -m roll tests.realtime_app` servers (as two
machines would run them). `clients` websockets join a room, spread over both
servers; each message is published by an HTTP POST to the second server, one
after the other; the latency of a message is the time from sending the POST
to its arrival on the websocket of a client of the *first* server (measured
in this process, one clock). Prints p50/p99 and the messages lost or out of
order, over every client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import redis_server, roll_server  # noqa: E402

APP = "tests.realtime_app:app"


async def join(port: int, room: str) -> ClientConnection:
    client = await connect(f"ws://127.0.0.1:{port}/chat/{room}", max_queue=None)
    welcome = json.loads(await asyncio.wait_for(client.recv(), 10))
    assert welcome["joined"] == room, welcome
    return client


async def run(
    ports: tuple[int, int], messages: int, clients: int, room: str = "room", paced: bool = True
) -> dict[str, Any]:
    """Publish `messages` through `ports[1]`, received by `clients` over both ports.

    `paced`: each message waits for the previous one to arrive (to measure
    the latency of one message, not of a queue); else back to back."""
    sockets = [await join(ports[index % 2], room) for index in range(clients)]
    received: list[list[str]] = [[] for _ in sockets]
    arrivals: dict[str, float] = {}

    async def read(index: int, client: ClientConnection) -> None:
        while len(received[index]) < messages:
            message = await client.recv()
            assert isinstance(message, str)
            if index == 0:
                arrivals[message] = time.perf_counter()
            received[index].append(message)

    readers = [asyncio.create_task(read(index, client)) for index, client in enumerate(sockets)]
    sent: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}") as http:
            for number in range(messages):
                message = f"message {number}"
                sent[message] = time.perf_counter()
                response = await http.post(f"/publish/{room}", content=message)
                assert response.status_code == 200, response.text
                # Wait for it on client 0 (on the first server) before the next: each
                # latency is measured alone, not behind a queue of others.
                while paced and message not in arrivals and not readers[0].done():
                    await asyncio.sleep(0.0005)
        done, pending = await asyncio.wait(readers, timeout=60)
    finally:
        for task in readers:
            task.cancel()
        for client in sockets:
            await client.close()
    expected = [f"message {number}" for number in range(messages)]
    latencies = sorted(arrivals[message] - sent[message] for message in sent if message in arrivals)
    lost = sum(len(set(expected) - set(got)) for got in received)
    out_of_order = sum(1 for got in received if got != expected[: len(got)])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "messages": messages,
        "clients": clients,
        "delivered": sum(len(got) for got in received),
        "lost": lost,
        "out_of_order": out_of_order,
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2) if latencies else None,
        "timed_out_readers": len(pending),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        with redis_server(path) as url:
            env = {"ROLL_TEST_BROADCAST": url}
            with roll_server(APP, path, env=env) as (_, first):
                with roll_server(APP, path, env=env) as (_, second):
                    result = asyncio.run(run((first, second), args.messages, args.clients))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
