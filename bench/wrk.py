"""Drive wrk (installed from Debian if missing) and parse its results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config import HOST, Endpoint

MARKER = "BENCH-RESULT "


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    errors: int  # connect + read + write + timeout + non-2xx/3xx answers
    non_2xx: int
    timeouts: int


def ensure_installed() -> str:
    """Path to wrk; `apt-get install wrk` when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("wrk is missing and we are not root: run `apt-get install wrk`")
    print("[bench] installing wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get install wrk did not provide a wrk binary")
    return found


def _lua_string(value: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in value
    return f"[{level}[{value}]{level}]"


def lua_script(endpoint: Endpoint) -> str:
    """Sets the method, body and headers, and prints the summary as JSON."""
    lines = [f"wrk.method = {_lua_string(endpoint.method)}"]
    if endpoint.body:
        lines.append(f"wrk.body = {_lua_string(endpoint.body.decode())}")
    for name, value in endpoint.headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    lines.append(
        f"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{MARKER}{{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d,'
    .. ' "status": %d, "timeout": %d, "mean_us": %f, "p50_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
"""
    )
    return "\n".join(lines)


def whole_seconds(duration: float) -> int:
    """wrk takes whole seconds."""
    return max(1, round(duration))


def run(
    wrk: str,
    port: int,
    endpoint: Endpoint,
    *,
    connections: int,
    duration: float,
    cpu: int | None,
    timeout_s: float = 10.0,
    threads: int = 1,
) -> WrkResult:
    """One wrk run (`threads`, pinned to `cpu` unless None) against 127.0.0.1:port."""
    url = f"http://{HOST}:{port}{endpoint.path}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(endpoint))
    try:
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        command = [
            *pin, wrk,
            f"-t{threads}", f"-c{connections}", f"-d{whole_seconds(duration)}s",
            f"--timeout={timeout_s:g}s", "-s", script.name, url,
        ]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout_s + 30)
    finally:
        Path(script.name).unlink(missing_ok=True)
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise RuntimeError(f"wrk gave no result (rc={proc.returncode}): {proc.stdout}\n{proc.stderr}")
    seconds = data["duration_us"] / 1e6
    errors = sum(data[key] for key in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        requests=data["requests"],
        duration_s=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        latency_mean_ms=data["mean_us"] / 1000,
        latency_p50_ms=data["p50_us"] / 1000,
        latency_p99_ms=data["p99_us"] / 1000,
        latency_max_ms=data["max_us"] / 1000,
        errors=errors,
        non_2xx=data["status"],
        timeouts=data["timeout"],
    )
