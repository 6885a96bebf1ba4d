"""Latency of NEW connections while many keep-alive ones keep the server busy.

    .venv/bin/python tests/soak/loadtest_accept.py --uvloop           # Roll on uvloop
    .venv/bin/python tests/soak/loadtest_accept.py                    # Roll on asyncio
    .venv/bin/python tests/soak/loadtest_accept.py --uvloop --bare    # a bare Protocol on uvloop
    .venv/bin/python tests/soak/loadtest_accept.py --uvloop --bare --native --work 15  # ... busy
    .venv/bin/python tests/soak/loadtest_accept.py --uvloop --native  # loop.create_server, not roll.server
    .venv/bin/python tests/soak/loadtest_accept.py --uvloop -c 1000 -r 200 -d 15 --backlog 100

Three processes, all on 127.0.0.1: the server (the app of tests/soak/loadtest.py,
or with --bare a Protocol answering a fixed response), a load process holding
`-c` keep-alive connections that send GETs back to back, and this process,
which opens `-r` new connections per second, each sending one
`Connection: close` GET, and times connect() and connect → first response
byte. Reported: percentiles of both, how many took over 1 s or never got an
answer (5 s), requests/s of the load, the server's accept queue (Recv-Q of the
listening socket, sampled by `ss`) and the kernel's listen-queue overflow and
SYN retransmit counters (TcpExt, this network namespace: other traffic counts
too). Not run by `make test`: `make soak` runs it, short, through tests/soak/test_soak.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


# Server process


class Bare(asyncio.Protocol):
    """Answers every request head with a fixed response (keep-alive), no parser."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
    WORK = 0.0  # seconds of CPU per read (--work)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.WORK:  # load the loop as an app would
            end = time.perf_counter() + self.WORK
            while time.perf_counter() < end:
                pass
        self.transport.write(self.RESPONSE * data.count(b"\r\n\r\n"))
        if b"Connection: close" in data:
            self.transport.close()


async def serve(args: argparse.Namespace) -> None:
    from roll import Roll
    from roll.server import Server

    loop = asyncio.get_running_loop()
    if args.bare:
        app = Roll()
        setattr(app, "factory", Bare)  # the server builds bare Protocols, not Roll's
        Bare.WORK = args.work / 1e6
    else:
        from soak.loadtest import make_app

        app = make_app()
        app.loop = loop
        await app.startup()
    server: Any
    if args.native:  # the loop's own server (uvloop's accepts one connection per iteration)
        server = await loop.create_server(app.factory, HOST, args.port, backlog=args.backlog)
    else:  # as `python -m roll` and the gunicorn worker serve
        server = await Server(app).start(HOST, args.port, backlog=args.backlog)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


# Load process


async def keep_alive(port: int, counter: list[int], stop: float) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    try:
        while time.monotonic() < stop:
            writer.write(request)
            data = b""
            while not data.endswith(b"Hello, World!"):
                chunk = await reader.read(4096)
                if not chunk:
                    return
                data += chunk
            counter[0] += 1
    finally:
        writer.close()


