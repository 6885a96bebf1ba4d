"""Price proposed core changes on real servers: `python -m bench.whatif`.

    python -m bench.whatif --patches json,eager --endpoints minimal,full

Starts our plain-core app twice (as is, and with bench.micro's patches for
the proposed changes), both pinned to the server CPU, and runs wrk against
them in interleaved rounds; prints median req/s, requests per server
CPU-second and the gain. Nothing under roll/ is modified.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
from pathlib import Path

from . import wrk
from .config import APPS_DIR, BASE_PORT, endpoint, framework
from .harness import CLIENT_CPU, SERVER_CPU
from .server import Server, ServerPool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatif", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--patches", default="json,eager", help="bench.micro variants, comma-separated")
    parser.add_argument("--endpoints", default="minimal,parameter,query,full")
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {CLIENT_CPU})
    wrk_bin = wrk.ensure_installed()
    core = framework("roll_core")
    patched = dataclasses.replace(core, name="roll_patched", venv_name=core.name)
    assert patched.script == APPS_DIR / "roll_patched_app.py"
    logs = Path(tempfile.mkdtemp(prefix="bench-whatif-"))
    rps: dict[tuple[str, str], list[float]] = {}
    per_cpu: dict[tuple[str, str], list[float]] = {}
    with ServerPool() as pool:
        servers = {
            "as is": pool.add(Server(core, BASE_PORT + 80, SERVER_CPU, logs)),
            args.patches: pool.add(Server(patched, BASE_PORT + 81, SERVER_CPU, logs)),
        }
        servers["as is"].start()
        servers[args.patches].start(extra_env={"BENCH_PATCHES": args.patches})
        endpoints = [endpoint(e) for e in args.endpoints.split(",") if e]
        for ep in endpoints:
            for server in servers.values():
                wrk.run(wrk_bin, server.port, ep, connections=64, duration=1, cpu=CLIENT_CPU)
        for _ in range(args.rounds):
            for ep in endpoints:
                for label, server in servers.items():
                    before = server.cpu_seconds() or 0.0
                    result = wrk.run(wrk_bin, server.port, ep, connections=64, duration=args.duration, cpu=CLIENT_CPU)
                    cpu = (server.cpu_seconds() or 0.0) - before
                    rps.setdefault((label, ep.name), []).append(result.rps)
                    if cpu > 0:
                        per_cpu.setdefault((label, ep.name), []).append(result.requests / cpu)
    print(f"| endpoint | as is req/s | {args.patches} req/s | gain | as is /CPU-s | patched /CPU-s | gain |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for ep in endpoints:
        a, b = (statistics.median(rps[(k, ep.name)]) for k in ("as is", args.patches))
        c, d = (statistics.median(per_cpu.get((k, ep.name), [0.0])) for k in ("as is", args.patches))
        print(f"| {ep.name} | {a:,.0f} | {b:,.0f} | {b / a - 1:+.1%} | {c:,.0f} | {d:,.0f} | {(d / c - 1) if c else 0:+.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
