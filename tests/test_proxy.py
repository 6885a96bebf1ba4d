"""request.client / request.scheme, and the proxy headers of trusted peers only.

Over real sockets: the "proxy" is this process on 127.0.0.1, an untrusted
client connects from 127.0.0.2 (Linux routes all of 127/8 to loopback).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from roll import Request, Response, Roll, WSProtocol
from roll.proxy import ProxyHeaders, parse_forwarded
from roll.server import Server

from servers import free_port, running, roll_server

APP = "tests.realtime_app:app"


def make_app(trusted: str | None) -> Roll:
    app = Roll()
    if trusted is not None:
        ProxyHeaders(trusted).install(app)

    @app.route("/client")
    async def client(request: Request, response: Response) -> None:
        lazy = not hasattr(request, "_client")  # nothing computed before it is read
        response.json = {"client": request.client, "scheme": request.scheme, "lazy": lazy}

    @app.route("/ws", protocol="websocket")
    async def ws(request: Request, ws: WSProtocol) -> None:
        await ws.send(json.dumps({"client": request.client, "scheme": request.scheme}))

    return app


async def ask(
    port: int, headers: dict[str, str], source: str = "127.0.0.1", path: str = "/client"
) -> dict[str, Any]:
    """GET over a raw connection from `source`; also returns our own port."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    own_port = writer.get_extra_info("sockname")[1]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{head}\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200"), answer
    result: dict[str, Any] = json.loads(body)
    result["own_port"] = own_port
    return result


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[Server] = []

    async def start(trusted: str | None) -> int:
        server = Server(make_app(trusted))
        await server.start("127.0.0.1", 0)
        servers.append(server)
        port: int = server.addresses[0][1]
        return port

    yield start
    for server in servers:
        await server.stop(grace=1)


FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


async def test_the_peer_by_default_headers_ignored(serve: Any) -> None:
    port = await serve(None)
    answer = await ask(port, FORGED)
    assert answer["client"] == ["127.0.0.1", answer["own_port"]]
    assert answer["scheme"] == "http"
    assert answer["lazy"] is True


async def test_trusted_peer_x_forwarded(serve: Any) -> None:
    port = await serve("127.0.0.1")
    answer = await ask(port, FORGED)
    assert answer["client"] == ["203.0.113.9", 0] and answer["scheme"] == "https"
    answer = await ask(port, {"X-Forwarded-For": "[2001:db8::1]:4711"})
    assert answer["client"] == ["2001:db8::1", 4711] and answer["scheme"] == "http"
    # Only the proto: the address stays the peer's.
    answer = await ask(port, {"X-Forwarded-Proto": "https"})
    assert answer["client"][0] == "127.0.0.1" and answer["scheme"] == "https"
    answer = await ask(port, {"X-Forwarded-Proto": "WSS"})  # a websocket's: https
    assert answer["scheme"] == "https"


async def test_untrusted_peer_headers_ignored(serve: Any) -> None:
    port = await serve("127.0.0.1")
    answer = await ask(port, FORGED, source="127.0.0.2")
    assert answer["client"] == ["127.0.0.2", answer["own_port"]] and answer["scheme"] == "http"
    answer = await ask(port, {"Forwarded": "for=203.0.113.9;proto=https"}, source="127.0.0.2")
    assert answer["client"][0] == "127.0.0.2" and answer["scheme"] == "http"


async def test_a_chain_of_proxies_and_a_forging_client(serve: Any) -> None:
    port = await serve("127.0.0.1, 10.0.0.0/8")
    # The client forged 6.6.6.6; its real address was appended by the first proxy.
    answer = await ask(port, {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.1.2.3"})
    assert answer["client"] == ["198.51.100.7", 0]
    answer = await ask(port, {"X-Forwarded-For": "10.0.0.1, 10.0.0.2", "X-Forwarded-Proto": "http, https"})
    assert answer["client"] == ["10.0.0.1", 0] and answer["scheme"] == "https"


async def test_rfc_7239_forwarded(serve: Any) -> None:
    port = await serve("127.0.0.1")
    header = 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https;by=_proxy'
    answer = await ask(port, {"Forwarded": header})
    assert answer["client"] == ["2001:db8:cafe::17", 4711] and answer["scheme"] == "https"
    # X-Forwarded-For wins when both are there.
    answer = await ask(port, {"Forwarded": header, "X-Forwarded-For": "192.0.2.1"})
    assert answer["client"] == ["192.0.2.1", 0]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": ""},
        {"X-Forwarded-For": " , ,"},
        {"X-Forwarded-For": "unknown", "X-Forwarded-Proto": "gopher"},
        {"X-Forwarded-For": "[::1"},
        {"X-Forwarded-For": "1.2.3.4:99999999"},
        {"Forwarded": 'for="unterminated'},
        {"Forwarded": ";;,,=;=="},
        {"Forwarded": "proto=ftp"},
        {"X-Forwarded-For": "x" * 4000},
    ],
)
async def test_garbage_never_breaks_a_request(serve: Any, headers: dict[str, str]) -> None:
    port = await serve("127.0.0.1")
    answer = await ask(port, headers)
    client = answer["client"]
    assert isinstance(client[0], str) and isinstance(client[1], int)
    assert answer["scheme"] == "http"


