"""WebSockets over real sockets (the `websockets` asyncio client), plus sans-I/O checks."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import logging
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed as ClientClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

import roll
import roll.testing
from roll import HTTPProtocol, Request, Roll, WSProtocol
from roll.testing import LiveClient, Transport, open_protocol
from roll.websocket import Assembler, handshake_request, refusal, select_subprotocol

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
}
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()




@pytest.fixture
def timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WSProtocol, "TIMEOUT", 0.3)


async def raw_handshake(
    liveclient: LiveClient, path: str = "/ws", extra: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """Open a websocket by hand; returns the reader, writer and bytes after the 101 head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    head = f"GET {path} HTTP/1.1\r\nHost: x\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in HANDSHAKE.items()
    )
    writer.write(head.encode() + b"\r\n" + extra)
    await writer.drain()
    data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    return reader, writer, b""


def client_protocol() -> ClientProtocol:
    return ClientProtocol(parse_uri("ws://127.0.0.1/ws"), state=State.OPEN)


async def read_frames(reader: asyncio.StreamReader, client: ClientProtocol) -> list[Frame]:
    data = await asyncio.wait_for(reader.read(65536), 2)
    if data:
        client.receive_data(data)
    else:
        client.receive_eof()
    return [event for event in client.events_received() if isinstance(event, Frame)]


def record_disconnects(app: Roll) -> list[str]:
    """A list that gets "disconnect" each time the app's websocket_disconnect event fires."""
    events: list[str] = []

    @app.listen("websocket_disconnect")
    async def disconnected(request: Request, ws: WSProtocol) -> None:
        events.append("disconnect")

    return events


def ended_by_the_close(app: Roll) -> asyncio.Future[roll.ConnectionClosed]:
    """A websocket route at /ws that waits for a message: gets the ConnectionClosed that ends it."""
    ended: asyncio.Future[roll.ConnectionClosed] = asyncio.get_running_loop().create_future()

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        try:
            await ws.recv()
        except roll.ConnectionClosed as error:
            ended.set_result(error)
            with pytest.raises(roll.ConnectionClosed):
                await ws.send("too late")

    return ended


# Handshake and refusals.


async def test_handshake_answers_101_with_accept_key_and_runs_handler_at_once(
    app: Roll, liveclient: LiveClient
) -> None:
    seen: list[str] = []

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        seen.append(request.path)
        await ws.recv()

    response = await liveclient.query("GET", "/ws", headers=HANDSHAKE)
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS
    assert response.reason == "Switching Protocols"
    assert response.headers["Sec-WebSocket-Accept"] == accept_key(KEY)
    assert response.headers["Upgrade"] == "websocket"
    assert seen == ["/ws"]


