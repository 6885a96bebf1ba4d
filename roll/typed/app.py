"""`TypedRoll`: a drop-in `Roll` whose handlers take typed parameters."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from roll import Roll

from .dependencies import Singleton, kind_of
from .endpoint import make_endpoint
from .plan import Provided, RouteInfo, plan_handler, plan_singleton

View = TypeVar("View")
T = TypeVar("T")


@dataclass(frozen=True)
class Registering:
    """The route being registered, seen by `collect_handlers`."""

    path: str
    protocol: str
    lazy_body: bool
    extras: dict[str, Any] = field(default_factory=dict)
    typed: bool | None = None


def is_plain(handler: Callable[..., Any]) -> bool:
    """A plain Roll handler: none of its parameters is annotated.

    Such handlers are registered untouched, `(request, response, **vars)`.
    Pass `typed=True` / `typed=False` to `route()` to decide explicitly.
    """
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return True
    return all(param.annotation is param.empty for param in parameters)


class TypedRoll(Roll):
    """Roll, with handlers resolved from their signature at registration.

    `route(..., typed=None|True|False, status=201, ...)`: `status` is the
    success status of typed handlers; `typed` forces the mode (by default a
    handler with no annotated parameter is a plain Roll handler).
    """

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[Any, Provided] = {}
        self._registering: Registering | None = None

    def provide(
        self, tp: type[T], factory: Callable[..., Any], *, singleton: bool = False
    ) -> None:
        """Resolve parameters annotated with `tp` by calling `factory`.

        The factory's own parameters are resolved like a handler's; it may be
        sync, async, or a (async) generator. Per request by default; with
        `singleton=True` it runs once, at first use, takes no request data,
        and a generator factory is finished at shutdown. Register providers
        before the routes that use them.
        """
        registration = Provided(factory)
        if singleton:
            plan = plan_singleton(factory, self.providers)
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
        register = super().route(path, methods, protocol, lazy_body, **extras)

        def typed_register(view: View) -> View:
            previous = self._registering
            self._registering = Registering(path, protocol, lazy_body, extras, typed)
            try:
                return register(view)
            finally:
                self._registering = previous

        return typed_register

    def collect_handlers(
        self, view: Any, methods: list[str] | None
    ) -> dict[str, Callable[..., Awaitable[Any]]]:
        handlers = super().collect_handlers(view, methods)
        context = self._registering
        if context is None:
            return handlers
        # One endpoint per distinct handler, knowing all its methods.
        groups: list[tuple[Callable[..., Awaitable[Any]], set[str]]] = []
        for method, handler in handlers.items():
            for known, names in groups:
                if known == handler:
                    names.add(method)
                    break
            else:
                groups.append((handler, {method}))
        result: dict[str, Callable[..., Awaitable[Any]]] = {}
        for handler, names in groups:
            endpoint = self.typed_handler(handler, frozenset(names), context)
            for method in names:
                result[method] = endpoint
        return result

    def typed_handler(
        self,
        handler: Callable[..., Awaitable[Any]],
        methods: frozenset[str],
        context: Registering,
    ) -> Callable[..., Awaitable[Any]]:
        """The endpoint for `handler`, or `handler` itself if it is plain."""
        typed = context.typed
        if typed is False or (typed is None and is_plain(handler)):
            return handler
        websocket = context.protocol == "websocket"
        route = RouteInfo(context.path, frozenset() if websocket else methods, context.protocol)
        plan = plan_handler(handler, route, self.providers)
        status = context.extras.get("status")
        endpoint = make_endpoint(
            handler,
            plan,
            status=int(status) if status is not None else None,
            load_body=context.lazy_body and plan.reads_body,
            websocket=websocket,
        )
        endpoint.__name__ = getattr(handler, "__name__", endpoint.__name__)
        endpoint.__qualname__ = getattr(handler, "__qualname__", endpoint.__qualname__)
        endpoint.__doc__ = getattr(handler, "__doc__", None)
        endpoint.__wrapped__ = handler  # type: ignore[attr-defined]
        return endpoint
