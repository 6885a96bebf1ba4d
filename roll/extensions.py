"""The extensions Roll ships: each one is a function that registers listeners on an app."""

from __future__ import annotations

import logging
import re
import sys
import traceback as traceback_module
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, cast

from mimeparse import MimeTypeParseException, best_match

from .compress import compress
from .cors import cors
from .files import plain_error, serve_file
from .http import HTTP_METHODS, HttpError, RouteOptions

if TYPE_CHECKING:
    from .app import Roll
    from .request import Request
    from .response import Response
    from .websocket import WSProtocol

__all__ = [
    "HTTP_METHODS",
    "compress",
    "content_negociation",
    "cors",
    "igniter",
    "logger",
    "named_url",
    "options",
    "simple_server",
    "static",
    "traceback",
    "websockets_store",
]

def logger(
    app: Roll, level: int = logging.DEBUG, handler: logging.Handler | None = None
) -> None:
    """Log `<METHOD> <url>` at INFO for each request on the `roll` logger.

    The handler (default: a StreamHandler on the stderr of the moment) is
    attached at startup and removed at shutdown.
    """
    log = logging.getLogger("roll")
    state: dict[str, Any] = {}

    @app.listen("startup")
    async def attach_handler() -> None:
        if "handler" in state:
            return
        current = handler if handler is not None else logging.StreamHandler(sys.stderr)
        state["handler"], state["level"] = current, log.level
        log.setLevel(level)
        log.addHandler(current)

    @app.listen("response")
    async def log_request(request: Request, response: Response) -> None:
        log.info("%s %s", request.method, request.url.decode("latin-1"))

    @app.listen("shutdown")
    async def detach_handler() -> None:
        current = state.pop("handler", None)
        if current is not None:
            log.removeHandler(current)
            log.setLevel(state.pop("level"))


def options(app: Roll) -> None:
    """Answer OPTIONS requests with an empty 200 at once, whatever the route."""

    @app.listen("headers")
    async def handle_options(request: Request, response: Response) -> bool:
        return request.method == "OPTIONS"


def content_negociation(app: Roll) -> None:
    """406 when a route's `accepts=[...]` has nothing the Accept header asks for.

    Accept parsing and matching (q-values, `text/*`, `*/*`) is done by
    python-mimeparse. A missing or unparsable Accept header is a 406 too.
    """

    @app.listen("request")
    async def reject_unacceptable_requests(request: Request, response: Response) -> None:
        payload = request.route.payload
        # RouteOptions["accepts"], read without a cast: this runs on every request.
        accepts: Sequence[str] | None = payload.get("accepts") if payload else None
        if not accepts:
            return
        accept = request.headers.get("ACCEPT")
        if not accept:
            raise HttpError(HTTPStatus.NOT_ACCEPTABLE)
        try:
            match = best_match(list(accepts), accept)
        except MimeTypeParseException:
            match = ""
        if not match:
            raise HttpError(HTTPStatus.NOT_ACCEPTABLE)


def traceback(app: Roll) -> None:
    """Print the traceback of the exception behind each 500 on stderr."""

    @app.listen("error")
    async def print_traceback(request: Request, response: Response, error: HttpError) -> None:
        if error.status != HTTPStatus.INTERNAL_SERVER_ERROR:
            return
        exception: BaseException = error.__context__ or error
        traceback_module.print_exception(exception, file=sys.stderr)


BANNER = r"""
    ____        ____
   / __ \____  / / /
  / /_/ / __ \/ / /
 / _, _/ /_/ / / /
/_/ |_|\____/_/_/   rolling…
"""


def igniter(app: Roll) -> None:
    """Log a banner on the `roll` logger at startup."""

    @app.listen("startup")
    async def ignite() -> None:
        logging.getLogger("roll").debug(BANNER)


def static(
    app: Roll,
    prefix: str = "/static/",
    root: str | Path = Path(),
    default_index: str = "",
    name: str = "static",
) -> None:
    """Serve the files under `root` at `prefix` (the route is added at startup).

    A path resolving outside `root` (`..`, a symlink out) is a 400, a missing
    file a 404, a directory serves its `default_index` file if given. Files
    are streamed, with validators, 304s and ranges: see `roll.files.serve_file`.
    """
    if not prefix.endswith("/"):
        prefix += "/"
    registered = False

    async def serve(request: Request, response: Response, path: str) -> None:
        base = Path(root).resolve()
        try:
            target = (base / path).resolve()
        except (OSError, ValueError, RuntimeError):
            raise plain_error(response, HTTPStatus.BAD_REQUEST) from None
        if target != base and base not in target.parents:
            raise plain_error(response, HTTPStatus.BAD_REQUEST)
        if default_index and target.is_dir():
            target = target / default_index
        serve_file(request, response, target)

    @app.listen("startup")
    async def register_route() -> None:
        nonlocal registered
        if not registered:
            registered = True
            app.route(prefix + "{path:path}", methods=["GET", "HEAD"], name=name)(serve)


_PLACEHOLDER = re.compile(r"{([^}:]+)(?::(?:[^{}]|{[^{}]*})*)?}")


def _template(path: str) -> str:
    """`/t/{p:digit}` → `/t/{p}`: the placeholder names only."""
    return _PLACEHOLDER.sub(lambda match: "{" + match.group(1) + "}", path)


def named_url(app: Roll) -> Callable[..., str]:
    """Name routes registered from now on; return `url_for(name, **params) -> str`.

    A route's name is its `name` extra, else its view's `__name__` lowercased.
    Two different views under one name raise ValueError at registration.
    """
    registry: dict[str, tuple[Any, str]] = {}

    @app.listen("route:add")
    def on_route_add(path: str, view: Any, **extras: Any) -> None:
        name = cast(RouteOptions, extras).get("name") or view.__name__.lower()
        if name in registry and registry[name][0] is not view:
            raise ValueError(f"Route with name {name!r} already exists: {registry[name][1]}")
        registry[name] = (view, _template(path))

    def url_for(name: str, /, **params: Any) -> str:  # a route may have a {name} param
        try:
            template = registry[name][1]
        except KeyError:
            raise ValueError(f"No route named {name!r}") from None
        try:
            return template.format_map({key: str(value) for key, value in params.items()})
        except KeyError as missing:
            raise ValueError(f"Missing parameter {missing} for route {name!r}") from None

    return url_for


def websockets_store(app: Roll) -> None:
    """Keep the open websockets in `app['websockets']`, a set."""
    app["websockets"] = set()

    @app.listen("websocket_connect")
    async def store(request: Request, ws: WSProtocol) -> None:
        app["websockets"].add(ws)

    @app.listen("websocket_disconnect")
    async def discard(request: Request, ws: WSProtocol) -> None:
        app["websockets"].discard(ws)


def simple_server(
    app: Roll, port: int = 3579, host: str = "127.0.0.1", quiet: bool = False
) -> None:
    """Serve the app until Ctrl-C or SIGTERM, then shut down gracefully (development use)."""
    from .server import run

    run(app, host=host, port=port, quiet=quiet)

