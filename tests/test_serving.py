"""Production serving: the graceful server, `python -m roll` and the gunicorn worker.

The command lines run as subprocesses on loopback, each bounded in time and
always killed at the end.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed as ClientClosed

from roll import Request, Response, Roll, WSProtocol
from roll.server import AcceptLoop, Listener, Server

ROOT = Path(__file__).resolve().parent.parent
APP = "tests.serving_app:app"


# The server, in process.


async def test_server_stop_lets_in_flight_requests_finish(app: Roll) -> None:
    started = asyncio.Event()

    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        started.set()
        await asyncio.sleep(0.3)
        response.body = "done"

    @app.route("/ws", protocol="websocket")
    async def ws_handler(request: Request, ws: WSProtocol) -> None:
        await ws.recv()

    server = Server(app)
    await server.start("127.0.0.1", 0)
    port = server.addresses[0][1]

    # An idle keep-alive connection, a websocket and a request in flight.
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    idle_writer.write(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await idle_reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 404")
    await idle_reader.readexactly(8)  # the body: "/nowhere"
    websocket = await connect(f"ws://127.0.0.1:{port}/ws")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    await started.wait()

    stopping = asyncio.create_task(server.stop(grace=5))
    await asyncio.sleep(0.05)
    with pytest.raises(OSError):  # no longer accepting
        await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(idle_reader.read(), 2) == b""  # idle: closed at once
    with pytest.raises(ClientClosed):
        await asyncio.wait_for(websocket.recv(), 2)
    assert websocket.protocol.close_code == 1001
    answer = await asyncio.wait_for(reader.read(), 2)  # in flight: answered, then closed
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"done")
    assert b"\r\nConnection: close\r\n" in answer
    # The server lingers (reading) until the client closes too, so that nothing
    # the client still sends can reset the connection under the answer.
    writer.close()
    await asyncio.wait_for(stopping, 2)
    idle_writer.close()


async def test_server_stop_closes_stragglers_after_grace(app: Roll) -> None:
    @app.route("/forever")
    async def forever(request: Request, response: Response) -> None:
        await asyncio.sleep(30)

    server = Server(app)
    await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.addresses[0][1])
    writer.write(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(server.stop(grace=0.2), 3)
    assert asyncio.get_running_loop().time() - started < 2
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()


async def test_listener_accepts_every_pending_connection_at_once(app: Roll) -> None:
    # uvloop's own servers accept one connection per loop iteration: under load,
    # new connections waited seconds in the kernel's queue (docs/serving.md).
    @app.route("/")
    async def hello(request: Request, response: Response) -> None:
        response.body = "hi"

    loop = asyncio.get_running_loop()
    app.loop = loop
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    listener = AcceptLoop(loop, app.factory, sock)
    address = sock.getsockname()
    clients = [socket.create_connection(address) for _ in range(20)]  # the loop is not running
    try:
        listener._accept()  # one wake-up
        assert len(listener.tasks) == 20
        with pytest.raises(BlockingIOError):
            sock.accept()  # none left in the queue
        for client in clients:
            client.setblocking(False)
            await loop.sock_sendall(client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for client in clients:
            answer = await asyncio.wait_for(loop.sock_recv(client, 1024), 2)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"hi")
    finally:
        for client in clients:
            client.close()
        listener.close()
        await listener.wait_closed()
    assert listener.sockets == () and sock.fileno() == -1


def test_server_on_uvloop_serves_through_the_listener(app: Roll) -> None:
    uvloop = pytest.importorskip("uvloop")

    @app.route("/")
    async def hello(request: Request, response: Response) -> None:
        response.body = "hi"

    async def main() -> None:
        server = Server(app)
        assert isinstance(await server.start("127.0.0.1", 0), AcceptLoop)
        address = server.addresses[0]
        reader, writer = await asyncio.open_connection(*address)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"hi"), 2)).startswith(b"HTTP/1.1 200")
        (connection,) = app.connections
        accepted = connection.transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # as uvloop's own
        await asyncio.wait_for(server.stop(grace=1), 3)  # closes the idle connection
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
        with pytest.raises(OSError):  # no longer listening
            await asyncio.open_connection(*address)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


# Subprocesses.


@contextmanager
def process(args: list[str], log: Path, events: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "ROLL_TEST_EVENTS": str(events), "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as output:
        child = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)  # the group of the process we started
        child.wait(timeout=10)


def log_and_events(tmp_path: Path) -> tuple[Path, Path]:
    """The file the server's output goes to; the folder where its app marks events."""
    events = tmp_path / "events"
    events.mkdir()
    return tmp_path / "log", events


def gunicorn_args(workers: int, *options: str) -> list[str]:
    """gunicorn serving APP on a free port with `workers` of our workers."""
    return [
        sys.executable, "-m", "gunicorn", "-k", "roll.worker.Worker", "-w", str(workers),
        "-b", "127.0.0.1:0", *options, APP,
    ]


def gunicorn_port(log: Path) -> int:
    return int(wait_for_line(log, r"Listening at: http://127\.0\.0\.1:(\d+)")[1])


def wait_for_line(log: Path, pattern: str, timeout: float = 20) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not found in:\n{log.read_text(errors='replace')}")


