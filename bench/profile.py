"""Profile one server under wrk load: `python -m bench.profile`.

    python -m bench.profile --framework roll_core --endpoint minimal --duration 10
    python -m bench.profile --mode cprofile --endpoint full

`pyspy` mode samples the running server with py-spy (from the tools venv)
and prints the functions with the most samples, by own time and inclusive
time. `cprofile` mode runs the server under cProfile (deterministic: call
counts, but every call is slowed) and prints pstats' top entries. The
server is stopped afterwards in every case.
"""

from __future__ import annotations

import argparse
import collections
import os
import pstats
import subprocess
import tempfile
import threading
from pathlib import Path

from . import envs, wrk
from .config import BASE_PORT, TOOLS, endpoint, framework
from .harness import CLIENT_CPU, SERVER_CPU, log
from .server import Server, ServerPool

PY_SPY = TOOLS.venv / "bin" / "py-spy"


def _function(frame: str) -> str:
    """`name (file.py:123)` -> `name (file.py)`: aggregate the lines of a function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rpartition(':')[0] or where.rstrip(')')})" if where else name


def collapsed_top(path: Path, limit: int, by_line: bool = False) -> str:
    """Own and inclusive sample counts per function (or line) from py-spy's raw format."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";") if by_line else [_function(f) for f in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "own time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(limit)]
    out += ["", "inclusive time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(limit)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--framework", default="roll_core")
    parser.add_argument("--endpoint", default="minimal")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--mode", choices=("pyspy", "cprofile"), default="pyspy")
    parser.add_argument("--limit", type=int, default=30, help="rows to print")
    parser.add_argument("--native", action="store_true", help="py-spy: include C frames (uvloop, httptools)")
    parser.add_argument("--by-line", action="store_true", help="py-spy: one row per source line")
    parser.add_argument("--out", type=Path, default=None, help="keep the raw profile here")
    args = parser.parse_args(argv)
    fw, ep = framework(args.framework), endpoint(args.endpoint)
    os.sched_setaffinity(0, {CLIENT_CPU})
    envs.ensure_all([fw, TOOLS], Path(tempfile.gettempdir()) / "bench-logs")
    wrk_bin = wrk.ensure_installed()
    workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    out = args.out or workdir / ("profile.txt" if args.mode == "pyspy" else "profile.prof")
    with ServerPool() as pool:
        server = pool.add(Server(fw, BASE_PORT + 90, SERVER_CPU, workdir))
        python_args = ("-m", "cProfile", "-o", str(out)) if args.mode == "cprofile" else ()
        server.start(python_args=python_args)
        assert server.proc is not None
        wrk.run(wrk_bin, server.port, ep, connections=args.connections, duration=2, cpu=CLIENT_CPU)  # warm-up
        if args.mode == "pyspy":
            sampler = subprocess.Popen(
                ["taskset", "-c", str(CLIENT_CPU), str(PY_SPY), "record", "--pid", str(server.proc.pid),
                 "--duration", str(args.duration), "--rate", "250", "--format", "raw", "--output", str(out),
                 *(["--native"] if args.native else ["--nonblocking"])],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
        result: list[wrk.WrkResult] = []
        load = threading.Thread(
            target=lambda: result.append(
                wrk.run(wrk_bin, server.port, ep, connections=args.connections, duration=args.duration, cpu=CLIENT_CPU)
            )
        )
        load.start()
        load.join()
        if args.mode == "pyspy":
            _, err = sampler.communicate(timeout=args.duration + 60)
            if sampler.returncode != 0:
                log(f"py-spy failed: {err.decode(errors='replace')[-800:]}")
                return 1
        server.stop()  # cProfile writes its file on the clean SIGTERM exit
    if result:
        log(f"{fw.name} {ep.name}: {result[0].rps:,.0f} req/s under the profiler")
    if args.mode == "pyspy":
        print(collapsed_top(out, args.limit, args.by_line))
    else:
        stats = pstats.Stats(str(out))
        stats.sort_stats("tottime").print_stats(args.limit)
        stats.sort_stats("cumulative").print_stats(args.limit)
    log(f"raw profile: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
