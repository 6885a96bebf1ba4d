"""Scaling with processes: `python -m roll --workers 2` against one worker.

    python -m bench.workers                     # minimal and typed, 5 rounds of 5 s
    python -m bench.workers --endpoints json --rounds 3

The plain-core bench app (`bench/apps/roll_core_app.py`) is served by our
own command line, `python -m roll roll_core_app:app --workers N` (uvloop
when installed: the roll_core bench venv has it), N = 1 then 2, interleaved
rounds. wrk runs with 2 threads and 128 connections, NOT pinned: on a
2-core machine the load generator shares the cores with the workers, so
two workers cannot reach 2× (wrk takes its part of both cores). The
figure to read is the ratio, in the same run, and the CPU share wrk left.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .config import APPS_DIR, HOST, endpoint, framework
from . import wrk
from .server import free_port


def start(python: Path, workers: int, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(APPS_DIR)}
    proc = subprocess.Popen(
        [str(python), "-m", "roll", "roll_core_app:app", "--host", HOST, "--port", str(port),
         "--workers", str(workers)],
        cwd=APPS_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"python -m roll --workers {workers} exited with {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                time.sleep(0.5 * workers)  # every worker up
                return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"python -m roll --workers {workers} not listening after 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the parent (it stops its workers), SIGKILL the group if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--endpoints", default="minimal,typed")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=128)
    args = parser.parse_args(argv)
    python = framework("roll_core").python
    if not python.exists():
        raise SystemExit("the roll_core bench venv is missing: run `python -m bench --quick` once")
    binary = wrk.ensure_installed()
    counts = (1, 2)
    ports = {n: free_port() for n in counts}
    servers: dict[int, subprocess.Popen[bytes]] = {}
    results: dict[tuple[str, int], list[float]] = {}
    try:
        for n in counts:
            servers[n] = start(python, n, ports[n])
        for name in [e for e in args.endpoints.split(",") if e]:
            ep = endpoint(name)
            for n in counts:  # warm-up
                wrk.run(binary, ports[n], ep, connections=args.connections, duration=2, cpu=None, threads=2)
            for round_ in range(args.rounds):
                for n in counts:
                    result = wrk.run(binary, ports[n], ep, connections=args.connections,
                                     duration=args.duration, cpu=None, threads=2)  # fmt: skip
                    if result.errors:
                        print(f"{name} workers={n}: {result.errors} errors", file=sys.stderr)
                    results.setdefault((name, n), []).append(result.rps)
                print(f"[workers] {name} round {round_ + 1}/{args.rounds}", file=sys.stderr, flush=True)
    finally:
        for proc in servers.values():
            stop(proc)
    print("| endpoint | 1 worker (req/s) | 2 workers (req/s) | scaling |")
    print("| --- | ---: | ---: | ---: |")
    for name in [e for e in args.endpoints.split(",") if e]:
        one = statistics.median(results[(name, 1)])
        two = statistics.median(results[(name, 2)])
        print(f"| {name} | {one:,.0f} | {two:,.0f} | {two / one:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
