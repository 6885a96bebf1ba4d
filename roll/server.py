"""Serving an app: a server that drains gracefully and a runner that stops on signals.

Used by `simple_server`, `python -m roll` and the gunicorn worker.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import signal
import socket
import sys
from collections.abc import Coroutine
from typing import Any, Callable, ParamSpec

from .app import Roll

__all__ = ["BACKLOG", "AcceptLoop", "Listener", "Server", "bind_sockets", "loop_factory", "run", "serve"]

log = logging.getLogger("roll")
P = ParamSpec("P")

# Seconds given to in-flight requests to finish once a stop is asked: the
# app's own default (`Roll.drain`), defined once there.
GRACE = Roll.SHUTDOWN_GRACE
# Connections the kernel completes and queues before the server accepts them
# (`listen()`'s backlog; Linux caps it at net.core.somaxconn). asyncio's
# default, 100, overflows when thousands of clients connect at once.
BACKLOG = 2048


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when it is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


class AcceptLoop(asyncio.AbstractServer):
    """A listening socket that accepts every pending connection when it wakes up.

    For uvloop, whose own servers (libuv) accept one connection per loop
    iteration: with many busy connections an iteration takes milliseconds, and
    new connections then wait in the kernel's queue for seconds. asyncio's
    servers accept up to `backlog` at once, like this one. Each accepted socket
    goes to `loop.connect_accepted_socket`. See docs/serving.md.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        factory: Callable[[], Any],
        sock: socket.socket,
        backlog: int = BACKLOG,
    ) -> None:
        self.loop = loop
        self.factory = factory
        self.sock: socket.socket | None = sock
        self.backlog = backlog
        self.tasks: set[asyncio.Task[Any]] = set()
        self.closed = loop.create_future()
        sock.setblocking(False)
        sock.listen(backlog)
        loop.add_reader(sock.fileno(), self._accept)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return () if self.sock is None else (self.sock,)

    def _accept(self) -> None:
        sock = self.sock
        assert sock is not None
        for _ in range(self.backlog):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as error:
                if error.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    raise
                # Out of file descriptors or memory: pause accepting a second.
                log.error("Cannot accept a connection: %s", error)
                self.loop.remove_reader(sock.fileno())
                self.loop.call_later(1.0, self._resume)
                return
            task = self.loop.create_task(self.loop.connect_accepted_socket(self.factory, conn))
            self.tasks.add(task)
            task.add_done_callback(functools.partial(self._connected, conn))

    def _connected(self, conn: socket.socket, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("Cannot serve an accepted connection: %s", task.exception())
            conn.close()

    def _resume(self) -> None:
        if self.sock is not None:
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    def is_serving(self) -> bool:
        return self.sock is not None

    async def start_serving(self) -> None:
        pass  # it serves from the start

    async def serve_forever(self) -> None:
        await asyncio.shield(self.closed)

    def close(self) -> None:
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
            self.closed.set_result(None)

    async def wait_closed(self) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks)


# `AcceptLoop`'s former name, which docs/serving.md gave: deprecated, since
# it collided with the app's hook listeners (`roll.app.HookListener`).
Listener = AcceptLoop


def accepts_one_per_iteration(loop: asyncio.AbstractEventLoop) -> bool:
    """Is it uvloop's loop, whose servers accept one connection per iteration?"""
    return type(loop).__module__.partition(".")[0] == "uvloop"


async def bind_sockets(host: str | None, port: int, reuse_port: bool | None = None) -> list[socket.socket]:
    """Sockets bound to every address of `host` (all interfaces when None)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


class Server:
    """The app on one or more listening sockets, with a graceful `stop()`.

    Stopping closes the listening sockets first (no new connection), then
    lets the app drain its connections (`Roll.drain`): idle keep-alive ones
    close, busy ones close after their response, websockets get a 1001;
    whatever is still open after `grace` seconds is aborted.
    """

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.servers: list[asyncio.Server | AcceptLoop] = []

    async def start(
        self,
        host: str | None = None,
        port: int | None = None,
        sock: socket.socket | None = None,
        reuse_port: bool | None = None,
        backlog: int = BACKLOG,
    ) -> asyncio.Server | AcceptLoop:
        loop = asyncio.get_running_loop()
        self.app.loop = loop
        if accepts_one_per_iteration(loop):
            socks = [sock] if sock is not None else await bind_sockets(host, port or 0, reuse_port)
            listeners = [AcceptLoop(loop, self.app.factory, each, backlog) for each in socks]
            self.servers += listeners
            return listeners[0]
        if sock is not None:
            server = await loop.create_server(self.app.factory, sock=sock, backlog=backlog)
        else:
            server = await loop.create_server(
                self.app.factory,
                host,
                port if port is not None else 0,
                reuse_port=reuse_port,
                backlog=backlog,
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
    backlog: int = BACKLOG,
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
            await server.start(host, port, sock=sock, backlog=backlog)
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


def blocking(main: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """`main`, with the same arguments, run to its end on a new loop (uvloop's
    when installed)."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(main(*args, **kwargs))

    return run


# `serve` to its end, blocking (same arguments).
run = blocking(serve)
