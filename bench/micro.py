"""In-process cost of one request through our core, and what each fix would save.

    python -m bench.micro                       # every variant, every endpoint
    python -m bench.micro --variants baseline,eager --endpoints minimal,full

No sockets: each request is fed to `HTTPProtocol.data_received` on 64
protocols (as 64 keep-alive connections would), with a transport that only
counts writes, on uvloop, pinned to CPU 1. The figure is CPU microseconds per
request spent in Python (parsing callbacks, routing, the handler, the
response), without the send/recv syscalls, so it is steady even on a busy
machine. Each variant runs in its own process (the roll_core venv) and
monkeypatches the core the way a proposed change would, to price that change
before anyone writes it. Nothing under roll/ is modified.

Variants:
- `baseline`: the core as it is.
- `json`: `response.json` encodes with `pydantic_core.to_json` (bytes) instead
  of `json.dumps` (str, encoded again when sent).
- `eager`: the request coroutine is started synchronously (`coro.send(None)`)
  once the request is complete; a task is created only if it suspends.

(The `hooks`, `query` and `head` variants priced earlier are now in the core,
in that form or another: see docs/performance.md.)
- `typed`: no patch, but the typed app (`roll_typed_app.py`, on TypedRoll)
  instead of the plain-core one: the cost of the typed layer.
- `typed-override`: the typed app with an `app.override()` active (on a
  provider of another route): the cost of the override machinery when the
  endpoint does not use what is overridden (it should be none).
- `floor`: a protocol that answers a fixed response, through the same driver
  (the cost of the driver itself plus httptools-free parsing: the ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .config import APPS_DIR, REPO_ROOT, Endpoint, endpoint, framework
from .harness import SERVER_CPU

if TYPE_CHECKING:
    from roll.typed import TypedRoll

VARIANTS = ("floor", "baseline", "json", "eager", "typed", "typed-override")
CONNECTIONS = 64


def raw_request(ep: Endpoint) -> bytes:
    head = [f"{ep.method} {ep.path} HTTP/1.1", "Host: 127.0.0.1:8080"]
    head += [f"{name}: {value}" for name, value in ep.headers.items()]
    if ep.body:
        head.append(f"Content-Length: {len(ep.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + ep.body


# ------------------------------------------------------------ the patches


def patch_json() -> None:
    import pydantic_core
    from roll.response import JSON_CONTENT_TYPE, Response

    def _set_json(self: Any, value: Any) -> None:
        self.headers["Content-Type"] = JSON_CONTENT_TYPE
        self.body = pydantic_core.to_json(value)

    setattr(Response, "json", property(vars(Response)["json"].fget, _set_json))


def patch_eager() -> None:
    """Start the request coroutine synchronously once the request is complete
    (or at the end of `data_received` if its body is still coming); only a
    coroutine that suspends gets a task. Hooks the core's own methods: the
    task `on_headers_complete` would create is kept as a coroutine instead."""
    from roll.protocol import HTTPProtocol

    pending: dict[int, Any] = {}  # HTTPProtocol has __slots__
    headers_complete = HTTPProtocol.on_headers_complete
    message_complete = HTTPProtocol.on_message_complete
    data_received = HTTPProtocol.data_received

    class Deferring:
        """The protocol's loop, except that `create_task` keeps the coroutine."""

        def __init__(self, loop: Any) -> None:
            self.loop = loop
            self.coro: Any = None

        def create_task(self, coro: Any) -> None:
            self.coro = coro

        def __getattr__(self, name: str) -> Any:
            return getattr(self.loop, name)

    async def resume(coro: Any, waiting: Any) -> None:
        """Drive the rest of a coroutine that suspended on `waiting`."""
        while True:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                try:
                    await waiting
                except asyncio.CancelledError:
                    if not waiting.cancelled():
                        coro.throw(asyncio.CancelledError())
                except BaseException:
                    pass  # the coroutine reads the outcome itself
            try:
                waiting = coro.send(None)
            except StopIteration:
                return

    def start(self: Any) -> None:
        coro = pending.pop(id(self), None)
        if coro is None:
            return
        try:
            waiting = coro.send(None)
        except StopIteration:
            self.task = None
            return
        self.task = self.loop.create_task(resume(coro, waiting))

    def on_headers_complete(self: Any) -> None:
        loop = self.loop
        deferring = self.loop = Deferring(loop)
        try:
            headers_complete(self)
        finally:
            self.loop = loop
        if deferring.coro is not None:
            pending[id(self)] = deferring.coro

    def on_message_complete(self: Any) -> None:
        message_complete(self)
        start(self)

    def on_data(self: Any, data: bytes) -> None:
        data_received(self, data)
        start(self)

    setattr(HTTPProtocol, "on_headers_complete", on_headers_complete)
    setattr(HTTPProtocol, "on_message_complete", on_message_complete)
    setattr(HTTPProtocol, "data_received", on_data)


PATCHES = {
    "json": patch_json,
    "eager": patch_eager,
}


# ------------------------------------------------------------ measuring


