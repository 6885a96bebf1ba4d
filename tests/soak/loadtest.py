"""Load test: many keep-alive clients plus a stream of bad ones; memory must stay flat.

    .venv/bin/python tests/soak/loadtest.py                     # 1,000 connections, 30 s
    .venv/bin/python tests/soak/loadtest.py -c 200 -d 10        # shorter
    .venv/bin/python tests/soak/loadtest.py --json out.json     # also write the figures
    .venv/bin/python tests/soak/loadtest.py --uvloop            # the server on uvloop

The server runs in its own process (a Roll app with the default limits, served
by `roll.server.Server` as in production, or with --native by the loop's own
`create_server`) on 127.0.0.1 only. This process opens `--connections` keep-alive connections that
send requests back to back for `--duration` seconds (GETs, a small JSON POST,
a chunked upload), while another loop opens fresh connections that misbehave:
malformed heads, smuggling attempts, oversized bodies, URLs and headers,
slowloris heads and bodies that stall or trickle (held until the server cuts
them off with a 408), and clients that reset the connection mid-request or
mid-response. The server's memory (VmRSS from /proc) is sampled every second.

Reported: requests served, errors (anything unexpected: a 5xx, a keep-alive
connection dropped, a bad client answered with something other than the
expected 4xx or a close), bad clients per kind, and the server's memory over
time; the verdict compares the peak of the first and of the last 10 seconds.
Not run by `make test`: `make soak` runs it, short, through tests/soak/test_soak.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


# The server side (run in a child process)


def make_app() -> Any:
    from roll import Request, Response, Roll

    app = Roll()

    @app.route("/")
    async def hello(request: Request, response: Response) -> None:
        response.body = "Hello, World!"

    @app.route("/json", methods=["POST"])
    async def echo_json(request: Request, response: Response) -> None:
        response.json = {"got": request.json, "n": request.query.int("n", 0)}

    @app.route("/upload", methods=["POST"], lazy_body=True)
    async def upload(request: Request, response: Response) -> None:
        size = 0
        async for chunk in request:
            size += len(chunk)
        response.body = str(size)

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def chunks() -> Any:
            for _ in range(200):
                yield b"x" * 16384
                await asyncio.sleep(0)

        response.body = chunks()

    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        await asyncio.sleep(0.05)
        response.body = "slow"

    return app


async def serve(port: int, use_uvloop: bool, native: bool = False) -> None:
    from roll.server import Server

    app = make_app()
    loop = asyncio.get_running_loop()
    app.loop = loop
    await app.startup()
    server: Any
    if native:  # the loop's own server: uvloop's accepts one connection per loop iteration
        server = await loop.create_server(app.factory, HOST, port, backlog=4096)
    else:  # as `python -m roll` and the gunicorn worker serve
        server = await Server(app).start(HOST, port, backlog=4096)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    start = time.monotonic()
    await app.graceful_shutdown(server, grace=5)
    print(f"shutdown {time.monotonic() - start:.2f}", flush=True)


def run_server(port: int, use_uvloop: bool, native: bool) -> None:
    sys.path.insert(0, str(ROOT))
    if use_uvloop:
        import uvloop

        uvloop.run(serve(port, use_uvloop, native))
    else:
        asyncio.run(serve(port, use_uvloop, native))


# The client side


class Stats:
    def __init__(self) -> None:
        self.served = 0
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.bad: Counter[str] = Counter()
        self.per_second: list[int] = []


def parse_head(buffer: bytes) -> tuple[int, int, int] | None:
    """(status, head length, body length) of the response at the start of `buffer`."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end]
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, end + 4, length


GOOD_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n",
    b"GET /?a=1&b=2 HTTP/1.1\r\nHost: bench\r\nAccept: */*\r\nCookie: a=b; c=d\r\n\r\n",
    b"POST /json?n=3 HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    b'Content-Length: 20\r\n\r\n{"hello": [1, 2, 3]}',
    b"POST /upload HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
]


