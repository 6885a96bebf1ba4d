"""The listen backlog is the one configured (`--backlog` of `python -m roll`,
gunicorn's `--backlog`), also on uvloop where `roll.server.AcceptLoop` listens again.

How it is checked: the server process is stopped (SIGSTOP) so that it accepts
nothing, then 2,000 clients connect at once. The kernel completes the
handshake of as many as the accept queue holds (the backlog, plus one) and
drops the SYNs of the others, which stay pending. So the number of connections
established within a second is the backlog in force.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from test_serving import (
    APP,
    get,
    gunicorn_args,
    gunicorn_port,
    log_and_events,
    process,
    wait_for_line,
)

CLIENTS = 2000


def established(port: int, count: int, wait: float = 1.0) -> int:
    """Connect `count` sockets at once; how many complete within `wait` seconds."""
    socks: list[socket.socket] = []
    selector = selectors.DefaultSelector()
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
            selector.register(sock, selectors.EVENT_WRITE)
        done = 0
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                selector.unregister(key.fileobj)
                sock = key.fileobj  # type: ignore[assignment]
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    done += 1
        return done
    finally:
        selector.close()
        for sock in socks:
            sock.close()


def frozen_count(pids: list[int], port: int) -> int:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        return established(port, CLIENTS)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture(autouse=True)
def enough_files() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < CLIENTS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, CLIENTS + 200), hard))
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert somaxconn >= CLIENTS, "the kernel caps the backlog (net.core.somaxconn)"


@pytest.mark.parametrize("option, expected", [([], CLIENTS), (["--backlog", "300"], 301)])
def test_cli_backlog(tmp_path: Path, option: list[str], expected: int) -> None:
    log, events = log_and_events(tmp_path)
    args = [sys.executable, "-m", "roll", APP, "--port", "0", *option]
    with process(args, log, events) as child:
        port = int(wait_for_line(log, r"Rolling on http://127\.0\.0\.1:(\d+)")[1])
        assert get(port, "/loop") == (200, b"uvloop")  # served by roll.server.AcceptLoop
        count = frozen_count([child.pid], port)
        assert get(port, "/pid")[0] == 200  # it serves on after SIGCONT
    # The default is 2048: every one of the 2,000 is queued.
    assert count == expected


def test_gunicorn_backlog(tmp_path: Path) -> None:
    log, events = log_and_events(tmp_path)
    with process(gunicorn_args(1, "--backlog", "500"), log, events) as child:
        port = gunicorn_port(log)
        worker = int(wait_for_line(log, r"Booting worker with pid: (\d+)")[1])
        assert get(port, "/loop") == (200, b"uvloop")
        count = frozen_count([child.pid, worker], port)
    assert count == 501
