"""The benchmark run: venvs, servers, checks, warm-up, interleaved rounds."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import envs, wrk
from .checks import CheckFailed, check_endpoint
from .config import BASE_PORT, REFERENCE, TOOLS, Endpoint, Framework
from .server import Server, ServerError, ServerPool

CLIENT_CPU = 0
SERVER_CPU = 1
OVERLOAD_ENDPOINT = "typed"


@dataclass
class Options:
    frameworks: list[Framework]
    endpoints: list[Endpoint]
    duration: float = 2.0  # seconds per timed run
    warmup: float = 1.0  # seconds per (framework, endpoint) before the rounds
    rounds: int = 5
    connections: int = 64
    overload_connections: int = 512
    overload_duration: float = 3.0  # 0 disables the overload run
    install: bool = True
    command: str = ""
    log_dir: Path = field(default_factory=lambda: Path("bench/results/logs"))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "platform": platform.platform(),
    }


def _pin_self() -> None:
    """The harness (and wrk) live on the client CPU, away from the servers."""
    try:
        os.sched_setaffinity(0, {CLIENT_CPU})
    except (AttributeError, OSError):
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(target, 65536), hard))


def run(opts: Options) -> dict[str, Any]:
    """Run the whole benchmark; return the record (JSON-serialisable)."""
    started = time.monotonic()
    _pin_self()
    wrk_bin = wrk.ensure_installed()
    failures: dict[str, dict[str, str]] = {}

    def fail(fw: str, what: str, reason: str) -> None:
        failures.setdefault(fw, {})[what] = reason
        log(f"FAILED {fw} {what}: {reason.strip().splitlines()[-1] if reason.strip() else ''}")

    if opts.install:
        for name, error in envs.ensure_all([*opts.frameworks, TOOLS], opts.log_dir).items():
            if name != TOOLS.name:
                fail(name, "install", error)
    runnable = [fw for fw in opts.frameworks if fw.name not in failures and fw.python.exists()]
    for fw in opts.frameworks:
        if fw not in runnable and fw.name not in failures:
            fail(fw.name, "install", f"no virtualenv at {fw.venv} (run without --no-install)")

    runs: list[dict[str, Any]] = []
    overload: dict[str, dict[str, Any]] = {}
    rss: dict[str, float | None] = {}
    with ServerPool() as pool:
        servers: dict[str, Server] = {}
        for index, fw in enumerate(runnable):
            server = pool.add(Server(fw, BASE_PORT + index, SERVER_CPU, opts.log_dir))
            try:
                server.start()
            except ServerError as error:
                fail(fw.name, "start", str(error))
                server.stop()
                continue
            servers[fw.name] = server
        log(f"servers up: {', '.join(servers)}")

        plan: dict[str, list[Framework]] = {}
        for ep in opts.endpoints:
            for fw in runnable:
                if fw.name not in servers or not fw.serves(ep.name):
                    continue
                try:
                    check_endpoint(servers[fw.name].port, ep)
                except CheckFailed as error:
                    fail(fw.name, ep.name, f"wrong answer: {error}")
                    continue
                plan.setdefault(ep.name, []).append(fw)

        endpoints = [ep for ep in opts.endpoints if ep.name in plan]
        if opts.warmup > 0:
            log("warm-up")
            for ep in endpoints:
                for fw in plan[ep.name]:
                    wrk.run(wrk_bin, servers[fw.name].port, ep, connections=opts.connections, duration=opts.warmup, cpu=CLIENT_CPU)

        for round_no in range(1, opts.rounds + 1):
            log(f"round {round_no}/{opts.rounds}")
            for ep in endpoints:
                for fw in plan[ep.name]:  # A B C ... in every round
                    server = servers[fw.name]
                    if not server.alive():
                        fail(fw.name, ep.name, f"server died: {server.log_tail()}")
                        continue
                    cpu_before = server.cpu_seconds()
                    result = wrk.run(wrk_bin, server.port, ep, connections=opts.connections, duration=opts.duration, cpu=CLIENT_CPU)
                    cpu_after = server.cpu_seconds()
                    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
                    runs.append(
                        {
                            "round": round_no,
                            "framework": fw.name,
                            "endpoint": ep.name,
                            **asdict(result),
                            # Robust to CPU stolen by other processes on a shared machine:
                            "server_cpu_s": cpu,
                            "server_util": cpu / result.duration_s if cpu and result.duration_s else None,
                            "rps_per_cpu": result.requests / cpu if cpu else None,
                        }
                    )

        overload_ep = next((ep for ep in endpoints if ep.name == OVERLOAD_ENDPOINT), None)
        if overload_ep is not None and opts.overload_duration > 0:
            log(f"overload: {opts.overload_connections} connections on {OVERLOAD_ENDPOINT}")
            for fw in plan[OVERLOAD_ENDPOINT]:
                server = servers[fw.name]
                if server.alive():
                    result = wrk.run(
                        wrk_bin, server.port, overload_ep,
                        connections=opts.overload_connections, duration=opts.overload_duration, cpu=CLIENT_CPU,
                    )  # fmt: skip
                    overload[fw.name] = asdict(result)

        for name, server in servers.items():
            rss[name] = server.peak_rss_mib()
            if not server.alive():
                fail(name, "run", f"server died: {server.log_tail()}")
        pool.stop_all()

    record = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": opts.command,
        "machine": machine(),
        "options": {
            "frameworks": [fw.name for fw in opts.frameworks],
            "endpoints": [ep.name for ep in opts.endpoints],
            "duration_s": opts.duration,
            "warmup_s": opts.warmup,
            "rounds": opts.rounds,
            "connections": opts.connections,
            "overload_connections": opts.overload_connections,
            "overload_duration_s": opts.overload_duration,
            "client_cpu": CLIENT_CPU,
            "server_cpu": SERVER_CPU,
            "wrk_threads": 1,
        },
        "reference": REFERENCE,
        "frameworks": [{"name": fw.name, "label": fw.label, "ours": fw.ours} for fw in opts.frameworks],
        "versions": {fw.name: envs.versions(fw) for fw in runnable},
        "failures": failures,
        "runs": runs,
        "overload": overload,
        "rss_mib": rss,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    record["summary"] = summarise(record)
    return record


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def summarise(record: dict[str, Any]) -> dict[str, Any]:
    """Medians per (framework, endpoint), with ratios to the reference."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run_ in record["runs"]:
        grouped.setdefault((run_["framework"], run_["endpoint"]), []).append(run_)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for (fw, ep), items in grouped.items():
        per_cpu = [r["rps_per_cpu"] for r in items if r.get("rps_per_cpu")]
        util = [r["server_util"] for r in items if r.get("server_util")]
        table.setdefault(fw, {})[ep] = {
            "rps": statistics.median(r["rps"] for r in items),
            "per_cpu": statistics.median(per_cpu) if per_cpu else None,
            "server_util": statistics.median(util) if util else None,
            "p99_ms": statistics.median(r["latency_p99_ms"] for r in items),
            "errors": sum(r["errors"] for r in items),
            "runs": len(items),
            "rps_all": [round(r["rps"], 1) for r in items],
        }
    ref = record["reference"]
    for fw, eps in table.items():
        for ep, cell in eps.items():
            base = table.get(ref, {}).get(ep)
            cell["rps_ratio"] = _ratio(cell["rps"], base["rps"] if base else None)
            cell["per_cpu_ratio"] = _ratio(cell["per_cpu"], base["per_cpu"] if base else None)
            cell["p99_ratio"] = _ratio(cell["p99_ms"], base["p99_ms"] if base else None)
    overload = record["overload"]
    ref_over = overload.get(ref)
    over = {
        fw: {
            "rps": r["rps"],
            "p99_ms": r["latency_p99_ms"],
            "errors": r["errors"],
            "rps_ratio": _ratio(r["rps"], ref_over["rps"] if ref_over else None),
            "p99_ratio": _ratio(r["latency_p99_ms"], ref_over["latency_p99_ms"] if ref_over else None),
        }
        for fw, r in overload.items()
    }
    ref_rss = record["rss_mib"].get(ref)
    rss = {fw: {"mib": v, "ratio": _ratio(v, ref_rss)} for fw, v in record["rss_mib"].items()}
    return {"throughput": table, "overload": over, "rss": rss, "targets": targets(table)}


