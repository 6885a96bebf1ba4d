"""`python -m roll module:app --reload --access-log`, as a developer runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

APP = '''
from roll import Roll

app = Roll()


@app.route("/")
async def home(request, response):
    response.body = "{version}"
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?x=1", timeout=2) as answer:
            body: bytes = answer.read()
            return body.decode()
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


def wait_for(port: int, expected: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = get(port)
        if seen == expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"expected {expected!r}, last answer {seen!r}")


def test_reload_and_access_log(tmp_path: Path) -> None:
    module = tmp_path / "reloadable.py"
    module.write_text(APP.format(version="v1"))
    port = free_port()
    log = (tmp_path / "stderr.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "roll", "reloadable:app", "--port", str(port), "--reload",
         "--access-log", "--grace", "1"],
        cwd=tmp_path,
        stderr=log,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        wait_for(port, "v1")
        time.sleep(0.5)  # let the watcher settle before the change
        module.write_text(APP.format(version="v2"))
        wait_for(port, "v2")
        (tmp_path / "notes.txt").write_text("not Python")  # ignored
        assert get(port) == "v2"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    log.seek(0)
    output = log.read()
    assert f"Watching {tmp_path}" in output
    assert "Changed: reloadable.py; restarting" in output
    assert '127.0.0.1 "GET /?x=1" 200' in output
    assert get(port) is None  # the child is gone too
