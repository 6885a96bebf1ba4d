"""Soak and load tests: minutes of real clients against a real server.

Opt-in (the `soak` marker is deselected by default): `make soak` runs them,
shortened. Each module here is also a command with more options (see its
docstring), for longer runs and figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from soak import loadtest_objects

pytestmark = pytest.mark.soak

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE.parents[1],
    )


def test_many_clients_and_bad_ones_keep_memory_flat(tmp_path: Path) -> None:
    figures = tmp_path / "load.json"
    done = run("loadtest.py", "-c", "300", "-d", "15", "--json", str(figures), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(figures.read_text())
    assert results["errors_total"] == 0
    assert results["memory_flat"]
    assert results["server_exit_code"] == 0  # stopped gracefully on SIGTERM


def test_new_connections_are_answered_under_load() -> None:
    done = run("loadtest_accept.py", "--uvloop", "-c", "300", "-r", "50", "-d", "5", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["probes"] > 0
    assert results["failed"] == 0


async def test_bad_clients_leave_nothing_alive() -> None:
    assert await loadtest_objects.probe(rounds=4, clients=100)
