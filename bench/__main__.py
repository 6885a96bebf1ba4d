"""`python -m bench`: the whole benchmark, end to end (see bench/README.md)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from .config import ENDPOINTS, FRAMEWORKS, RESULTS_DIR, endpoint, framework
from .harness import Options, log, run
from .report import markdown, write


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}", default)


def parse(argv: list[str]) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--frameworks", default=_env("FRAMEWORKS", ",".join(f.name for f in FRAMEWORKS if not f.optional)),
                        help="comma-separated names (default: all; env BENCH_FRAMEWORKS)")  # fmt: skip
    parser.add_argument("--endpoints", default=_env("ENDPOINTS", ",".join(e.name for e in ENDPOINTS)),
                        help="comma-separated names (default: all; env BENCH_ENDPOINTS)")  # fmt: skip
    parser.add_argument("--duration", type=int, default=int(_env("DURATION", "2")), help="whole seconds per timed run")
    parser.add_argument("--warmup", type=int, default=int(_env("WARMUP", "1")), help="warm-up seconds per pair")
    parser.add_argument("--rounds", type=int, default=int(_env("ROUNDS", "5")), help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=int(_env("CONNECTIONS", "64")))
    parser.add_argument("--overload-connections", type=int, default=int(_env("OVERLOAD_CONNECTIONS", "512")))
    parser.add_argument("--overload-duration", type=int, default=int(_env("OVERLOAD_DURATION", "3")),
                        help="seconds of the overload run (0: skip)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s, 1 s warm-up, 1 s overload")
    parser.add_argument("--no-install", action="store_true", help="do not create or update the venvs")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup, args.overload_duration = 1, 1, 1, 1
    try:
        fws = [framework(n.strip()) for n in args.frameworks.split(",") if n.strip()]
        eps = [endpoint(n.strip()) for n in args.endpoints.split(",") if n.strip()]
    except KeyError as error:
        parser.error(str(error))
    if args.rounds < 1 or args.duration <= 0:
        parser.error("--rounds must be ≥ 1 and --duration > 0")
    options = Options(
        frameworks=fws,
        endpoints=eps,
        duration=args.duration,
        warmup=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        overload_connections=args.overload_connections,
        overload_duration=args.overload_duration,
        install=not args.no_install,
        command=shlex.join(["python", "-m", "bench", *argv]),
        log_dir=RESULTS_DIR / "logs",
    )
    return options, not args.no_docs


def main(argv: list[str] | None = None) -> int:
    options, docs = parse(sys.argv[1:] if argv is None else argv)
    try:
        record = run(options)
    except KeyboardInterrupt:
        log("interrupted: servers stopped, no results written")
        return 130
    path = write(record, RESULTS_DIR, update_docs=docs)
    print()
    print(markdown(record))
    log(f"record: {path}")
    missed = [t for t in record["summary"]["targets"] if t["met"] is False]
    if missed:
        log(f"{len(missed)} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
