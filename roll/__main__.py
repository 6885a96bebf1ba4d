"""`python -m roll module:app [--host H] [--port P] [--workers N] [--grace S] [--backlog B]
[--reload] [--access-log] [--proxy-headers]`.

Subcommands: `python -m roll openapi module:app` prints the app's OpenAPI
document (see `SUBCOMMANDS`).

One process serves in-process. With N > 1 workers, the parent binds the
socket once, forks N children that all accept on it, restarts a child that
dies, and on SIGTERM/SIGINT asks each child to stop gracefully (stop
accepting, finish in-flight requests, close), killing stragglers after the
grace period.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import socket
import sys
import time
import traceback
from types import FrameType
from typing import TYPE_CHECKING, Any, Sequence

from .proxy import ProxyHeaders
from .server import BACKLOG, GRACE, run, url

if TYPE_CHECKING:
    from .app import Roll


def load_app(target: str) -> Roll:
    """`package.module:attribute` (attribute defaults to `app`)."""
    from .app import Roll

    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise SystemExit(f"Invalid app {target!r}: expected module:app")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, Roll):
        raise SystemExit(f"{target!r} is not a Roll app")
    return app


def log_access(app: Roll) -> None:
    """`--access-log`: one line per request on the `roll.access` logger (stderr)."""
    logger = logging.getLogger("roll.access")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    @app.listen("response")
    async def access(request: Any, response: Any) -> None:
        # `request.client`: the proxy's client when --proxy-headers trusts it.
        peer = request.client
        client = peer[0] if peer else "-"
        target = request.url.decode("latin-1", "replace") if request.url else request.path
        logger.info('%s "%s %s" %d', client, request.method, target, response.status)


def listening_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """The socket the workers share: bound, listening, inherited by the forks."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """The parent of N forked workers sharing one listening socket."""

    # A worker that dies sooner than this after its start counts as a crash loop.
    MIN_LIFETIME = 1.0
    MAX_QUICK_DEATHS = 5

    def __init__(
        self, app: Roll, sock: socket.socket, workers: int, grace: float, backlog: int = BACKLOG
    ) -> None:
        self.app = app
        self.sock = sock
        self.workers = workers
        self.grace = grace
        self.backlog = backlog
        self.children: dict[int, float] = {}  # pid -> start time
        self.stopping = False
        self.quick_deaths = 0
        self.deadline = 0.0

    def spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                run(self.app, sock=self.sock, quiet=True, grace=self.grace, backlog=self.backlog)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = time.monotonic()

    def stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            print("Stopping workers", file=sys.stderr, flush=True)
            self.deadline = time.monotonic() + self.grace + 5
            self.sock.close()  # the children hold it now; refuse new connections once they stop
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for _ in range(self.workers):
            self.spawn()
        status = 0
        while self.children:
            if self.stopping and time.monotonic() > self.deadline:
                for pid in self.children:
                    os.kill(pid, signal.SIGKILL)
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            started = self.children.pop(pid, None)
            if started is None or self.stopping:
                continue
            exit_code = os.waitstatus_to_exitcode(code)
            print(f"Worker {pid} exited ({exit_code}); restarting", file=sys.stderr, flush=True)
            if time.monotonic() - started < self.MIN_LIFETIME:
                self.quick_deaths += 1
                if self.quick_deaths >= self.MAX_QUICK_DEATHS:
                    print("Workers keep dying: giving up", file=sys.stderr, flush=True)
                    self.stop(signal.SIGTERM, None)
                    status = 1
                    continue
            self.spawn()
        self.sock.close()
        return status


# `python -m roll NAME ...` runs `main(argv)` of the module (imported only then).
SUBCOMMANDS = {"openapi": "roll.typed.openapi"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        command = importlib.import_module(SUBCOMMANDS[argv[0]])
        return int(command.main(argv[1:]))
    parser = argparse.ArgumentParser(prog="python -m roll", description="Serve a Roll app.")
    parser.add_argument("app", help="module:attribute of the app, e.g. myproject.web:app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3579)
    parser.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (default: 1)"
    )
    parser.add_argument(
        "--grace", type=float, default=GRACE,
        help=f"seconds in-flight requests get on shutdown (default: {GRACE:g})",
    )
    parser.add_argument(
        "--backlog", type=int, default=BACKLOG,
        help=f"connections the kernel queues before they are accepted (default: {BACKLOG})",
    )
    parser.add_argument(
        "--reload", action="store_true",
        help="restart when a .py file under the app's directory changes (needs watchfiles)",
    )
    parser.add_argument("--access-log", action="store_true", help="log one line per request")
    parser.add_argument(
        "--proxy-headers", action="store_true",
        help="read the client address and scheme from X-Forwarded-For/-Proto or Forwarded"
        " (from the trusted peers only)",
    )
    parser.add_argument(
        "--forwarded-allow-ips", default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="with --proxy-headers: comma-separated addresses or networks of the trusted"
        " proxies, '*' for any (default: $FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.backlog < 1:
        parser.error("--backlog must be at least 1")
    if args.reload:
        from .reload import reload

        return reload(args.app, sys.argv[1:] if argv is None else argv, args.grace)
    app = load_app(args.app)
    if args.access_log:
        log_access(app)
    if args.proxy_headers:
        try:
            ProxyHeaders(args.forwarded_allow_ips).install(app)
        except ValueError as error:
            parser.error(f"--forwarded-allow-ips: {error}")
    sock = listening_socket(args.host, args.port, args.backlog)
    host, port = sock.getsockname()[:2]
    plural = "s" if args.workers > 1 else ""
    print(
        f"Rolling on {url(host, port)} with {args.workers} worker{plural} (pid {os.getpid()})",
        file=sys.stderr,
        flush=True,
    )
    if args.workers == 1:
        run(app, sock=sock, quiet=True, grace=args.grace, backlog=args.backlog)
        return 0
    return Supervisor(app, sock, args.workers, args.grace, args.backlog).run()


if __name__ == "__main__":
    sys.exit(main())
