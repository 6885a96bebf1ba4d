"""Serving an app: a server that drains gracefully and a runner that stops on signals.

Used by `simple_server`, `python -m roll` and the gunicorn worker.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .app import Roll

__all__ = ["Server", "loop_factory", "run", "serve"]

# Seconds given to in-flight requests to finish once a stop is asked.
GRACE = 30.0


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when it is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


class Server:
    """The app on one or more listening sockets, with a graceful `stop()`.

    Stopping closes the listening sockets first (no new connection), then
    lets the app drain its connections (`Roll.drain`): idle keep-alive ones
    close, busy ones close after their response, websockets get a 1001;
    whatever is still open after `grace` seconds is aborted.
    """

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.servers: list[asyncio.Server] = []

    async def start(
        self,
        host: str | None = None,
        port: int | None = None,
        sock: socket.socket | None = None,
        reuse_port: bool | None = None,
    ) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        self.app.loop = loop
        if sock is not None:
            server = await loop.create_server(self.app.factory, sock=sock)
        else:
            server = await loop.create_server(
                self.app.factory, host, port if port is not None else 0, reuse_port=reuse_port
            )
        self.servers.append(server)
        return server

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [
            sock.getsockname()[:2] for server in self.servers for sock in server.sockets
        ]

    async def stop(self, grace: float = GRACE) -> None:
        for server in self.servers:
            server.close()
        await self.app.drain(grace)
        for server in self.servers:
            await server.wait_closed()
        self.servers.clear()


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    app: Roll,
    host: str = "127.0.0.1",
    port: int = 3579,
    sock: socket.socket | None = None,
    quiet: bool = False,
    grace: float = GRACE,
    stop: asyncio.Event | None = None,
) -> None:
    """Start the app, serve until SIGINT/SIGTERM (or `stop` is set), drain, shut down."""
    loop = asyncio.get_running_loop()
    app.loop = loop
    stop = stop if stop is not None else asyncio.Event()
    signals: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            break  # not the main thread, or no signals here: only `stop` stops
        signals.append(signum)
    server = Server(app)
    try:
        await app.startup()
        try:
            await server.start(host, port, sock=sock)
            if not quiet:
                for address, bound in server.addresses:
                    print(f"Rolling on {url(address, bound)}", file=sys.stderr, flush=True)
            await stop.wait()
            if not quiet:
                print("Stopping: finishing in-flight requests", file=sys.stderr, flush=True)
        finally:
            await server.stop(grace)
            await app.shutdown()
    finally:
        for installed in signals:
            loop.remove_signal_handler(installed)


def run(
    app: Roll,
    host: str = "127.0.0.1",
    port: int = 3579,
    sock: socket.socket | None = None,
    quiet: bool = False,
    grace: float = GRACE,
) -> None:
    """Blocking: `serve` on a new loop (uvloop's when installed)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(serve(app, host, port, sock=sock, quiet=quiet, grace=grace))
