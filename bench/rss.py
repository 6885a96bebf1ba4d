"""Server memory (RSS) under clients that read slowly or not at all.

    python -m bench.rss static --clients 1     # a 200 MB static file to slow readers
    python -m bench.rss static --clients 3
    python -m bench.rss head                   # HEAD of the same file
    python -m bench.rss wsflood                # a websocket client flooding pings, never reading
    python -m bench.rss static --uvloop        # the same on uvloop

The server runs in a subprocess (`loop.create_server(app.factory)` on asyncio's loop, or uvloop),
its RSS is sampled from /proc every 20 ms; printed: RSS before, the peak, and the
difference. Point PYTHONPATH at another checkout to measure it ("before").
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from .server import free_port, process_rss

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from roll import Roll, extensions

    app = Roll()
    extensions.static(app, prefix="/static/", root=sys.argv[1])

    @app.route("/ws", protocol="websocket")
    async def echo(request, ws):
        async for message in ws:
            await ws.send(message)

    async def main():
        import roll
        print("serving", roll.__file__, file=sys.stderr)
        app.loop = asyncio.get_running_loop()
        await app.startup()
        server = await app.loop.create_server(app.factory, "127.0.0.1", int(sys.argv[2]))
        print("ready", flush=True)
        await asyncio.Event().wait()

    if len(sys.argv) > 3 and sys.argv[3] == "uvloop":
        import uvloop
        uvloop.run(main())
    else:
        asyncio.run(main())
    """
)


def slow_reader(port: int, request: bytes, rate: int, seconds: float, stop: threading.Event) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request)
    deadline = time.monotonic() + seconds
    step = 65536
    while time.monotonic() < deadline and not stop.is_set():
        if not sock.recv(step):
            break
        time.sleep(step / rate)
    sock.close()


def ping_flood(port: int, seconds: float, stop: threading.Event) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window follows
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    mask = b"\x00\x00\x00\x00"
    burst = (struct.pack("!BB", 0x89, 0x80 | 125) + mask + b"p" * 125) * 512
    sock.settimeout(10)
    deadline = time.monotonic() + seconds
    sent = 0
    try:
        while time.monotonic() < deadline and not stop.is_set():
            sock.sendall(burst)
            sent += len(burst)
    except OSError as error:
        print(f"  flood stopped after {sent / 1e6:.1f} MB sent: {type(error).__name__}")
    else:
        print(f"  flood ran {seconds:g} s: {sent / 1e6:.1f} MB of pings sent")
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["static", "head", "wsflood"])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--size", type=int, default=200, help="file size, MB")
    parser.add_argument("--rate", type=int, default=4, help="MB/s each slow reader reads")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--uvloop", action="store_true", help="serve on uvloop")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        with open(Path(root) / "big.bin", "wb") as big:
            block = os.urandom(1 << 20)
            for _ in range(args.size):
                big.write(block)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, root, str(port), "uvloop" if args.uvloop else "asyncio"], stdout=subprocess.PIPE, text=True, cwd=root
        )
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            time.sleep(0.3)
            before = process_rss(server.pid)
            stop = threading.Event()
            if args.scenario == "wsflood":
                clients = [threading.Thread(target=ping_flood, args=(port, args.seconds, stop))]
            else:
                method = "HEAD" if args.scenario == "head" else "GET"
                request = f"{method} /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                clients = [
                    threading.Thread(
                        target=slow_reader, args=(port, request, args.rate << 20, args.seconds, stop)
                    )
                    for _ in range(args.clients)
                ]
            for client in clients:
                client.start()
            peak = before
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline and server.poll() is None:
                peak = max(peak, process_rss(server.pid))
                time.sleep(0.02)
            stop.set()
            for client in clients:
                client.join()
            label = f"{args.scenario} x{args.clients}" if args.scenario == "static" else args.scenario
            print(
                f"{label}: server RSS {before / 2**20:.0f} MiB before, peak {peak / 2**20:.0f} MiB"
                f" (+{(peak - before) / 2**20:.0f} MiB)"
            )
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
