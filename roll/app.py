"""The application: routes, hooks and the request flow."""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from types import FrameType
from typing import Any, Awaitable, Callable

from autoroutes import Routes

from . import cookies, multidict, multipart, websocket
from .compiled import mypyc_attr
from .decorator import RouteCall, RouteDecorator
from .http import HTTP_METHODS, HttpError, render_error
from .identity import Identity
from .protocol import HTTPProtocol
from .proxy import ProxyHeaders

# Aliased: inside Roll, `Request` and `Response` are the swappable class attributes.
from .request import Request as HttpRequest
from .request import Route
from .response import Response as HttpResponse

log = logging.getLogger("roll")

# `Route(payload, vars)` without NamedTuple's Python-level `__new__` (once per request).
new_route = tuple.__new__

HookListener = Callable[..., Any]
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class RouteRecord:
    """One registration, as `add_route` received it.

    `view` is what the user registered (a function or a class), `handlers`
    maps each HTTP method to the callable the app awaits for it. Routers,
    the OpenAPI document and test overrides read `app.registry` instead of
    the autoroutes tree, whose payloads merge when a path is registered twice.
    """

    path: str
    view: Any
    handlers: dict[str, Handler]
    protocol: str
    lazy_body: bool
    extras: dict[str, Any]


def allowed(payload: dict[str, Any]) -> str:
    """The `Allow` header of a route: its methods, and HEAD where GET is."""
    methods = [method for method in HTTP_METHODS if method in payload]
    if "GET" in payload and "HEAD" not in payload:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


def _add_listener(hooks: dict[str, list[HookListener]], name: str, func: HookListener) -> HookListener:
    """`Roll.listen`'s decorator (a module function: mypyc fails on a closure in a Python class)."""
    hooks[name].append(func)
    return func


