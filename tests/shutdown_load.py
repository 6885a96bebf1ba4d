"""Keep-alive clients that count what a stopping server does with their requests.

Used by tests/test_shutdown.py, and by hand:

    python tests/shutdown_load.py --connections 300 --seconds 1

(starts `python -m roll tests.shutdown_app:app`, loads it, sends SIGTERM,
prints the counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httptools

ROOT = Path(__file__).resolve().parent.parent
REQUEST = b"GET /work HTTP/1.1\r\nHost: x\r\n\r\n"


@dataclass
class Counts:
    sent: int = 0  # requests written in full
    complete: int = 0  # complete responses received
    partial: int = 0  # responses cut in the middle
    no_answer: int = 0  # requests whose connection closed with no byte of an answer
    begun: int = -1  # requests the server began to read (its own count)

    @property
    def lost(self) -> int:
        """Requests the server began to read and never answered in full."""
        return self.begun - self.complete


class _Replies:
    """Every response on one connection, parsed as it arrives."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.done: list[bool] = []  # per complete response: did it say Connection: close
        self.started = 0
        self._close = False

    def on_message_begin(self) -> None:
        self.started += 1
        self._close = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"connection" and value.lower() == b"close":
            self._close = True

    def on_message_complete(self) -> None:
        self.done.append(self._close)


# Kinds of clients: each connection is one of them, in turn.
PLAIN, SPLIT, PIPELINED, SLOW_READER = range(4)


async def client(kind: int, port: int, counts: Counts) -> None:
    """Requests one after the other on one connection, until the server closes it."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    replies = _Replies()
    request = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" if kind == SLOW_READER else REQUEST
    try:
        while True:
            batch = 2 if kind == PIPELINED else 1
            try:
                if kind == SPLIT:  # a head that arrives in two reads
                    writer.write(request[:10])
                    await asyncio.sleep(0.005)
                    writer.write(request[10:])
                elif kind == PIPELINED:
                    writer.write(request)
                    await asyncio.sleep(0.001)
                    writer.write(request)
                else:
                    writer.write(request)
            except OSError:
                return
            counts.sent += batch
            expected = len(replies.done) + batch
            while len(replies.done) < expected:
                try:
                    data = await reader.read(16384 if kind == SLOW_READER else 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                try:
                    replies.parser.feed_data(data)
                except httptools.HttpParserError:
                    break
                if kind == SLOW_READER:
                    await asyncio.sleep(0.002)
            received = batch - (expected - len(replies.done))
            counts.complete += received
            if received < batch:
                counts.partial += replies.started > len(replies.done)
                counts.no_answer += batch - received - (replies.started > len(replies.done))
                return
            if any(replies.done[-batch:]):
                return
    finally:
        writer.close()


async def load(port: int, connections: int, seconds: float, stop: "subprocess.Popen[bytes]") -> Counts:
    counts = Counts()
    tasks = [
        asyncio.create_task(client(index % 4, port, counts))
        for index in range(connections)
    ]
    await asyncio.sleep(seconds)
    stop.send_signal(signal.SIGTERM)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return counts


def run(connections: int = 300, seconds: float = 1.0) -> Counts:
    """Start the server, load it, SIGTERM it under load, return the counts."""
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder)
        log = events / "log"
        env = {**os.environ, "ROLL_TEST_EVENTS": str(events), "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, "-m", "roll", "tests.shutdown_app:app", "--port", "0"]
        with open(log, "wb") as output:
            child = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
            )
        try:
            deadline = time.monotonic() + 20
            while not (match := re.search(r"Rolling on http://127\.0\.0\.1:(\d+)", log.read_text())):
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError(log.read_text())
                time.sleep(0.05)
            counts = asyncio.run(load(int(match[1]), connections, seconds, child))
            child.wait(timeout=30)
            begun = list(events.glob("begun-*"))
            if not begun:
                raise RuntimeError("the server did not report: " + log.read_text())
            counts.begun = int(begun[0].read_text())
            return counts
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.runs):
        counts = run(args.connections, args.seconds)
        print(json.dumps({**asdict(counts), "lost": counts.lost}))


if __name__ == "__main__":
    main()