async def test_keep_alive_upgrade_connection_header(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        pass

    headers = dict(HANDSHAKE, Connection="keep-alive, Upgrade")
    response = await liveclient.query("GET", "/ws", headers=headers)
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS


async def test_websocket_route_without_upgrade_is_426(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        raise AssertionError("not called")

    response = await liveclient.query("GET", "/ws")
    assert response.status == HTTPStatus.UPGRADE_REQUIRED
    assert response.reason == "Upgrade Required"
    response = await liveclient.query("GET", "/ws", headers={"Connection": "upgrade"})
    assert response.status == HTTPStatus.UPGRADE_REQUIRED


async def test_other_upgrade_is_501(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        raise AssertionError("not called")

    @app.route("/plain")
    async def plain(request: Request, response: roll.Response) -> None:
        raise AssertionError("not called")

    headers = dict(HANDSHAKE, Upgrade="h2c")
    response = await liveclient.query("GET", "/ws", headers=headers)
    assert response.status == HTTPStatus.NOT_IMPLEMENTED
    assert response.reason == "Not Implemented"
    response = await liveclient.query("GET", "/plain", headers=HANDSHAKE)
    assert response.status == HTTPStatus.NOT_IMPLEMENTED


async def test_only_get_opens_a_websocket(app: Roll, liveclient: LiveClient) -> None:
    called = []

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        called.append(True)

    response = await liveclient.query("POST", "/ws", headers=HANDSHAKE, body=b"")
    assert response.status == HTTPStatus.METHOD_NOT_ALLOWED
    assert called == []


async def test_bad_handshake_is_refused_with_400(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        raise AssertionError("not called")

    headers = dict(HANDSHAKE, **{"Sec-WebSocket-Key": "short"})
    response = await liveclient.query("GET", "/ws", headers=headers)
    assert response.status == HTTPStatus.BAD_REQUEST
    assert b"Sec-WebSocket-Key" in response.body


# Messages.


async def test_echo_text_and_binary(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/echo/{name}", protocol="websocket")
    async def echo(request: Request, ws: WSProtocol, name: str) -> None:
        assert ws.request is request
        await ws.send(name)
        async for message in ws:
            await ws.send(message)

    async with connect(liveclient.wsl + "/echo/bob") as client:
        assert await client.recv() == "bob"
        await client.send("hello")
        assert await client.recv() == "hello"
        await client.send(b"\x00\xff")
        assert await client.recv() == b"\x00\xff"
        await client.send(["frag", "mented"])  # a fragmented message
        assert await client.recv() == "fragmented"


async def test_send_is_ensure_futurable_and_ws_hashable(app: Roll, liveclient: LiveClient) -> None:
    clients: set[WSProtocol] = set()

    @app.route("/chat", protocol="websocket")
    async def chat(request: Request, ws: WSProtocol) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                for other in clients:
                    asyncio.ensure_future(other.send(message))
        finally:
            clients.discard(ws)

    async with connect(liveclient.wsl + "/chat") as one, connect(liveclient.wsl + "/chat") as two:
        while len(clients) < 2:
            await asyncio.sleep(0.01)
        await one.send("hi all")
        assert await one.recv() == "hi all"
        assert await two.recv() == "hi all"


async def test_server_sends_binary(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/bin", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.send(b"bytes")
        await ws.send(bytearray(b"array"))
        with pytest.raises(TypeError):
            await ws.send(42)  # type: ignore[arg-type]

    async with connect(liveclient.wsl + "/bin") as client:
        assert await client.recv() == b"bytes"
        assert await client.recv() == b"array"


async def test_several_connections_each_with_its_handler(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws/{n}", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol, n: str) -> None:
        message = await ws.recv()
        await ws.send(f"{n}:{message!s}")

    async def one(n: int) -> Any:
        async with connect(f"{liveclient.wsl}/ws/{n}") as client:
            await client.send("x")
            return await client.recv()

    results = await asyncio.gather(*(one(n) for n in range(5)))
    assert results == [f"{n}:x" for n in range(5)]


# Subprotocols.


@pytest.mark.parametrize(
    "offered,expected",
    [(["bar", "foo"], "bar"), (["foo", "bar"], "foo"), (["baz", "foo"], "foo"), (["baz"], None), (None, None)],
)
async def test_subprotocol_is_the_first_the_client_lists(
    app: Roll, liveclient: LiveClient, offered: list[str] | None, expected: str | None
) -> None:
    @app.route("/ws", protocol="websocket", subprotocols=["foo", "bar"])
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.send(str(ws.subprotocol))

    async with connect(liveclient.wsl + "/ws", subprotocols=offered) as client:  # type: ignore[arg-type]
        assert client.subprotocol == expected
        assert await client.recv() == str(expected)


async def test_subprotocol_header_on_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket", subprotocols=["foo", "bar"])
    async def handler(request: Request, ws: WSProtocol) -> None:
        pass

    headers = dict(HANDSHAKE, **{"Sec-WebSocket-Protocol": "bar, foo"})
    response = await liveclient.query("GET", "/ws", headers=headers)
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS
    assert response.headers["Sec-WebSocket-Protocol"] == "bar"
    headers["Sec-WebSocket-Protocol"] = "baz"
    response = await liveclient.query("GET", "/ws", headers=headers)
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS
    assert "Sec-WebSocket-Protocol" not in response.headers


def test_select_subprotocol() -> None:
    assert select_subprotocol(["bar", "foo"], ["foo", "bar"]) == "bar"
    assert select_subprotocol(["baz"], ["foo"]) is None
    assert select_subprotocol(["foo"], None) is None
    assert select_subprotocol([], ["foo"]) is None


# Close codes.


async def test_handler_returns_closes_1000(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.send("bye")

    async with connect(liveclient.wsl + "/ws") as client:
        assert await client.recv() == "bye"
        with pytest.raises(ClientClosed):
            await client.recv()
        assert client.protocol.close_code == 1000
        assert client.protocol.close_reason == ""


async def test_handler_raises_closes_1011_and_logs(
    app: Roll,
    liveclient: LiveClient,
    caplog: pytest.LogCaptureFixture,
    loop_errors: list[dict[str, Any]],
) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="roll"):
        async with connect(liveclient.wsl + "/ws") as client:
            with pytest.raises(ClientClosed):
                await client.recv()
            assert client.protocol.close_code == 1011
            assert client.protocol.close_reason == "Handler died prematurely."
            with pytest.raises(ClientClosed):
                await client.recv()
    errors = [r for r in caplog.records if r.name == "roll" and r.exc_info]
    assert errors and "boom" in str(errors[0].exc_info[1])  # type: ignore[index]
    await asyncio.sleep(0.05)
    gc.collect()
    assert loop_errors == []


async def test_handler_raises_waits_timeout_for_client_close(
    app: Roll, liveclient: LiveClient, timeout: None
) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.recv()
        raise ValueError("boom")

    reader, writer, _ = await raw_handshake(liveclient)
    client = client_protocol()
    client.send_text(b"go")
    writer.write(b"".join(client.data_to_send()))
    frames = await read_frames(reader, client)
    assert frames[0].opcode is Opcode.CLOSE
    assert frames[0].data[2:] == b"Handler died prematurely."
    # Data frames during the wait are ignored; no close from us: dropped after TIMEOUT.
    started = asyncio.get_running_loop().time()
    writer.write(b"".join(ClientProtocolData("ignored")))
    assert await asyncio.wait_for(reader.read(), 3) == b""
    waited = asyncio.get_running_loop().time() - started
    assert 0.15 < waited < 2
    writer.close()


def ClientProtocolData(text: str) -> list[bytes]:
    client = client_protocol()
    client.send_text(text.encode())
    return client.data_to_send()


async def test_timeout_is_read_at_run_time(
    app: Roll, liveclient: LiveClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WSProtocol, "TIMEOUT", 0.1)

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        pass

    reader, writer, _ = await raw_handshake(liveclient)
    started = asyncio.get_running_loop().time()
    assert (await asyncio.wait_for(reader.read(), 3))[:2] == b"\x88\x02"  # close, 1000
    assert asyncio.get_running_loop().time() - started < 2
    writer.close()


async def test_client_goes_away_ends_handler_with_connection_closed(
    app: Roll,
    liveclient: LiveClient,
    caplog: pytest.LogCaptureFixture,
    loop_errors: list[dict[str, Any]],
) -> None:
    ended: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
    events = record_disconnects(app)

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        try:
            await ws.recv()
        except BaseException as error:
            ended.set_result(error)
            raise

    with caplog.at_level(logging.DEBUG, logger="roll"):
        reader, writer, _ = await raw_handshake(liveclient)
        writer.close()  # no close frame
        error = await asyncio.wait_for(ended, 2)
        assert isinstance(error, roll.ConnectionClosed)
        await asyncio.sleep(0.05)
    assert events == ["disconnect"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The server still serves.
    response = await liveclient.query("GET", "/ws")
    assert response.status == HTTPStatus.UPGRADE_REQUIRED
    gc.collect()
    assert loop_errors == []


async def test_client_close_frame_ends_recv_with_connection_closed(
    app: Roll, liveclient: LiveClient
) -> None:
    ended = ended_by_the_close(app)
    async with connect(liveclient.wsl + "/ws") as client:
        await client.close(4000, "done")
    error = await asyncio.wait_for(ended, 2)
    assert isinstance(error, roll.ConnectionClosed)
    assert error.rcvd is not None and error.rcvd.code == 4000


async def test_connection_closed_escaping_handler_closes_1002(
    app: Roll, liveclient: LiveClient
) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        raise roll.ConnectionClosed(None, None)  # e.g. a send to another, gone, socket

    async with connect(liveclient.wsl + "/ws") as client:
        with pytest.raises(ClientClosed):
            await client.recv()
        assert client.protocol.close_code == 1002
        assert client.protocol.close_reason == "Connection closed untimely."


async def test_cancelled_handler_closes_1001(
    app: Roll, liveclient: LiveClient, loop_errors: list[dict[str, Any]]
) -> None:
    events = record_disconnects(app)
    tasks: list[asyncio.Task[None]] = []

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        assert isinstance(request.protocol, HTTPProtocol) and request.protocol.task is not None
        tasks.append(request.protocol.task)
        await ws.recv()

    async with connect(liveclient.wsl + "/ws") as client:
        while not tasks:
            await asyncio.sleep(0.01)
        tasks[0].cancel()
        with pytest.raises(ClientClosed):
            await client.recv()
        assert client.protocol.close_code == 1001
        assert client.protocol.close_reason == "Handler cancelled."
    assert tasks[0].cancelled()
    assert events == ["disconnect"]
    gc.collect()
    assert loop_errors == []


async def test_explicit_close_with_code(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.close(4001, "go away")
        assert ws.closed

    async with connect(liveclient.wsl + "/ws") as client:
        with pytest.raises(ClientClosed):
            await client.recv()
        assert client.protocol.close_code == 4001
        assert client.protocol.close_reason == "go away"


# Events.


@pytest.mark.parametrize("fails", [False, True])
async def test_connect_and_disconnect_events_fire_once(
    app: Roll, liveclient: LiveClient, fails: bool, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[tuple[str, Any]] = []

    @app.listen("websocket_connect")
    async def connected(request: Request, ws: WSProtocol) -> None:
        events.append(("connect", ws))

    @app.listen("websocket_disconnect")
    async def disconnected(request: Request, ws: WSProtocol) -> None:
        events.append(("disconnect", ws))

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        events.append(("handler", ws))
        if fails:
            raise RuntimeError("fail")

    async with connect(liveclient.wsl + "/ws") as client:
        with pytest.raises(ClientClosed):
            await client.recv()
    for _ in range(50):
        if len(events) == 3:
            break
        await asyncio.sleep(0.01)
    assert [name for name, _ in events] == ["connect", "handler", "disconnect"]
    assert len({id(ws) for _, ws in events}) == 1


# Limits.


async def test_message_too_big_closes_1009(app: Roll, liveclient: LiveClient) -> None:
    class Small(WSProtocol):
        MAX_SIZE = 10

    app.WebsocketProtocol = Small

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        async for message in ws:
            await ws.send(message)

    async with connect(liveclient.wsl + "/ws") as client:
        await client.send("small")
        assert await client.recv() == "small"
        await client.send("x" * 100)
        with pytest.raises(ClientClosed):
            await client.recv()
        assert client.protocol.close_code == 1009


async def test_queue_pauses_reading_and_keeps_order(app: Roll, liveclient: LiveClient) -> None:
    class Tiny(WSProtocol):
        MAX_QUEUE = 2

    app.WebsocketProtocol = Tiny
    go = asyncio.Event()
    paused: list[bool] = []

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await go.wait()
        paused.append(ws._reading_paused)
        received = [await ws.recv() for _ in range(10)]
        paused.append(ws._reading_paused)
        await ws.send(",".join(str(m) for m in received))

    async with connect(liveclient.wsl + "/ws") as client:
        for n in range(10):
            await client.send(str(n))
        await asyncio.sleep(0.1)
        go.set()
        assert await client.recv() == ",".join(str(n) for n in range(10))
    assert paused == [True, False]


async def test_ping_resolves_with_the_pong(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        latency = await asyncio.wait_for(ws.ping(b"hello"), 2)
        await ws.send(f"{latency >= 0}")
        waiter = ws.ping()
        await ws.send(str(isinstance(waiter, asyncio.Future)))
        await waiter
        await ws.pong(b"unsolicited")

    async with connect(liveclient.wsl + "/ws") as client:
        assert await client.recv() == "True"
        assert await client.recv() == "True"
        # The server answers the client's pings too.
        latency = await asyncio.wait_for(await client.ping(), 2)
        assert latency >= 0


async def test_keepalive_fails_a_silent_client(app: Roll, liveclient: LiveClient) -> None:
    class Keepalive(WSProtocol):
        PING_INTERVAL = 0.05
        PING_TIMEOUT = 0.1

    app.WebsocketProtocol = Keepalive
    ended = ended_by_the_close(app)
    # The `websockets` client answers pings: it stays connected.
    async with connect(liveclient.wsl + "/ws") as client:
        await asyncio.sleep(0.3)
        assert client.state is State.OPEN
    # A raw client that never answers is dropped with 1011.
    reader, writer, _ = await raw_handshake(liveclient)
    protocol = client_protocol()
    frames: list[Frame] = []
    while not any(frame.opcode is Opcode.CLOSE for frame in frames):
        frames += await read_frames(reader, protocol)
    assert frames[0].opcode is Opcode.PING
    close = [frame for frame in frames if frame.opcode is Opcode.CLOSE][0]
    assert close.data[:2] == (1011).to_bytes(2, "big")
    assert isinstance(await asyncio.wait_for(ended, 2), roll.ConnectionClosed)
    writer.close()


# Robustness.


async def test_raw_client_reading_101_then_leaving(
    app: Roll,
    liveclient: LiveClient,
    caplog: pytest.LogCaptureFixture,
    loop_errors: list[dict[str, Any]],
) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.send("hello")
        await ws.recv()

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = await liveclient.query("GET", "/ws", headers=HANDSHAKE)
            assert response.status == HTTPStatus.SWITCHING_PROTOCOLS
        await asyncio.sleep(0.1)
        async with connect(liveclient.wsl + "/ws") as client:
            assert await client.recv() == "hello"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    gc.collect()
    assert loop_errors == []


async def test_frames_in_the_handshake_packet_are_not_lost(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.send(await ws.recv())

    reader, writer, _ = await raw_handshake(liveclient, extra=b"".join(ClientProtocolData("early")))
    protocol = client_protocol()
    frames = await read_frames(reader, protocol)
    assert frames[0].opcode is Opcode.TEXT and frames[0].data == b"early"
    writer.close()


# Without sockets: the protocol driven by hand over a fake transport.


async def test_sans_socket_exchange(app: Roll) -> None:
    received: list[Any] = []

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        received.append(await ws.recv())
        await ws.send("pong")

    transport = Transport()
    http = open_protocol(app, transport)
    head = "GET /ws HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in HANDSHAKE.items())
    http.data_received(head.encode() + b"\r\n")
    assert http.task is not None
    await asyncio.sleep(0)
    assert transport.data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert f"Sec-WebSocket-Accept: {accept_key(KEY)}".encode() in transport.data
    transport.data = b""
    http.data_received(b"".join(ClientProtocolData("ping")))
    client = client_protocol()
    for _ in range(5):
        await asyncio.sleep(0)
    client.receive_data(transport.data)
    frames = [e for e in client.events_received() if isinstance(e, Frame)]
    assert received == ["ping"]
    assert frames[0].opcode is Opcode.TEXT and frames[0].data == b"pong"
    assert frames[1].opcode is Opcode.CLOSE and frames[1].data[:2] == b"\x03\xe8"
    # The client answers the close: the server ends the TCP connection.
    transport.data = b""
    http.data_received(b"".join(client.data_to_send()))  # the echoed close
    assert transport.is_closing()
    http.connection_lost(None)
    await asyncio.wait_for(http.task, 1)


def test_assembler_joins_fragments() -> None:
    assembler = Assembler()
    assert assembler.feed(Frame(Opcode.TEXT, b"h\xc3", fin=False)) is None
    assert assembler.feed(Frame(Opcode.CONT, b"\xa9", fin=False)) is None
    assert assembler.feed(Frame(Opcode.CONT, b"!", fin=True)) == "hé!"
    assert assembler.feed(Frame(Opcode.BINARY, b"\x00")) == b"\x00"
    assert assembler.feed(Frame(Opcode.PING, b"")) is None
    with pytest.raises(UnicodeDecodeError):
        assembler.feed(Frame(Opcode.TEXT, b"\xff"))


def test_handshake_request_from_parsed_request() -> None:
    request = Request(None, None)
    request.url = b"/ws?x=1"
    request.method = "GET"
    request.headers = {"UPGRADE": "websocket", "SEC-WEBSOCKET-KEY": KEY}
    built = handshake_request(request)
    assert built.path == "/ws?x=1"
    assert built.headers["Sec-WebSocket-Key"] == KEY
    assert refusal("GET", "1.1") is None
    assert refusal("POST", "1.1") is not None and refusal("POST", "1.1")[0] == 405  # type: ignore[index]
    assert refusal("GET", "1.0") is not None and refusal("GET", "1.0")[0] == 505  # type: ignore[index]


async def test_handshake_with_non_latin1_header_values(
    app: Roll, liveclient: LiveClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The core decodes header values as UTF-8: "Ā" is not latin-1 text, which
    # `websockets` wants. It used to fail the handshake with no answer at all.
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        await ws.send(request.headers["X-NAME"])

    response = await liveclient.query("GET", "/ws", headers=dict(HANDSHAKE, **{"X-Name": "Ā é"}))
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS
    assert "Websocket failure" not in caplog.text
    request = Request(None, None)
    request.headers = {"X-NAME": "Ā", "X-LATIN": "é", **{k.upper(): v for k, v in HANDSHAKE.items()}}
    built = handshake_request(request)
    assert built.headers["X-Name"] == "Ā".encode().decode("latin-1")
    assert built.headers["X-Latin"] == "é"


async def test_failing_connect_listener_closes_1011_and_still_disconnects(
    app: Roll, liveclient: LiveClient, caplog: pytest.LogCaptureFixture
) -> None:
    events = record_disconnects(app)

    @app.listen("websocket_connect")
    async def connected(request: Request, ws: WSProtocol) -> None:
        raise RuntimeError("no")

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        events.append("handler")

    with caplog.at_level(logging.ERROR, logger="roll"):
        async with connect(liveclient.wsl + "/ws") as client:
            with pytest.raises(ClientClosed):
                await client.recv()
            assert client.protocol.close_code == 1011
        await asyncio.sleep(0.05)
    assert events == ["disconnect"]
    assert any(r.exc_info and "no" in str(r.exc_info[1]) for r in caplog.records)


async def test_send_waits_while_the_client_does_not_read(app: Roll, liveclient: LiveClient) -> None:
    sent: list[int] = []
    chunk = b"x" * 256 * 1024

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        for n in range(64):  # 16 MiB in all
            await ws.send(chunk)
            sent.append(n)

    reader, writer, _ = await raw_handshake(liveclient)
    await asyncio.sleep(0.3)
    assert len(sent) < 64  # blocked on the full socket buffers
    received = 0
    while received < 64 * len(chunk):
        data = await asyncio.wait_for(reader.read(1 << 20), 5)
        assert data
        received += len(data)
    assert len(sent) == 64
    writer.close()


async def test_in_memory_client_gets_the_handshake_answer(app: Roll, client: roll.testing.Client) -> None:
    events = record_disconnects(app)

    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        events.append("handler")
        await ws.recv()  # never comes

    started = asyncio.get_running_loop().time()
    response = await client.get("/ws", headers=HANDSHAKE)
    assert asyncio.get_running_loop().time() - started < 1
    assert response.status == HTTPStatus.SWITCHING_PROTOCOLS
    assert response.headers["Sec-WebSocket-Accept"] == accept_key(KEY)
    assert events == ["handler", "disconnect"]
    response = await client.get("/ws", headers=dict(HANDSHAKE, Upgrade="h2c"))
    assert response.status == HTTPStatus.NOT_IMPLEMENTED


async def test_http_10_handshake_is_505(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/ws", protocol="websocket")
    async def handler(request: Request, ws: WSProtocol) -> None:
        raise AssertionError("not called")

    reader, writer = await asyncio.open_connection("127.0.0.1", liveclient.port)
    head = "GET /ws HTTP/1.0\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in HANDSHAKE.items())
    writer.write(head.encode() + b"\r\n")
    raw = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    assert raw.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")
