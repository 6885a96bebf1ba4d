"""A gunicorn worker: `gunicorn -k roll.worker.Worker -w 4 module:app`.

Each worker process runs the app's startup listeners, serves gunicorn's
sockets on an asyncio loop (uvloop's when installed), and on SIGTERM stops
accepting, lets in-flight requests finish (up to `--graceful-timeout`),
closes, then runs the shutdown listeners. SIGINT and SIGQUIT stop at once.
With `--max-requests N`, a worker stops gracefully after N responses and
gunicorn starts a fresh one. gunicorn's `--backlog` (default 2048) is the
listen backlog. With the environment variable
`ROLL_PROXY_HEADERS=1` (e.g. `-e ROLL_PROXY_HEADERS=1`), `request.client` and
`request.scheme` read the proxy headers of the peers gunicorn's
`--forwarded-allow-ips` trusts (see roll/proxy.py).

gunicorn is an optional dependency (`pip install roll-typed[gunicorn]`); only
this module imports it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from gunicorn.workers.base import Worker as BaseWorker

from .app import Roll
from .proxy import ProxyHeaders
from .request import Request
from .response import Response
from .server import Server, loop_factory

__all__ = ["Worker"]


class Worker(BaseWorker):
    # Seconds between two heartbeats to the arbiter (it kills silent workers).
    HEARTBEAT = 1.0

    def run(self) -> None:
        app = self.wsgi
        if not isinstance(app, Roll):
            raise TypeError(f"{app!r} is not a Roll app")
        if os.environ.get("ROLL_PROXY_HEADERS", "").lower() in ("1", "true", "yes", "on"):
            # Trusting gunicorn's own setting (--forwarded-allow-ips).
            ProxyHeaders(self.cfg.forwarded_allow_ips).install(app)
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(self.serve(app))

    async def serve(self, app: Roll) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        grace = float(self.cfg.graceful_timeout)

        def graceful() -> None:
            self.alive = False
            stop.set()

        def quick() -> None:
            nonlocal grace
            grace = 0.0
            graceful()

        # gunicorn's handlers (SIGTERM: alive = False) cover the boot; on the
        # loop, these take over.
        loop.add_signal_handler(signal.SIGTERM, graceful)
        loop.add_signal_handler(signal.SIGINT, quick)
        loop.add_signal_handler(signal.SIGQUIT, quick)
        app.loop = loop
        if self.max_requests < sys.maxsize:

            async def count(request: Request, response: Response) -> None:
                self.nr += 1
                if self.nr >= self.max_requests and self.alive:
                    self.log.info("Autorestarting worker after current request.")
                    graceful()

            app.hooks["response"].append(count)
        server = Server(app)
        await app.startup()
        try:
            for listener in self.sockets:
                # gunicorn listened with its `backlog` setting; asyncio and our
                # uvloop listener call listen() again, so pass it on.
                await server.start(sock=listener.sock, backlog=self.cfg.backlog)
            while self.alive and not stop.is_set():
                self.notify()
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
                try:
                    await asyncio.wait_for(stop.wait(), self.HEARTBEAT)
                except asyncio.TimeoutError:
                    pass
            self.notify()
            await server.stop(grace)
        finally:
            await app.shutdown()
