"""A real nginx in front of two `python -m roll` instances, all on loopback.

HTTP, websockets (upgraded through the proxy), an event stream (not
buffered), the client address the app sees, and a rolling restart of both
instances under load with no failed request. The nginx configuration is the
one docs/serving.md shows.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from servers import free_port, nginx, nginx_config, roll_args, stop, wait_for_port

APP = "tests.realtime_app:app"

# What docs/serving.md shows, with the ports filled in.
SITE = """
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    upstream app {{
        server 127.0.0.1:{first} max_fails=0;
        server 127.0.0.1:{second} max_fails=0;
        keepalive 32;
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 1h;
        }}
    }}
"""


@dataclass
class Instance:
    """One `python -m roll` behind nginx, restartable on its port."""

    folder: Path
    port: int = field(default_factory=free_port)
    child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.folder / f"roll-{self.port}.log"
        args = roll_args(APP, self.port, "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1")
        with log.open("ab") as output:
            self.child = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.child, log)

    def stop(self) -> int | None:
        assert self.child is not None
        return stop(self.child)


@dataclass
class Site:
    port: int
    instances: list[Instance]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("nginx")
    instances = [Instance(folder), Instance(folder)]
    port = free_port()
    try:
        for instance in instances:
            instance.start()
        body = SITE.format(first=instances[0].port, second=instances[1].port, port=port)
        with nginx(folder, nginx_config(folder, port, body), port):
            yield Site(port, instances)
    finally:
        for instance in instances:
            if instance.child is not None:
                instance.stop()


def from_address(source: str) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(local_address=source)


async def test_http_and_the_client_address_the_app_sees(site: Site) -> None:
    # The client connects to nginx from 127.0.0.2; the app sees nginx
    # (127.0.0.1, trusted) and believes its X-Forwarded-For.
    async with httpx.AsyncClient(base_url=site.url, transport=from_address("127.0.0.2")) as client:
        answers = [(await client.get("/client")).json() for _ in range(4)]
    assert all(answer["client"] == ["127.0.0.2", 0] for answer in answers)
    assert all(answer["scheme"] == "http" for answer in answers)
    assert len({answer["pid"] for answer in answers}) == 2  # both instances serve


async def test_a_forged_header_does_not_pass_the_proxy(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url, transport=from_address("127.0.0.2")) as client:
        answer = (await client.get("/client", headers={"X-Forwarded-For": "6.6.6.6"})).json()
    assert answer["client"] == ["127.0.0.2", 0]  # nginx appended the real one


async def test_websocket_through_the_proxy(site: Site) -> None:
    async with connect(f"ws://127.0.0.1:{site.port}/echo") as client:
        await client.send("over nginx")
        assert await asyncio.wait_for(client.recv(), 5) == "over nginx"
        await client.send(b"\x00binary")
        assert await asyncio.wait_for(client.recv(), 5) == b"\x00binary"


async def test_event_stream_is_not_buffered_by_the_proxy(site: Site) -> None:
    # Two events 3 s apart: the first must come through at once.
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as client:
        started = time.perf_counter()
        async with client.stream("GET", "/events?count=2&pause=3") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            while not (line := await anext(lines)).startswith("data:"):
                pass
            assert json.loads(line.removeprefix("data:"))["n"] == 0
            assert time.perf_counter() - started < 1.5


async def test_rolling_restart_under_load_fails_no_request(site: Site) -> None:
    """Restart each instance in turn (SIGTERM, then a new process on its port)
    while 8 clients keep requesting through nginx: nginx retries what an
    instance refuses or drops, the instances drain gracefully."""
    results = {"ok": 0, "failed": 0}
    errors: list[str] = []
    pids: set[int] = set()
    restarting = True

    async def load() -> None:
        async with httpx.AsyncClient(base_url=site.url, timeout=10) as client:
            while restarting:
                try:
                    response = await client.get("/client", params={"n": results["ok"]})
                    if response.status_code == 200:
                        results["ok"] += 1
                        pids.add(response.json()["pid"])
                    else:
                        results["failed"] += 1
                        errors.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as error:
                    results["failed"] += 1
                    errors.append(repr(error))
                    await asyncio.sleep(0.01)

    before = {instance.child.pid for instance in site.instances if instance.child}
    loaders = [asyncio.create_task(load()) for _ in range(8)]
    try:
        await asyncio.sleep(0.5)
        for instance in site.instances:
            assert await asyncio.to_thread(instance.stop) == 0  # graceful: exit status 0
            await asyncio.to_thread(instance.start)
            await asyncio.sleep(0.5)
    finally:
        restarting = False
        await asyncio.wait_for(asyncio.gather(*loaders), 30)
    after = {instance.child.pid for instance in site.instances if instance.child}
    print(f"rolling restart: {results['ok']} requests ok, {results['failed']} failed")
    assert results["failed"] == 0, errors[:10]
    assert results["ok"] > 100
    assert after <= pids and before.isdisjoint(after)  # the new instances served too
