"""The `cors` extension: CORS headers on every response, and answers to preflights."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Callable, Iterable

from .http import HTTP_METHODS
from .response import add_vary

if TYPE_CHECKING:
    from .app import Roll
    from .request import Request
    from .response import Response

__all__ = ["cors"]

Origins = str | Iterable[str] | Callable[[str], bool]


def _join(values: str | Iterable[str]) -> str:
    return values if isinstance(values, str) else ",".join(values)


def cors(
    app: Roll,
    origin: Origins = "*",
    methods: str | Iterable[str] | None = None,
    headers: str | Iterable[str] | None = None,
    credentials: bool = False,
    max_age: int | None = None,
) -> None:
    """Add the CORS headers to every response (404s and errors included).

    `origin` is one origin (or `*`), sent as is; or a list of origins, or a
    callable `(origin) -> bool`: then the request's `Origin`, when allowed,
    is echoed (with `Vary: Origin`), and a request from another origin gets
    no CORS header. With `credentials`, `*` is never sent: the request's
    origin is echoed instead. A preflight (OPTIONS with
    Access-Control-Request-Method) on a route without its own OPTIONS
    handler is answered at once (204) with the method and headers asked
    for, when allowed, and `Access-Control-Max-Age: max_age`.
    """
    # Everything is decided here, once: a request only looks things up.
    fixed_origin: str | None = None
    allowed: Callable[[str], bool]
    if isinstance(origin, str):
        if origin != "*" or not credentials:
            fixed_origin = origin
        allowed = _any_origin
    elif callable(origin):
        allowed = origin
    else:
        allowed = frozenset(origin).__contains__
    method_list = list(HTTP_METHODS) if methods == "*" else methods
    allow_methods = _join(method_list) if method_list else None
    preflight_methods = (
        None if not method_list else frozenset(m.upper() for m in _split(method_list))
    )
    allow_headers = _join(headers) if headers else None
    any_header = headers == "*"
    preflight_headers = frozenset(h.lower() for h in _split(headers)) if headers else frozenset()
    age = str(max_age) if max_age is not None else None

    @app.listen("headers")
    async def answer_preflight(request: Request, response: Response) -> bool:
        if request.method != "OPTIONS" or not _is_preflight(request):
            return False
        payload = request.route.payload
        if payload and "OPTIONS" in payload:
            return False  # the route answers its own OPTIONS
        response.status = HTTPStatus.NO_CONTENT
        return True

    @app.listen("response")
    async def add_cors_headers(request: Request, response: Response) -> None:
        out = response.headers
        if fixed_origin is not None:
            out["Access-Control-Allow-Origin"] = fixed_origin
        else:
            add_vary(out, "Origin")
            requested = request.headers.get("ORIGIN")
            if requested:
                if not allowed(requested):
                    return
                out["Access-Control-Allow-Origin"] = requested
            elif not isinstance(origin, str):
                return  # not a cross-origin request: nothing to allow
        if credentials:
            out["Access-Control-Allow-Credentials"] = "true"
        if request.method == "OPTIONS" and _is_preflight(request):
            add_vary(out, "Access-Control-Request-Method")
            add_vary(out, "Access-Control-Request-Headers")
            method = request.headers["ACCESS-CONTROL-REQUEST-METHOD"].strip()
            if preflight_methods is not None and method.upper() in preflight_methods:
                out["Access-Control-Allow-Methods"] = method
            asked = [
                name.strip()
                for name in request.headers.get("ACCESS-CONTROL-REQUEST-HEADERS", "").split(",")
                if name.strip()
            ]
            if asked and (any_header or all(name.lower() in preflight_headers for name in asked)):
                out["Access-Control-Allow-Headers"] = ",".join(asked)
            if age is not None:
                out["Access-Control-Max-Age"] = age
            return
        if allow_methods:
            out["Access-Control-Allow-Methods"] = allow_methods
        if allow_headers:
            out["Access-Control-Allow-Headers"] = allow_headers


def _any_origin(origin: str) -> bool:
    return True


def _split(values: str | Iterable[str]) -> list[str]:
    return values.split(",") if isinstance(values, str) else list(values)


def _is_preflight(request: Request) -> bool:
    headers = request.headers
    return "ACCESS-CONTROL-REQUEST-METHOD" in headers and "ORIGIN" in headers
