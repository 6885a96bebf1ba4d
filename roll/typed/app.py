"""`TypedRoll`: a drop-in `Roll` whose handlers take typed parameters."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from roll import Request, Response, Roll
from roll.app import Handler
from roll.http import RouteOptions

from .dependencies import Singleton, kind_of
from .endpoint import make_endpoint
from .plan import Plan, Provided, RouteInfo, plan_handler, plan_singleton

View = TypeVar("View")
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

    `route(..., typed=None|True|False, status=201, ...)`: `status` is the
    success status of typed handlers; `typed` forces the mode (by default a
    handler with no annotated parameter is a plain Roll handler).
    """

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[Any, Provided] = {}
        # The plan of each typed endpoint in `registry` (plain handlers have none).
        self.plans: dict[Handler, Plan] = {}

    def provide(self, tp: type[T], factory: Callable[..., Any], *, singleton: bool = False) -> None:
        """Resolve parameters annotated with `tp` by calling `factory`.

        The factory's own parameters are resolved like a handler's; it may be
        sync, async, or a (async) generator. Per request by default; with
        `singleton=True` it runs once, at first use, takes no request data,
        and a generator factory is finished at shutdown. Register providers
        before the routes that use them.
        """
        registration = Provided(factory)
        if singleton:
            plan = plan_singleton(factory, self.providers, dict(sys._getframe(1).f_locals))
            registration.singleton = Singleton(factory, plan, kind_of(factory))
        self.providers[tp] = registration

    async def shutdown(self) -> None:
        await super().shutdown()
        for registration in self.providers.values():
            if registration.singleton is not None:
                await registration.singleton.close()

    def route(
        self,
        path: str,
        methods: list[str] | None = None,
        protocol: str = "http",
        lazy_body: bool = False,
        **extras: Any,
    ) -> Callable[[View], View]:
        typed = extras.pop("typed", None)

        def register(view: View) -> View:
            localns = dict(sys._getframe(1).f_locals)
            handlers = self.collect_handlers(view, methods)
            route = Registration(path, protocol, lazy_body, extras, typed, localns)
            endpoints = self.typed_handlers(handlers, route)
            self.add_route(
                path, endpoints, view=view, protocol=protocol, lazy_body=lazy_body, **extras
            )
            return view

        return register

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
        if typed is False or (typed is None and is_plain(handler)):
            return handler
        websocket = route.protocol == "websocket"
        info = RouteInfo(route.path, frozenset() if websocket else methods, route.protocol)
        plan = plan_handler(handler, info, self.providers, route.localns)
        status = cast(RouteOptions, route.extras).get("status")
        endpoint = make_endpoint(
            handler,
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
