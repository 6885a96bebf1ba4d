"""Leak probe: rounds of bad clients against an in-process server; live objects must not grow.

    .venv/bin/python tests/soak/loadtest_objects.py [--rounds 8] [--clients 300]

RSS (what `loadtest.py` samples) also moves with the allocator's high-water
marks; this counts what Python keeps alive instead: after each round of bad
clients (every kind of `loadtest.BAD`, with short timeouts so slow ones are cut
off quickly), the number of gc-tracked objects, the memory traced by
tracemalloc, the open connections and the running tasks. Exits 1 if the object
count grew between the second round and the last (the first warms up).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from soak import loadtest  # noqa: E402

from roll import HTTPProtocol  # noqa: E402


class Quick(HTTPProtocol):
    __slots__ = ()
    HEADERS_TIMEOUT = 0.3
    BODY_TIMEOUT = 0.3
    MIN_BODY_RATE = 1000
    LINGER_TIMEOUT = 0.2


async def probe(rounds: int, clients: int) -> bool:
    app = loadtest.make_app()
    app.HttpProtocol = Quick
    loop = asyncio.get_running_loop()
    app.loop = loop
    server = await loop.create_server(app.factory, loadtest.HOST, 0)
    port: int = server.sockets[0].getsockname()[1]
    stats = loadtest.Stats()
    kinds = list(loadtest.BAD)
    tracemalloc.start()
    objects: list[int] = []
    print("round  objects  traced KiB  connections  tasks  errors")
    for number in range(rounds):
        await asyncio.gather(
            *(loadtest.bad_client(port, random.choice(kinds), stats) for _ in range(clients))
        )
        await asyncio.sleep(0.5)
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        objects.append(len(gc.get_objects()))
        print(
            f"{number:5d}  {objects[-1]:7d}  {current // 1024:10d}  {len(app.connections):11d}"
            f"  {len(asyncio.all_tasks()):5d}  {sum(stats.errors.values()):6d}"
        )
    server.close()
    await server.wait_closed()
    grown = objects[-1] - objects[min(1, len(objects) - 1)]
    print(f"bad clients: {sum(stats.bad.values())}, errors: {dict(stats.errors)}, objects grown: {grown}")
    return grown <= 10 and not stats.errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=300)
    args = parser.parse_args()
    if not asyncio.run(probe(args.rounds, args.clients)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