async def keep_alive_client(port: int, stats: Stats, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError as error:
        stats.errors[f"connect: {type(error).__name__}"] += 1
        return
    buffer = b""
    index = random.randrange(len(GOOD_REQUESTS))
    try:
        while not stop.is_set():
            writer.write(GOOD_REQUESTS[index % len(GOOD_REQUESTS)])
            index += 1
            while True:
                parsed = parse_head(buffer)
                if parsed is not None and len(buffer) >= parsed[1] + parsed[2]:
                    break
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("closed by the server")
                buffer += data
            status, head, length = parsed
            buffer = buffer[head + length :]
            stats.served += 1
            stats.statuses[status] += 1
            if status != 200:  # every request of theirs is valid
                stats.errors[f"status {status}"] += 1
    except (OSError, ValueError) as error:
        stats.errors[f"keep-alive: {type(error).__name__}: {error}"] += 1
    finally:
        writer.close()


def rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# kind → (bytes to send, what is expected: a status, or None for "we leave")
BAD: dict[str, tuple[bytes, int | None]] = {
    "unknown method": (b"SPAM / HTTP/1.1\r\nHost: b\r\n\r\n", 400),
    "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64), 400),
    "CL and TE (smuggling)": (
        b"POST / HTTP/1.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n",
        400,
    ),
    "two Content-Lengths": (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400),
    "bad chunk": (b"POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "body too large": (b"POST /upload HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    "URL too long": (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n", 414),
    "too many headers": (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
    "headers too large": (b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
    "reset in head": (b"GET / HTTP/1.1\r\nHost: b\r\nX-Half", None),
    "reset in body": (b"POST /upload HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 1000, None),
    "reset before response": (b"GET /slow HTTP/1.1\r\n\r\n", None),
    "reset mid-response": (b"GET /stream HTTP/1.1\r\n\r\n", None),
    "slowloris (leaves)": (b"GET / HTTP/1.1\r\nHost: b\r\n", None),
    # These two stay until the server cuts them off (HEADERS_TIMEOUT / BODY_TIMEOUT).
    "slowloris (stays)": (b"GET / HTTP/1.1\r\nHost: b\r\n", 408),
    "slow body (stays)": (b"POST /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10, 408),
    "trickled body (stays)": (b"POST /upload HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", 408),
}


async def bad_client(port: int, kind: str, stats: Stats) -> None:
    data, expected = BAD[kind]
    trickle: asyncio.Task[None] | None = None
    answer = b""
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError as error:
        stats.errors[f"bad connect: {type(error).__name__}"] += 1
        return
    try:
        writer.write(data)
        if expected is None:
            if kind == "reset mid-response":
                await reader.read(20000)
            elif kind in ("reset before response", "slowloris (leaves)"):
                await asyncio.sleep(0.01)
            rst(writer)
            stats.bad[kind] += 1
            return
        if kind in ("slowloris (stays)", "trickled body (stays)"):
            # A header line, or 10 bytes of body, every second: never idle, never done.
            piece = b"X-%d: a\r\n" if kind.startswith("slowloris") else b"x" * 10

            async def more() -> None:
                for i in range(1000):
                    await asyncio.sleep(1)
                    if writer.transport.is_closing():
                        return
                    writer.write(piece % i if b"%" in piece else piece)

            trickle = asyncio.create_task(more())
        async with asyncio.timeout(15):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                answer += chunk
        status = int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else 0
        if status != expected or answer.count(b"HTTP/1.1 ") != 1:
            stats.errors[f"{kind}: got {answer[:40]!r}"] += 1
        else:
            stats.bad[kind] += 1
    except (OSError, TimeoutError) as error:
        stats.errors[f"{kind}: {type(error).__name__}{' (no answer)' if not answer else ''}"] += 1
    finally:
        if trickle is not None:
            trickle.cancel()
        if not writer.transport.is_closing():
            writer.close()


async def bad_stream(port: int, rate: float, stats: Stats, stop: asyncio.Event) -> None:
    kinds = list(BAD)
    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        task = asyncio.create_task(bad_client(port, random.choice(kinds), stats))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(1 / rate)
    if tasks:
        await asyncio.wait(tasks, timeout=20)


def rss_kib(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def server_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def drive(args: argparse.Namespace, pid: int) -> dict[str, Any]:
    stats = Stats()
    stop = asyncio.Event()
    memory: list[tuple[float, int]] = []
    fds_before = server_fds(pid)
    start = time.monotonic()

    clients = []
    for i in range(args.connections):  # ramp up without flooding the backlog
        clients.append(asyncio.create_task(keep_alive_client(args.port, stats, stop)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    bad = asyncio.create_task(bad_stream(args.port, args.bad_rate, stats, stop))

    last_served = 0
    while time.monotonic() - start < args.duration:
        await asyncio.sleep(1)
        rss, _ = rss_kib(pid)
        memory.append((time.monotonic() - start, rss))
        stats.per_second.append(stats.served - last_served)
        last_served = stats.served
        if not args.quiet:
            print(
                f"{memory[-1][0]:5.1f}s  {stats.per_second[-1]:6d} req/s  rss {rss / 1024:6.1f} MiB"
                f"  errors {sum(stats.errors.values())}",
                file=sys.stderr,
            )
    stop.set()
    await asyncio.gather(*clients)
    elapsed = time.monotonic() - start
    served = stats.served
    await bad  # the slow clients still in progress get their 408
    await asyncio.sleep(1)  # let the server close what the clients left
    _, peak = rss_kib(pid)
    fds_after = server_fds(pid)

    window = [rss for t, rss in memory if t <= 10]
    last = [rss for t, rss in memory if t > memory[-1][0] - 10]
    first_peak, last_peak = max(window), max(last)
    growth = (last_peak - first_peak) / first_peak
    # The slow clients live ~10 s each: their population is steady from then on.
    settled = [rss for t, rss in memory if 10 < t <= 20] or window
    settled_growth = (last_peak - max(settled)) / max(settled)
    return {
        "connections": args.connections,
        "duration_s": round(elapsed, 1),
        "requests_served": served,
        "requests_per_s": round(served / elapsed),
        "statuses": dict(stats.statuses),
        "bad_clients": dict(stats.bad),
        "bad_clients_total": sum(stats.bad.values()),
        "errors": dict(stats.errors),
        "errors_total": sum(stats.errors.values()),
        "rss_mib": [[round(t, 1), round(rss / 1024, 1)] for t, rss in memory],
        "rss_first_10s_peak_mib": round(first_peak / 1024, 1),
        "rss_last_10s_peak_mib": round(last_peak / 1024, 1),
        "rss_growth_pct": round(100 * growth, 1),
        "rss_growth_after_10s_pct": round(100 * settled_growth, 1),
        "server_peak_rss_mib": round(max(peak, *(rss for _, rss in memory)) / 1024, 1),
        "server_fds_before_after": [fds_before, fds_after],
        "memory_flat": growth <= args.tolerance,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--connections", type=int, default=1000)
    parser.add_argument("-d", "--duration", type=float, default=30)
    parser.add_argument("--bad-rate", type=float, default=200, help="bad clients per second")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--uvloop", action="store_true", help="run the server on uvloop")
    parser.add_argument("--native", action="store_true", help="loop.create_server, not roll.server.Server")
    parser.add_argument("--tolerance", type=float, default=0.05, help="allowed memory growth")
    parser.add_argument("--json", type=Path, help="write the figures there too")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_server(args.port, args.uvloop, args.native)
        return
    if not args.port:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            args.port = probe.getsockname()[1]
    command = [sys.executable, __file__, "--serve", "--port", str(args.port)]
    if args.uvloop:
        command.append("--uvloop")
    if args.native:
        command.append("--native")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise SystemExit("the server did not start")
        try:
            import uvloop

            results = uvloop.run(drive(args, server.pid))
        except ImportError:
            results = asyncio.run(drive(args, server.pid))
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=20)
        results["graceful_shutdown_s"] = float(out.split()[-1]) if out.strip() else None
        results["server_exit_code"] = server.returncode
    finally:
        if server.poll() is None:
            server.kill()
    summary = {k: v for k, v in results.items() if k != "rss_mib"}
    print(json.dumps(summary, indent=2))
    print("rss MiB by second:", " ".join(str(rss) for _, rss in results["rss_mib"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if results["errors_total"] or not results["memory_flat"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
