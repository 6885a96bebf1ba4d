"""`TypedRoll`: a drop-in `Roll` whose handlers take typed parameters."""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from roll import Request, Response, Roll
from roll.app import Handler, RouteRecord
from roll.decorator import RouteCall
from roll.http import RouteOptions

from . import checks
from .analysis import analyse_route, kind_of, plan_singleton
from .dependencies import close_singleton
from .endpoint import make_endpoint
from .errors import RouteDefinitionError
from .guards import guarded
from .markers import Depends
from .overrides import Bindings
from .plan import Kind, Plan, Provided, RouteInfo, Singleton, display, qualname

if TYPE_CHECKING:
    from .router import Router

T = TypeVar("T")


@dataclass(frozen=True)
class Registration:
    """What `route()` was given, for the analysis of each of its handlers."""

    path: str
    protocol: str
    lazy_body: bool
    extras: dict[str, Any]
    typed: bool | None
    localns: dict[str, Any]
    guards: tuple[Depends, ...] = ()


REQUEST_LIKE = frozenset(("Request", "roll.Request"))
RESPONSE_LIKE = frozenset(("Response", "roll.Response"))
STR_LIKE = frozenset(("str", "Any", "typing.Any"))


def is_plain(handler: Callable[..., Any]) -> bool:
    """A plain Roll handler, registered untouched.

    It takes `request` and `response` (or `ws`) first, by those names or
    annotated `Request` / `Response`; its other parameters (URL values) are
    unannotated or `str`, with no marker; its return annotation is absent or
    None. Pass `typed=True` / `typed=False` to `route()` to decide explicitly.
    """
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return True
    params = list(signature.parameters.values())
    if len(params) < 2:
        return False
    first, second, *others = params
    if not (first.name == "request" or names(first.annotation, Request, REQUEST_LIKE)):
        return False
    if not (second.name in ("response", "ws") or names(second.annotation, Response, RESPONSE_LIKE)):
        return False
    for param in others:
        if param.annotation is not param.empty and not names(param.annotation, str, STR_LIKE):
            if param.annotation is not Any:
                return False
    returns = signature.return_annotation
    return returns is signature.empty or returns is None or returns == "None"


def names(annotation: Any, cls: Any, spellings: frozenset[str]) -> bool:
    """`annotation` is `cls`, or its name when annotations are strings."""
    if isinstance(annotation, str):
        return annotation in spellings
    return annotation is cls or (
        isinstance(annotation, type) and isinstance(cls, type) and issubclass(annotation, cls)
    )