class Floor(asyncio.Protocol):
    """Fixed answer, as bench/apps/raw_app.py."""

    RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n{"message":"Hello, World!"}'
    task = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(self.RESPONSE * data.count(b"\r\n\r\n"))


async def answer_batch(protocols: list[Any], request: bytes) -> None:
    """One request fed to each protocol, as one read each; until every one is answered."""
    for protocol in protocols:
        protocol.data_received(request)
    for protocol in protocols:
        task = protocol.task
        if task is not None and not task.done():
            await task


async def measure(
    connect: Callable[[Any], Any], request: bytes, seconds: float
) -> tuple[float, bytes]:
    """`connect(transport)` opens one connection: a protocol on `transport`."""
    from roll.testing import Transport  # here: the parent process may run without roll

    class Sink(Transport):
        """roll.testing's transport, keeping only the last write, and counting them."""

        def __init__(self) -> None:
            super().__init__()
            self.writes = 0
            self.last = b""

        def write(self, data: bytes) -> None:
            self.writes += 1
            self.last = data

    sinks = [Sink() for _ in range(CONNECTIONS)]
    protos = [connect(sink) for sink in sinks]

    for _ in range(200):  # warm-up
        await answer_batch(protos, request)
    count = 0
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        await answer_batch(protos, request)
        count += CONNECTIONS
    cpu = time.process_time() - cpu
    answered = sum(s.writes for s in sinks) - 200 * CONNECTIONS
    if answered != count:
        raise RuntimeError(f"{answered} responses for {count} requests")
    return cpu / count * 1e6, sinks[0].last


def override_something(app: TypedRoll) -> None:
    """Enter an override for the rest of the process (see `typed-override`)."""
    from typing import Annotated

    from roll.typed import Depends

    def user() -> str:
        return "user"

    @app.route("/_overridden")
    async def overridden(name: Annotated[str, Depends(user)]) -> str:
        return name

    app.override(user, lambda: "fake").__enter__()


def child(variant: str, endpoint_name: str, seconds: float) -> None:
    """Runs in the roll_core venv: prints {"us": ..., "head": ...}."""
    import uvloop

    sys.path.insert(0, str(APPS_DIR))
    if variant in PATCHES:
        PATCHES[variant]()
    request = raw_request(endpoint(endpoint_name))

    async def main() -> tuple[float, bytes]:
        if variant == "floor":

            def floor(transport: Any) -> Floor:
                protocol = Floor()
                protocol.connection_made(transport)
                return protocol

            return await measure(floor, request, seconds)
        app: Any
        if variant in ("typed", "typed-override"):
            import roll_typed_app

            app = roll_typed_app.app
            if variant == "typed-override":
                override_something(app)
        else:
            import roll_core_app

            app = roll_core_app.app
        from roll.testing import open_protocol

        app.loop = asyncio.get_running_loop()
        await app.startup()
        return await measure(lambda transport: open_protocol(app, transport), request, seconds)

    us, last = uvloop.run(main())
    print(json.dumps({"us": us, "response": last.decode(errors="replace")}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--endpoints", default="minimal,parameter,query,full,typed,json")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", type=Path, default=None,
                        help="interpreter with roll installed (default: the roll_core venv's)")  # fmt: skip
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], args.seconds)
        return 0
    python = args.python or framework("roll_core").python
    variants = [v for v in args.variants.split(",") if v]
    endpoints = [e for e in args.endpoints.split(",") if e]
    results: dict[str, dict[str, list[float]]] = {}
    for ep in endpoints:
        for _ in range(args.repeat):  # interleaved, like the real runs
            for variant in variants:
                if variant == "floor" and ep != "minimal":
                    continue
                proc = subprocess.run(
                    ["taskset", "-c", str(SERVER_CPU), str(python), "-m", "bench.micro",
                     "--child", variant, ep, "--seconds", str(args.seconds)],
                    cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                    env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                )  # fmt: skip
                if proc.returncode != 0:
                    print(f"{variant}/{ep} failed: {proc.stderr[-1500:]}", file=sys.stderr)
                    continue
                data = json.loads(proc.stdout.strip().splitlines()[-1])
                if not data["response"].startswith("HTTP/1.1 200"):
                    print(f"{variant}/{ep} answered: {data['response'][:200]!r}", file=sys.stderr)
                    continue
                results.setdefault(variant, {}).setdefault(ep, []).append(data["us"])
    medians = {v: {e: statistics.median(x) for e, x in eps.items()} for v, eps in results.items()}
    header = "| variant | " + " | ".join(endpoints) + " |"
    print(header)
    print("| --- |" + " ---: |" * len(endpoints))
    base = medians.get("baseline", {})
    for variant in variants:
        cells = []
        for ep in endpoints:
            us = medians.get(variant, {}).get(ep)
            if us is None:
                cells.append("–")
            elif variant == "baseline" or ep not in base:
                cells.append(f"{us:.2f} µs")
            else:
                cells.append(f"{us:.2f} µs ({us - base[ep]:+.2f})")
        print(f"| {variant} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