async def load(args: argparse.Namespace) -> None:
    counter = [0]
    stop = time.monotonic() + args.duration + 3
    tasks = []
    for i in range(args.connections):
        tasks.append(asyncio.create_task(keep_alive(args.port, counter, stop)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    print("loaded", flush=True)
    last, per_second = 0, []
    while time.monotonic() < stop:
        await asyncio.sleep(1)
        per_second.append(counter[0] - last)
        last = counter[0]
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(per_second), flush=True)


def run(coroutine: Any, use_uvloop: bool) -> None:
    if use_uvloop:
        import uvloop

        uvloop.run(coroutine)
    else:
        asyncio.run(coroutine)


# This process: probes


async def probe(port: int, connects: list[float], firsts: list[float], failed: list[str]) -> None:
    start = time.monotonic()
    try:
        async with asyncio.timeout(5):
            reader, writer = await asyncio.open_connection(HOST, port)
            connects.append(time.monotonic() - start)
            writer.write(b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            if not await reader.read(1):
                failed.append("closed")
                return
            firsts.append(time.monotonic() - start)
            writer.close()
    except (OSError, TimeoutError) as error:
        failed.append(type(error).__name__)


def tcp_counters() -> dict[str, int]:
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    for names, values in zip(lines[::2], lines[1::2]):
        if names[0] == "TcpExt:":
            found = dict(zip(names[1:], map(int, values[1:])))
            return {k: found[k] for k in ("ListenOverflows", "ListenDrops", "TCPSynRetrans")}
    return {}


def accept_queue(port: int) -> int:
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True
    ).stdout.split()
    return int(out[1]) if len(out) > 1 else -1


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    values = sorted(values)

    def pick(q: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1)

    return {"p50_ms": pick(0.5), "p90_ms": pick(0.9), "p99_ms": pick(0.99), "max_ms": pick(1.0)}


async def probes(args: argparse.Namespace) -> dict[str, Any]:
    connects: list[float] = []
    firsts: list[float] = []
    failed: list[str] = []
    queue: list[int] = []
    tasks = set()
    before = tcp_counters()
    start = time.monotonic()
    next_sample = start
    sent = 0
    while time.monotonic() - start < args.duration:
        task = asyncio.create_task(probe(args.port, connects, firsts, failed))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if time.monotonic() >= next_sample:
            queue.append(await asyncio.to_thread(accept_queue, args.port))
            next_sample += 0.5
        sent += 1
        await asyncio.sleep(max(0.0, start + sent / args.rate - time.monotonic()))
    if tasks:
        await asyncio.wait(tasks)
    after = tcp_counters()
    return {
        "probes": sent,
        "connect": percentiles(connects),
        "first_byte": percentiles(firsts),
        "first_byte_over_1s": sum(t > 1 for t in firsts),
        "failed": len(failed),
        "accept_queue_max": max(queue, default=-1),
        "accept_queue_samples": queue,
        "tcp": {k: after[k] - before[k] for k in after},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--connections", type=int, default=1000)
    parser.add_argument("-r", "--rate", type=float, default=200, help="new connections per second")
    parser.add_argument("-d", "--duration", type=float, default=15)
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--uvloop", action="store_true", help="run the server on uvloop")
    parser.add_argument("--bare", action="store_true", help="a bare Protocol instead of Roll")
    parser.add_argument("--work", type=float, default=0, help="--bare: µs of CPU per read")
    parser.add_argument("--native", action="store_true", help="loop.create_server, not roll.server.Server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--role", choices=("server", "load"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "server":
        run(serve(args), args.uvloop)
        return
    if args.role == "load":
        run(load(args), True)  # the load on uvloop: it should not be the bottleneck
        return
    if not args.port:
        with socket.socket() as free:
            free.bind((HOST, 0))
            args.port = free.getsockname()[1]
    base = [sys.executable, __file__, "--port", str(args.port), "--backlog", str(args.backlog)]
    base += ["-c", str(args.connections), "-d", str(args.duration)]
    base += ["--work", str(args.work)]
    base += ["--uvloop"] * args.uvloop + ["--bare"] * args.bare + ["--native"] * args.native
    server = subprocess.Popen(base + ["--role", "server"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    loader = None
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise SystemExit("the server did not start")
        loader = subprocess.Popen(base + ["--role", "load"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert loader.stdout is not None
        if loader.stdout.readline().strip() != "loaded":
            raise SystemExit("the load did not start")
        time.sleep(1)  # let it reach its pace
        results = asyncio.run(probes(args))
        out, _ = loader.communicate(timeout=30)
        per_second = json.loads(out.strip().splitlines()[-1])
        results["load_req_per_s"] = round(sum(per_second[1:-1]) / max(1, len(per_second) - 2))
    finally:
        for process in (loader, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
    server_kind = ("bare" if args.bare else "roll") + (" uvloop" if args.uvloop else " asyncio")
    server_kind += " create_server" if args.native else " roll.server"
    print(json.dumps({"server": server_kind, "backlog": args.backlog, **results}))


if __name__ == "__main__":
    main()