async def test_websocket_requests_too(serve: Any) -> None:
    port = await serve("127.0.0.1")
    async with connect(f"ws://127.0.0.1:{port}/ws", additional_headers=FORGED) as client:
        assert json.loads(await client.recv()) == {"client": ["203.0.113.9", 0], "scheme": "https"}


def test_parse_forwarded() -> None:
    assert parse_forwarded('For="[::1]:80";Proto=HTTPS, for=1.2.3.4') == [
        {"for": "[::1]:80", "proto": "HTTPS"},
        {"for": "1.2.3.4"},
    ]
    assert parse_forwarded('for="a\\"b"') == [{"for": 'a"b'}]


def test_trust_settings() -> None:
    proxy = ProxyHeaders(["10.0.0.0/8", "::1"])
    assert proxy.trusts("10.9.8.7") and proxy.trusts("::1") and proxy.trusts("::ffff:10.0.0.1")
    assert not proxy.trusts("11.0.0.1") and not proxy.trusts("not an address")
    assert proxy.trusts(None)  # a Unix socket
    assert ProxyHeaders("*").trusts("192.0.2.1")
    with pytest.raises(ValueError):
        ProxyHeaders("not-an-ip")


# The command lines.


async def test_cli_proxy_headers(tmp_path: Path) -> None:
    with roll_server(APP, tmp_path, "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1") as (_, port):
        answer = await ask(port, FORGED)
        assert answer["client"] == ["203.0.113.9", 0] and answer["scheme"] == "https"
        answer = await ask(port, FORGED, source="127.0.0.2")
        assert answer["client"] == ["127.0.0.2", answer["own_port"]]
    with roll_server(APP, tmp_path) as (_, port):  # off by default
        answer = await ask(port, FORGED)
        assert answer["client"] == ["127.0.0.1", answer["own_port"]]


def test_cli_rejects_a_bad_address() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "roll", APP, "--proxy-headers", "--forwarded-allow-ips", "nope"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2 and "--forwarded-allow-ips" in result.stderr


async def test_gunicorn_worker_proxy_headers(tmp_path: Path) -> None:
    port = free_port()
    args = [
        sys.executable, "-m", "gunicorn", "-k", "roll.worker.Worker", "-w", "1",
        "-b", f"127.0.0.1:{port}", "--forwarded-allow-ips", "127.0.0.1",
        "-e", "ROLL_PROXY_HEADERS=1", "--graceful-timeout", "3", APP,
    ]
    with running(args, port, tmp_path / "gunicorn.log"):
        answer = await ask(port, FORGED)
        assert answer["client"] == ["203.0.113.9", 0] and answer["scheme"] == "https"
        answer = await ask(port, FORGED, source="127.0.0.2")
        assert answer["client"] == ["127.0.0.2", answer["own_port"]]


@settings(max_examples=300, deadline=None)
@given(
    forwarded_for=st.one_of(st.none(), st.text(max_size=80)),
    forwarded=st.one_of(st.none(), st.text(max_size=80)),
    proto=st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_header_value_gives_an_address_and_a_scheme(
    forwarded_for: str | None, forwarded: str | None, proto: str | None
) -> None:
    headers = {
        name: value
        for name, value in (
            ("X-FORWARDED-FOR", forwarded_for), ("FORWARDED", forwarded), ("X-FORWARDED-PROTO", proto)
        )
        if value is not None
    }
    client, scheme = ProxyHeaders("127.0.0.1, ::1").resolve(("127.0.0.1", 5000), "http", headers)
    assert client is not None and isinstance(client[0], str) and isinstance(client[1], int)
    assert scheme in ("http", "https")
