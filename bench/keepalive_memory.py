"""Memory per idle keep-alive connection: the server's RSS before and after N idle connections.

    python -m bench.keepalive_memory                          # 10,000 connections, core app, uvloop
    python -m bench.keepalive_memory --loops uvloop,asyncio --apps core,typed
    python -m bench.keepalive_memory --tracemalloc 2000      # which allocations they are

The server is a bench app (`bench/apps/roll_<app>_app.py`) served by
`loop.create_server(app.factory, ...)` on 127.0.0.1, in its own process. A
client process opens N connections one after the other and, for each
`--requests` count, sends that many `GET /minimal` on each (reading every
answer whole), then leaves them open and idle. The server's VmRSS is read
from /proc before and after, each time after a `gc.collect()` in the server
and once it stopped moving; printed: (after − before) / N. With 0 requests
it is what a connection costs; with 1, what a connection that has answered
keeps besides. A fresh server per measurement, warmed up first by a few
requests on connections that then close (one-time costs are not counted).

The server's protocol is a subclass of the app's whose KEEP_ALIVE_TIMEOUT
is 30 s (the timer stays, as in production, only later). A connection drops
its answered exchange when that timer finds it idle: with requests, the
measure waits until every connection has (about 30 s), then reads the RSS
before the second period closes them. Without requests, it reads at once
(such a connection closes after one period).

`--tracemalloc N` runs the server with tracemalloc (slower, and its RSS is
not comparable): it prints the allocations that grew between the two
snapshots, in bytes per connection, by the line that made them.

The RSS needs room for 10,000 sockets in both processes: RLIMIT_NOFILE is
raised (to the hard limit; root raises that too).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from typing import IO, Any

from .config import APPS_DIR, HOST, REPO_ROOT
from .server import free_port, process_rss

IDLE_TIMEOUT = 30.0  # the served protocol's KEEP_ALIVE_TIMEOUT
REQUEST = b"GET /minimal HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))  # root only
            return
        except (ValueError, OSError):
            raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {needed}: run as root, or fewer connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# ------------------------------------------------------------ the server process


def serve(app_name: str, loop_name: str, port: int, traced: bool, needed: int) -> None:
    """Serve the bench app; obey one-line commands on stdin, answer on stdout."""
    import tracemalloc

    if traced:
        tracemalloc.start(1)
    raise_nofile(needed)
    sys.path.insert(0, str(APPS_DIR))
    app: Any = importlib.import_module(f"roll_{app_name}_app").app

    class Patient(app.HttpProtocol):  # type: ignore[misc]  # (a class known at run time)
        __slots__ = ()  # no __dict__: the same size as the app's protocol
        KEEP_ALIVE_TIMEOUT = IDLE_TIMEOUT

    app.HttpProtocol = Patient
    snapshots: list[tracemalloc.Snapshot] = []

    def command(line: str) -> str:
        gc.collect()
        if line == "gc":
            return "ok"
        if line == "count":
            return str(len(app.connections))
        if line == "held":  # connections still holding an answered exchange
            return str(sum(1 for connection in app.connections if connection.request is not None))
        if line == "snap":
            snapshots.append(tracemalloc.take_snapshot())
            return "ok"
        if line.startswith("top "):
            connections = int(line.split()[1])
            after = tracemalloc.take_snapshot()
            stats = after.compare_to(snapshots[-1], "lineno")
            rows = [
                f"{stat.size_diff / connections:8.1f} B {stat.count_diff / connections:6.2f} blocks"
                f"  {stat.traceback[0]}"
                for stat in stats[:25]
                if stat.size_diff
            ]
            total = sum(stat.size_diff for stat in stats)
            rows.append(f"{total / connections:8.1f} B in all (traced by Python's allocators)")
            return "\n".join(rows) + "\nend"
        return f"unknown command {line!r}"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        app.loop = loop
        await app.startup()
        server = await loop.create_server(app.factory, HOST, port, backlog=4096)
        done = asyncio.Event()

        def read_commands() -> None:
            for line in sys.stdin:
                answer = asyncio.run_coroutine_threadsafe(run(line.strip()), loop).result()
                print(answer, flush=True)
            loop.call_soon_threadsafe(done.set)

        async def run(line: str) -> str:
            return command(line)

        threading.Thread(target=read_commands, daemon=True).start()
        print("ready", flush=True)
        await done.wait()
        server.close()

    if loop_name == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


# ------------------------------------------------------------ the client process


def read_response(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit(f"connection closed by the server after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected answer {head!r}")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed in a body")
        body += chunk


def client(port: int, connections: int, requests: int) -> None:
    """Open the connections, make the requests, say "open"; close all on a line from stdin."""
    raise_nofile(connections + 100)
    socks = []
    for number in range(connections):
        if number % 100 == 99:
            # Let the server accept as they come: a burst of pending connections
            # costs asyncio's loop a task each at once (the heap keeps the peak).
            time.sleep(0.01)
        sock = socket.create_connection((HOST, port))
        for _ in range(requests):
            sock.sendall(REQUEST)
            read_response(sock)
        socks.append(sock)
    print("open", flush=True)
    sys.stdin.readline()
    for sock in socks:
        sock.close()
    print("closed", flush=True)


# ------------------------------------------------------------ the measurement


def rss(pid: int) -> int:
    size = process_rss(pid)
    if not size:
        raise RuntimeError("no VmRSS")
    return size


def settled_rss(pid: int, timeout: float = 20.0) -> int:
    """VmRSS once four samples 0.25 s apart agree within 8 KiB."""
    samples = [rss(pid)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        samples.append(rss(pid))
        last = samples[-4:]
        if len(last) == 4 and max(last) - min(last) <= 8192:
            return last[-1]
    return samples[-1]


def ask(proc: subprocess.Popen[str], line: str) -> str:
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None
    stdin.write(line + "\n")
    stdin.flush()
    return readline(stdout)


def readline(stream: IO[str] | None) -> str:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise RuntimeError("the process exited")
    return line.strip()


def warm_up(port: int) -> None:
    for _ in range(10):
        with socket.create_connection((HOST, port)) as sock:
            for _ in range(3):
                sock.sendall(REQUEST)
                read_response(sock)


def measure(app: str, loop: str, connections: int, requests: int, traced: bool) -> dict[str, Any]:
    port = free_port()
    command = [sys.executable, "-m", "bench.keepalive_memory"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    server = subprocess.Popen(
        [*command, "--serve", app, loop, str(port), str(connections + 100), "1" if traced else "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    clients = None
    try:
        if readline(server.stdout) != "ready":
            raise RuntimeError("the server did not start")
        warm_up(port)
        ask(server, "snap" if traced else "gc")
        before = settled_rss(server.pid)
        clients = subprocess.Popen(
            [*command, "--client", str(port), str(connections), str(requests)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env,
        )  # fmt: skip
        if readline(clients.stdout) != "open":
            raise RuntimeError("the client failed")
        # With no request, the client is done before the server accepted them all.
        deadline = time.monotonic() + 60
        while (count := int(ask(server, "count"))) != connections:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server has {count} connections, not {connections}")
            time.sleep(0.2)
        if requests:
            # Until the idle timer of every connection dropped its exchange.
            deadline = time.monotonic() + IDLE_TIMEOUT + 20
            while int(ask(server, "held")):
                if time.monotonic() > deadline:
                    raise RuntimeError("the connections still hold their exchange")
                time.sleep(0.5)
            if int(ask(server, "count")) != connections:
                raise RuntimeError("connections closed before the measure")
        top = []
        if traced:
            assert server.stdin is not None
            server.stdin.write(f"top {connections}\n")
            server.stdin.flush()
            while (line := readline(server.stdout)) != "end":
                top.append(line)
        else:
            ask(server, "gc")
        after = settled_rss(server.pid)
        ask(clients, "close")
        ask(server, "gc")
        closed = settled_rss(server.pid)
        return {
            "app": app, "loop": loop, "connections": connections, "requests": requests,
            "before": before, "after": after, "closed": closed,
            "per_connection": (after - before) / connections, "top": top,
        }  # fmt: skip
    finally:
        for proc in (clients, server):
            if proc is not None:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keepalive_memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--requests", default="0,1", help="requests per connection, one measurement each")
    parser.add_argument("--loops", default="uvloop", help="uvloop, asyncio")
    parser.add_argument("--apps", default="core", help="core, typed")
    parser.add_argument("--tracemalloc", type=int, metavar="N", default=0,
                        help="N connections, tracemalloc in the server: what they keep")  # fmt: skip
    parser.add_argument("--serve", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        app, loop, port, needed, traced = args.serve
        serve(app, loop, int(port), traced == "1", int(needed))
        return 0
    if args.client:
        client(*args.client)
        return 0
    raise_nofile(200)
    traced = args.tracemalloc > 0
    connections = args.tracemalloc or args.connections
    print(f"{connections:,} idle connections, KEEP_ALIVE_TIMEOUT {IDLE_TIMEOUT:g} s; RSS of the server")
    for app in args.apps.split(","):
        for loop in args.loops.split(","):
            for requests in [int(r) for r in args.requests.split(",")]:
                result = measure(app, loop, connections, requests, traced)
                print(
                    f"{app:5} {loop:7} {requests} request(s):"
                    f" {result['per_connection']:7,.0f} bytes/connection"
                    f"  (RSS {result['before'] / 2**20:.1f} → {result['after'] / 2**20:.1f} MiB,"
                    f" {result['closed'] / 2**20:.1f} MiB once closed)",
                    flush=True,
                )
                for line in result["top"]:
                    print("    " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
