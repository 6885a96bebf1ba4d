"""CPU instructions per request through our core, counted by valgrind: load-independent.

    python -m bench.instructions                          # core and typed apps, every endpoint
    python -m bench.instructions --apps core --endpoints minimal,full

Seconds move with whatever else the machine does; instructions do not. The
same in-process driver as `bench.micro` (64 protocols fed by
`data_received`, a transport that only counts writes, uvloop) runs under
`valgrind --tool=callgrind` twice, with LOW and HIGH batches of 64 requests;
the difference divided by the extra requests is the cost of one request,
start-up and warm-up excluded. Repeat runs give the same figure within a
few instructions, so a change of 1 % is a real one.

Needs valgrind (Debian's package; installed with apt-get when missing and
root). Slow: about 20 s per (app, endpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .config import APPS_DIR, REPO_ROOT, endpoint, framework
from .micro import CONNECTIONS, answer_batch, raw_request

LOW, HIGH = 10, 50  # batches of CONNECTIONS requests
ENDPOINTS = ("minimal", "parameter", "query", "full", "typed", "json")


def child(app_name: str, endpoint_name: str, batches: int) -> None:
    """Runs under valgrind: answers `batches` × 64 requests, checks the last answer."""
    import uvloop

    sys.path.insert(0, str(APPS_DIR))
    request = raw_request(endpoint(endpoint_name))

    async def main() -> bytes:
        from roll.testing import Transport, open_protocol

        app: Any
        if app_name == "typed":
            import roll_typed_app

            app = roll_typed_app.app
        else:
            import roll_core_app

            app = roll_core_app.app

        # Slowed down 50 times by valgrind, a run lasts longer than the 5 s
        # idle timeout: each connection's timer would fire (and re-arm) a number
        # of times that depends on the wall clock, so on the machine's load.
        # An hour: the timer is armed as on a server, and never fires here.
        app.HttpProtocol.KEEP_ALIVE_TIMEOUT = 3600.0

        class Sink(Transport):
            keep_exchange = False  # as on a socket: an answered exchange is dropped

            def __init__(self) -> None:
                super().__init__()
                self.last = b""

            def write(self, data: bytes) -> None:
                self.last = data

        app.loop = asyncio.get_running_loop()
        await app.startup()
        sinks = [Sink() for _ in range(CONNECTIONS)]
        protocols = [open_protocol(app, sink) for sink in sinks]
        for _ in range(batches):
            await answer_batch(protocols, request)
        return sinks[0].last

    last = uvloop.run(main())
    if not last.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"{app_name}/{endpoint_name} answered {last[:200]!r}")


def count(python: Path, app: str, ep: str, batches: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             str(python), "-m", "bench.instructions", "--child", app, ep, str(batches)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": "0"},
        )  # fmt: skip
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"{app}/{ep}: {proc.stderr[-1500:]}")
    return int(found.group(1))


def ensure_valgrind() -> None:
    if shutil.which("valgrind"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"], check=True)
        return
    raise SystemExit("valgrind is missing: apt-get install -y valgrind")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--apps", default="core,typed")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--python", type=Path, default=None,
                        help="interpreter with roll, uvloop and pydantic (default: the roll_core bench venv's, else this one)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", nargs=3, metavar=("APP", "ENDPOINT", "BATCHES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    ensure_valgrind()
    python = args.python
    if python is None:
        venv = framework("roll_core").python
        python = venv if venv.exists() else Path(sys.executable)
    results: dict[str, dict[str, int]] = {}
    for app in [a for a in args.apps.split(",") if a]:
        for ep in [e for e in args.endpoints.split(",") if e]:
            low = count(python, app, ep, LOW)
            high = count(python, app, ep, HIGH)
            per_request = round((high - low) / ((HIGH - LOW) * CONNECTIONS))
            results.setdefault(app, {})[ep] = per_request
            if not args.json:
                print(f"{app:6} {ep:10} {per_request:>9,} instructions/request", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