def wait_for_files(events: Path, prefix: str, count: int, timeout: float = 20) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(events.glob(prefix + "-*"))
        if len(files) >= count:
            return files
        time.sleep(0.05)
    raise AssertionError(f"{count} {prefix} events expected, got {sorted(events.iterdir())}")


def get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
            return sock.recv(100) == b""
    except OSError:
        return True


def check_graceful_stop(
    child: subprocess.Popen[bytes], port: int, signum: int = signal.SIGTERM
) -> None:
    """A slow request in flight when the signal comes is answered; then all stops."""
    with ThreadPoolExecutor(1) as pool:
        slow: Future[tuple[int, bytes]] = pool.submit(get, port, "/slow?s=1.5")
        time.sleep(0.5)
        child.send_signal(signum)
        time.sleep(0.3)
        assert refused(port)
        assert slow.result(timeout=10) == (200, b"done")
    assert child.wait(timeout=15) == 0


def test_cli_single_process(tmp_path: Path) -> None:
    log, events = log_and_events(tmp_path)
    args = [sys.executable, "-m", "roll", APP, "--port", "0"]
    with process(args, log, events) as child:
        port = int(wait_for_line(log, r"Rolling on http://127\.0\.0\.1:(\d+) with 1 worker ")[1])
        assert get(port, "/pid") == (200, str(child.pid).encode())
        assert get(port, "/loop") == (200, b"uvloop")
        check_graceful_stop(child, port)
    assert len(wait_for_files(events, "startup", 1)) == 1
    assert len(wait_for_files(events, "shutdown", 1)) == 1


def test_cli_workers_share_the_port_and_restart(tmp_path: Path) -> None:
    log, events = log_and_events(tmp_path)
    args = [sys.executable, "-m", "roll", APP, "--port", "0", "--workers", "2", "--grace", "5"]
    with process(args, log, events) as child:
        port = int(wait_for_line(log, r"Rolling on http://127\.0\.0\.1:(\d+) with 2 workers")[1])
        pids = {int(path.name.split("-")[1]) for path in wait_for_files(events, "startup", 2)}
        assert len(pids) == 2 and child.pid not in pids
        served = {int(get(port, "/pid")[1]) for _ in range(20)}
        assert served <= pids
        # A worker that dies is replaced.
        os.kill(pids.pop(), signal.SIGKILL)
        wait_for_line(log, r"Worker \d+ exited \(-9\); restarting")
        assert len(wait_for_files(events, "startup", 3)) == 3
        assert get(port, "/pid")[0] == 200
        check_graceful_stop(child, port, signal.SIGINT)
    assert len(wait_for_files(events, "shutdown", 2)) == 2


def test_cli_rejects_what_is_not_an_app(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "roll", "tests.serving_app:record", "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "is not a Roll app" in result.stderr


gunicorn = pytest.importorskip("gunicorn")


def test_gunicorn_worker(tmp_path: Path) -> None:
    log, events = log_and_events(tmp_path)
    with process(gunicorn_args(2, "--graceful-timeout", "5"), log, events) as child:
        port = gunicorn_port(log)
        pids = {int(path.name.split("-")[1]) for path in wait_for_files(events, "startup", 2)}
        assert len(pids) == 2
        assert get(port, "/loop") == (200, b"uvloop")
        assert int(get(port, "/pid")[1]) in pids
        check_graceful_stop(child, port)
    assert len(wait_for_files(events, "shutdown", 2)) == 2


async def test_gunicorn_worker_serves_websockets(tmp_path: Path) -> None:
    log, events = log_and_events(tmp_path)
    with process(gunicorn_args(1, "--graceful-timeout", "2"), log, events) as child:
        port = await asyncio.to_thread(gunicorn_port, log)
        async with connect(f"ws://127.0.0.1:{port}/ws") as client:
            assert await client.recv() == "hi"
            child.send_signal(signal.SIGTERM)
            with pytest.raises(ClientClosed):
                await asyncio.wait_for(client.recv(), 10)
            assert client.protocol.close_code == 1001
        assert await asyncio.to_thread(child.wait, 15) == 0


def test_gunicorn_max_requests_restarts_the_worker(tmp_path: Path) -> None:
    log, events = log_and_events(tmp_path)
    with process(gunicorn_args(1, "--max-requests", "3"), log, events) as child:
        port = gunicorn_port(log)
        first = {int(get(port, "/pid")[1]) for _ in range(3)}
        assert len(first) == 1
        assert len(wait_for_files(events, "startup", 2)) == 2
        assert len(wait_for_files(events, "shutdown", 1)) == 1
        assert int(get(port, "/pid")[1]) not in first
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=15) == 0


async def test_app_forgets_closed_connections(app: Roll) -> None:
    from roll.testing import Transport

    app.loop = asyncio.get_running_loop()
    protocols = [app.factory() for _ in range(100)]
    for protocol in protocols:
        protocol.connection_made(Transport())
    assert len(app.connections) == 100
    for protocol in protocols:
        protocol.connection_lost(None)
    assert len(app.connections) == 0


def test_listener_is_the_deprecated_name_of_accept_loop() -> None:
    # docs/serving.md named it `Listener` before it became `AcceptLoop`.
    assert Listener is AcceptLoop
