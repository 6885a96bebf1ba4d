"""Real servers for the tests, each on a free loopback port, always stopped after.

Redis (`redis-server`), nginx and `python -m roll` run as subprocesses of the
current user, with their files in a temporary folder. They come from
tools/debian-packages (`sh tools/system-deps.sh` installs them).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def executable(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(f"{name} is missing: run `sh tools/system-deps.sh`")
    return found


def wait_for_port(port: int, child: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"exited with {child.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout}s:\n{log.read_text(errors='replace')}")


def stop(child: subprocess.Popen[bytes], signum: int = signal.SIGTERM, timeout: float = 15) -> int | None:
    if child.poll() is None:
        child.send_signal(signum)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
    return child.returncode


@contextmanager
def running(
    args: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `args`, wait until `port` accepts connections, stop it at the end."""
    with log.open("ab") as output:
        child = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
    try:
        wait_for_port(port, child, log)
        yield child
    finally:
        stop(child)


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A throwaway Redis (no persistence); yields its URL."""
    port = free_port()
    args = [
        executable("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", str(folder), "--protected-mode", "no",
    ]
    with running(args, port, folder / f"redis-{port}.log"):
        yield f"redis://127.0.0.1:{port}/0"


def roll_args(app: str, port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "roll", app, "--port", str(port), "--grace", "5", *options]


@contextmanager
def roll_server(
    app: str, folder: Path, *options: str, port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`python -m roll app` on a free port (or `port`)."""
    port = port or free_port()
    with running(roll_args(app, port, *options), port, folder / f"roll-{port}.log", env) as child:
        yield child, port


def user_directive() -> str:
    """nginx runs as the current user (as root it would switch to `nobody`)."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"


def nginx_config(folder: Path, port: int, body: str) -> str:
    """A complete nginx.conf: `body` goes in `http {}`; every file under `folder`."""
    temp = folder / "nginx-temp"
    temp.mkdir(exist_ok=True)
    return f"""
{user_directive()}
daemon off;
master_process on;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{body}
}}
"""


@contextmanager
def nginx(folder: Path, config: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx with `config` (from `nginx_config`), listening on `port`."""
    path = folder / "nginx.conf"
    path.write_text(config)
    args = [executable("nginx"), "-p", str(folder), "-e", str(folder / "nginx-error.log"), "-c", str(path)]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"invalid nginx config:\n{check.stderr}\n{config}")
    with running(args, port, folder / "nginx.log") as child:
        yield child