class TypedRoll(Roll):
    """Roll, with handlers resolved from their signature at registration.

    `route(..., typed=None|True|False, status=201, dependencies=[...], ...)`:
    `status` is the success status of typed handlers; `typed` forces the mode
    (by default a handler with no annotated parameter is a plain Roll
    handler); `dependencies` run before the handler, their values discarded.
    """

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[Any, Provided] = {}
        # The plan of each typed endpoint in `registry` (plain handlers have none).
        self.plans: dict[Handler, Plan] = {}
        # Every route dependency by target, for `override()` and `provide()`.
        self.bindings = Bindings(self.providers)
        # Singletons replaced by a later `provide()`, finished at shutdown.
        self.retired: list[Singleton] = []

    def provide(self, tp: type[T], factory: Callable[..., Any], *, singleton: bool = False) -> None:
        """Resolve parameters annotated with `tp` by calling `factory`.

        The factory's own parameters are resolved like a handler's; it may be
        sync, async, or a (async) generator. Per request by default; with
        `singleton=True` it runs once, at first use, takes no request data,
        and a generator factory is finished at shutdown. Routes may be
        registered before or after; providing `tp` again replaces it for every
        route (the old singleton is finished at shutdown).
        """
        self.bindings.check_provide(tp)
        registration = Provided(factory)
        if singleton:
            plan = plan_singleton(factory, self.providers, dict(sys._getframe(1).f_locals))
            registration.singleton = Singleton(factory, plan, kind_of(factory))
        previous = self.providers.get(tp)
        if previous is not None and previous.singleton is not None:
            self.retired.append(previous.singleton)
        self.providers[tp] = registration
        self.bindings.provide(tp, registration)

    @contextmanager
    def override(self, target: Any, replacement: Callable[..., Any]) -> Iterator[None]:
        """Inside the block, routes using `target` (a `Depends` provider or a
        type served by `provide`) call `replacement`, resolved by the same
        rules (per request, also for a singleton's replacement)."""
        with self.bindings.override(target, replacement):
            yield

    def check(self) -> None:
        """What registration could not decide: every provided type is served."""
        for binding in self.bindings.unresolved():
            analysis, bound = binding.analysis, binding.bound
            raise analysis.fail(
                bound.parameter,
                f"cannot resolve {display(bound.target)}: not a URL placeholder, a scalar,"
                " a model, an UploadFile or a provided type; add a marker (Query, Form,"
                f" File, Body, Header, Cookie, Depends) or app.provide({display(bound.target)},"
                " factory)",
                bound.owner,
            )

    async def startup(self) -> None:
        self.check()
        await super().startup()

    async def shutdown(self) -> None:
        await super().shutdown()
        retired, self.retired = self.retired, []
        for singleton in retired:
            await close_singleton(singleton)
        for registration in self.providers.values():
            if registration.singleton is not None:
                await close_singleton(registration.singleton)

    def add_view(self, call: RouteCall, caller: FrameType) -> None:
        self.register(call, dict(caller.f_locals))

    def include(self, router: Router, prefix: str = "") -> None:
        """Register the routes of `router` (and of the routers it includes)."""
        for entry in router.entries_under(prefix):
            self.register(entry, entry.localns)

    def register(self, call: RouteCall, localns: dict[str, Any]) -> RouteRecord:
        """`route()`'s work: checks, analysis of each handler, `add_route`."""
        path, view, methods, protocol = call.path, call.view, call.methods, call.protocol
        lazy_body, extras = call.lazy_body, dict(call.extras)
        typed = extras.pop("typed", None)
        guards = checks.check_guards(path, view, extras.pop("dependencies", ()))
        checks.check_keywords(path, view, extras)
        checks.check_methods(path, view, methods)
        checks.check_placeholder_types(path, view)
        handlers = self.collect_handlers(view, methods)
        wanted = ["GET"] if protocol == "websocket" else handlers
        checks.check_duplicates(path, view, wanted, self.registry)
        route = Registration(path, protocol, lazy_body, extras, typed, localns, guards)
        endpoints = self.typed_handlers(handlers, route)
        return self.add_route(
            path, endpoints, view=view, protocol=protocol, lazy_body=lazy_body, **extras
        )

    def typed_handlers(
        self, handlers: dict[str, Handler], route: Registration
    ) -> dict[str, Handler]:
        """Each method's endpoint: one per distinct handler, knowing all its methods."""
        groups: list[tuple[Handler, set[str]]] = []
        for method, handler in handlers.items():
            for known, names in groups:
                if known == handler:
                    names.add(method)
                    break
            else:
                groups.append((handler, {method}))
        result: dict[str, Handler] = {}
        for handler, names in groups:
            endpoint = self.typed_handler(handler, frozenset(names), route)
            for method in names:
                result[method] = endpoint
        return result

    def typed_handler(
        self, handler: Handler, methods: frozenset[str], route: Registration
    ) -> Handler:
        """The endpoint for `handler`, or `handler` itself if it is plain."""
        typed = route.typed
        websocket = route.protocol == "websocket"
        kind = handler_kind(handler, route)
        info = RouteInfo(route.path, frozenset() if websocket else methods, route.protocol)
        if typed is False or (typed is None and is_plain(handler)):
            checks.check_plain_placeholders(route.path, handler)
            if kind is Kind.FUNCTION:
                handler = plain_in_thread(handler)
            if not route.guards:
                return handler
            if websocket:
                raise RouteDefinitionError(
                    route.path,
                    qualname(handler),
                    None,
                    "dependencies=[...] on a plain websocket handler: annotate it"
                    " (ws: WebSocket) or pass typed=True",
                )
            plan, analysis = analyse_route(
                handler, info, self.providers, route.localns, route.guards, plain=True
            )
            self.bindings.add(analysis)
            return guarded(handler, plan)
        plan, analysis = analyse_route(
            handler, info, self.providers, route.localns, route.guards
        )
        self.bindings.add(analysis)
        status = cast(RouteOptions, route.extras).get("status")
        call = typed_in_thread(handler) if kind is Kind.FUNCTION else handler
        endpoint = make_endpoint(
            call,
            plan,
            status=int(status) if status is not None else None,
            load_body=route.lazy_body and plan.reads_body,
            websocket=websocket,
        )
        endpoint.__name__ = getattr(handler, "__name__", endpoint.__name__)
        endpoint.__qualname__ = getattr(handler, "__qualname__", endpoint.__qualname__)
        endpoint.__doc__ = getattr(handler, "__doc__", None)
        endpoint.__wrapped__ = handler  # type: ignore[attr-defined]
        self.plans[endpoint] = plan
        return endpoint


def handler_kind(handler: Handler, route: Registration) -> Kind:
    """Coroutine functions run on the loop, plain functions in a worker thread."""
    if inspect.iscoroutinefunction(handler):  # functools.partial of one too
        return Kind.COROUTINE
    kind = kind_of(handler)
    if kind in (Kind.GENERATOR, Kind.ASYNC_GENERATOR):
        raise RouteDefinitionError(
            route.path,
            qualname(handler),
            None,
            f"a handler cannot be a {kind.value} function: make it async def and"
            " return an async generator to stream a body",
        )
    if kind is Kind.FUNCTION and route.protocol == "websocket":
        raise RouteDefinitionError(
            route.path, qualname(handler), None, "a websocket handler must be async def"
        )
    return kind


def typed_in_thread(handler: Callable[..., Any]) -> Handler:
    """A synchronous typed handler, called in a worker thread (as FastAPI does)."""

    async def call(**kwargs: Any) -> Any:
        result = await asyncio.to_thread(handler, **kwargs)
        if inspect.isawaitable(result):  # a sync wrapper of a coroutine function
            result = await result
        return result

    return call


def plain_in_thread(handler: Callable[..., Any]) -> Handler:
    """A synchronous plain handler, called in a worker thread."""

    @functools.wraps(handler)
    async def endpoint(request: Any, response: Any, **vars: str) -> None:
        result = await asyncio.to_thread(handler, request, response, **vars)
        if inspect.isawaitable(result):  # a sync wrapper of a coroutine function, as Roll allowed
            await result

    return endpoint