TARGETS: tuple[tuple[str, str, str, str, float], ...] = (
    # (description, numerator framework, denominator framework, endpoint, minimum)
    *(
        (f"core ≥ 2.2× BlackSheep on {ep}", "roll_core", "blacksheep", ep, 2.2)
        for ep in ("minimal", "parameter", "query", "full")
    ),
    *(
        (f"core ≥ 6× FastAPI on {ep}", "roll_core", "fastapi", ep, 6.0)
        for ep in ("minimal", "parameter", "query", "full")
    ),
    ("core ≥ 0.40× raw protocol on minimal", "roll_core", "raw", "minimal", 0.40),
    ("typed ≥ 0.95× core on typed", "roll_typed", "roll_core", "typed", 0.95),
    ("typed ≥ 1.2× core on json", "roll_typed", "roll_core", "json", 1.2),
)


def targets(table: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for text, num, den, ep, minimum in TARGETS:
        a = table.get(num, {}).get(ep)
        b = table.get(den, {}).get(ep)
        value = _ratio(a["rps"], b["rps"]) if a and b else None
        per_cpu = _ratio(a.get("per_cpu"), b.get("per_cpu")) if a and b else None
        out.append(
            {
                "target": text,
                "endpoint": ep,
                "numerator": num,
                "denominator": den,
                "minimum": minimum,
                "ratio": value,
                "met": None if value is None else value >= minimum,
                "per_cpu_ratio": per_cpu,
                "per_cpu_met": None if per_cpu is None else per_cpu >= minimum,
            }
        )
    return out


def python_version() -> str:
    return sys.version.split()[0]