# `type: ignore`: typeshed says a dict has no hash; Identity gives it one.
# A Python class when compiled (its methods compiled): apps and the typed
# layer subclass it and swap its class attributes (`Request = ...`).
@mypyc_attr(native_class=False)
class Roll(Identity, RouteDecorator, dict[str, Any]):  # type: ignore[misc]
    """The app. As a dict it holds app-level data for extensions and users."""

    # Swap any of these in a subclass to change how the core works.
    Routes = Routes
    HttpProtocol = HTTPProtocol
    WebsocketProtocol = websocket.WSProtocol
    Query = multidict.Query
    Form = multidict.Form
    Files = multidict.Files
    Request = HttpRequest
    Response = HttpResponse
    Cookies = cookies.Cookies
    Multipart = multipart.Multipart

    # Seconds a handler may run before it is cancelled and the client gets a
    # 503 (None: no limit). A route can set its own with the `timeout=` extra.
    HANDLER_TIMEOUT: float | None = None
    # Seconds `graceful_shutdown()` gives the requests in flight to finish;
    # also the default of `roll.server` and `python -m roll --grace`.
    SHUTDOWN_GRACE: float = 30.0
    # Set by `ProxyHeaders.install`: `request.client` / `request.scheme` then
    # believe the proxy headers of trusted peers (see roll/proxy.py).
    proxy_headers: ProxyHeaders | None = None

    def __init__(self) -> None:
        super().__init__()
        self.routes = self.Routes()
        # Every registration, in order (see `RouteRecord`).
        self.registry: list[RouteRecord] = []
        self.hooks: defaultdict[str, list[HookListener]] = defaultdict(list)
        self.loop: asyncio.AbstractEventLoop | None = None
        # The open connections (HTTP, and websockets until they close).
        self.connections: weakref.WeakSet[HTTPProtocol] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self.hooks)} hooks>"

    async def startup(self) -> None:
        await self.hook("startup")

    async def shutdown(self) -> None:
        await self.hook("shutdown")

    async def graceful_shutdown(
        self, server: asyncio.AbstractServer | None = None, grace: float | None = None
    ) -> None:
        """Stop accepting (closes `server` if given), `drain()`, then run the `shutdown` hook."""
        if server is not None:
            server.close()
        await self.drain(grace)
        if server is not None:
            await server.wait_closed()
        await self.shutdown()

    async def drain(self, grace: float | None = None) -> None:
        """Close every connection without cutting a request.

        Idle keep-alive connections close at once, busy ones after their
        response; websockets get their protocol's `shutdown()` (close 1001).
        After `grace` seconds (default `SHUTDOWN_GRACE`) what is still open
        is aborted and its task cancelled.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.SHUTDOWN_GRACE if grace is None else grace)
        while True:
            # Again at each round: a connection accepted just before the
            # listener closed shows up late.
            for connection in list(self.connections):
                if not connection.draining:
                    connection.shutdown()
            # Until each connection is lost, not merely closing: a transport
            # closing still has responses to send, which exiting would drop.
            if not self.connections or loop.time() >= deadline:
                break
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            log.warning("Aborting a connection still busy after the grace period")
            connection.abort()
            if connection.task is not None and not connection.task.done():
                connection.task.cancel()
        await asyncio.sleep(0)  # let the transports report their closing

    def factory(self) -> HTTPProtocol:
        """Protocol factory for `loop.create_server`."""
        return self.HttpProtocol(self)

    def lookup(self, request: HttpRequest) -> Route:
        payload, vars = self.routes.match(request.path)
        route = request.route = new_route(Route, (payload, vars or {}))
        return route

    async def __call__(self, request: HttpRequest, response: HttpResponse) -> None:
        # `hooks.get(name) and ...`: no coroutine is made for an event nobody listens to.
        hooks = self.hooks
        try:
            if not (hooks.get("headers") and await self.hook("headers", request, response)):
                payload = request.route.payload
                if not payload:
                    raise HttpError(HTTPStatus.NOT_FOUND, request.path)
                if payload["protocol"] == "websocket":
                    raise HttpError(HTTPStatus.UPGRADE_REQUIRED, headers={"Upgrade": "websocket"})
                handler = payload.get(request.method or "")
                if handler is None:
                    handler = self._unrouted_method(request, payload)
                if not payload["lazy_body"]:
                    if request.body_stream is None:
                        # No body (most requests): loaded as it is, without a
                        # coroutine or a property call.
                        request._body = b""
                    else:
                        await request.load_body()
                if not (hooks.get("request") and await self.hook("request", request, response)):
                    timeout = payload.get("timeout", self.HANDLER_TIMEOUT)
                    if timeout is None:
                        await handler(request, response, **request.route.vars)
                    else:
                        await self._call_with_timeout(timeout, handler, request, response)
        except Exception as error:
            await self.on_error(request, response, error)
        if hooks.get("response"):
            try:
                await self.hook("response", request, response)
            except Exception as error:
                await self.on_error(request, response, error, run_hook=False)

    async def admit(self, request: HttpRequest, ws: websocket.WSProtocol) -> Any:
        """The events before a websocket's 101: what to run once open, or None when refused.

        The `headers` then `request` events run, as for an HTTP request: a
        listener returning a truthy value, or raising (an `HttpError`, e.g.
        401), refuses the upgrade. Then, if the route's handler has a
        `prepare` attribute, `await handler.prepare(request, ws, **vars)` runs
        (it may raise to refuse, e.g. invalid input) and returns what to run
        instead of the handler. A refusal runs the `response` event; the
        websocket then sends `ws.response` and closes.
        """
        response = ws.response
        handler = (request.route.payload or {})["GET"]
        try:
            if not (
                await self.hook("headers", request, response)
                or await self.hook("request", request, response)
            ):
                prepare = getattr(handler, "prepare", None)
                if prepare is None:
                    return handler
                return await prepare(request, ws, **request.route.vars) or handler
        except Exception as error:
            await self.on_error(request, response, error)
        try:
            await self.hook("response", request, response)
        except Exception as error:
            await self.on_error(request, response, error, run_hook=False)
        return None

    @staticmethod
    def _unrouted_method(request: HttpRequest, payload: dict[str, Any]) -> Handler:
        """HEAD falls back on the GET handler (the protocol drops the body); else 405."""
        if request.method == "HEAD" and "GET" in payload:
            handler: Handler = payload["GET"]
            return handler
        raise HttpError(
            HTTPStatus.METHOD_NOT_ALLOWED, request.method, headers={"Allow": allowed(payload)}
        )

    async def _call_with_timeout(
        self, timeout: float, handler: Any, request: HttpRequest, response: HttpResponse
    ) -> None:
        try:
            async with asyncio.timeout(timeout) as scope:
                await handler(request, response, **request.route.vars)
        except TimeoutError:
            if not scope.expired():
                raise  # the handler's own TimeoutError
            raise HttpError(
                HTTPStatus.SERVICE_UNAVAILABLE, f"Handler timeout ({timeout}s)"
            ) from None

    async def on_error(
        self,
        request: HttpRequest,
        response: HttpResponse,
        error: Exception,
        run_hook: bool = True,
    ) -> None:
        if not isinstance(error, HttpError):
            log.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
            # Its text may hold anything (a password in a DSN, a path): the
            # client gets the status phrase, the `error` hook and the log the
            # original, as `__context__`.
            wrapped = HttpError(HTTPStatus.INTERNAL_SERVER_ERROR)
            wrapped.__context__ = error
            error = wrapped
        try:
            render_error(response, error)
        except Exception as broken:  # an HttpError subclass without a valid status or message
            log.error("Invalid HttpError %r", type(error), exc_info=broken)
            render_error(response, HttpError(HTTPStatus.INTERNAL_SERVER_ERROR))
            return
        if not run_hook:
            return
        try:
            await self.hook("error", request, response, error)
        except Exception as hook_error:
            log.error("Error in an error listener", exc_info=hook_error)
            render_error(response, HttpError(HTTPStatus.INTERNAL_SERVER_ERROR))

    # Registration.

    def add_view(self, call: RouteCall, caller: FrameType) -> None:
        """`route()`'s work."""
        handlers = self.collect_handlers(call.view, call.methods)
        self.add_route(
            call.path,
            handlers,
            view=call.view,
            protocol=call.protocol,
            lazy_body=call.lazy_body,
            **call.extras,
        )

    def add_route(
        self,
        path: str,
        handlers: dict[str, Handler],
        *,
        view: Any = None,
        protocol: str = "http",
        lazy_body: bool = False,
        **extras: Any,
    ) -> RouteRecord:
        """Register `handlers` (method → awaitable handler) on `path`.

        The one place a route enters the app: `route()` calls it after
        `collect_handlers`, layers above the core (the typed layer, routers)
        call it with their own handlers. `view` is what the `route:add`
        listeners and the registry see (by default the first handler).
        """
        if protocol == "websocket":
            handlers = {"GET": handlers.get("GET") or next(iter(handlers.values()))}
        if view is None:
            view = next(iter(handlers.values()))
        payload = {"protocol": protocol, "lazy_body": lazy_body, **extras, **handlers}
        for listener in self.hooks["route:add"]:
            listener(path, view, **extras)  # may refuse the route by raising
        self.routes.add(path, **payload)
        record = RouteRecord(path, view, dict(handlers), protocol, lazy_body, dict(extras))
        self.registry.append(record)
        return record

    def collect_handlers(self, view: Any, methods: list[str] | None) -> dict[str, Handler]:
        """Map each HTTP method to its handler, for a function or a class-based view."""
        if inspect.isclass(view):
            if methods is not None:
                raise AttributeError("Can't use `methods` with class view")
            instance = view()
            handlers = {}
            for method in HTTP_METHODS:
                handler = getattr(instance, f"on_{method.lower()}", None)
                if handler is not None:
                    handlers[method] = handler
            if not handlers:
                raise ValueError(f"Empty view: {view!r}")
            return handlers
        return {method.upper(): view for method in methods or ["GET"]}

    def listen(self, name: str) -> Callable[[HookListener], HookListener]:
        return partial(_add_listener, self.hooks, name)

    async def hook(self, name: str, *args: Any, **kwargs: Any) -> Any:
        listeners = self.hooks.get(name)
        if listeners:
            for listener in listeners:
                result = await listener(*args, **kwargs)
                if result:
                    return result
        return None
