"""Plan data: what the analysis of a handler produces and the endpoints run.

Records only, no behaviour of either side: the plan of a callable
(`Plan`: extractors, dependencies, URL values, the response contract), the
route it was made for (`RouteInfo`), what it reads (`Input`, for OpenAPI),
provider registrations (`Provided`, `Singleton`), the dependency records the
run time reads per request (`Dependency`) and the analysis context kept to
rebind them later (`Analysis`, `Bound`, for `app.override` and a later
`app.provide`). The analysis (`analysis.py`, `sources.py`) builds them; the
run time (`extractors.py`, `dependencies.py`, `endpoint.py`, `guards.py`)
reads them and never imports the analysis.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from roll import Request, Response, WSProtocol

from .contract import Renderer
from .errors import RouteDefinitionError
from .returns import render
from .typeinfo import TypeInfo

# A parameter's value from `(request, response, url_vars)`, built once per
# parameter at registration; it raises `errors.Invalid` on wrong input. On
# a websocket route, `response` is the core's `WSProtocol`.
Extractor = Callable[[Request, Response | WSProtocol, dict[str, str]], Any]

MISSING: Any = object()  # no default


@dataclass(frozen=True)
class Input:
    """One value a plan reads from the request, for the OpenAPI document."""

    location: str  # path, query, header, cookie, form, file or body
    name: str  # the name looked up: the alias, the header's name
    info: TypeInfo
    default: Any  # MISSING when there is none


@dataclass(frozen=True)
class Plan:
    """What to run for one callable: `(name, extractor)` pairs, then
    `(name, dependency)` pairs, then the URL values passed to `**kwargs`.
    `inputs` describes what its own extractors read (not its dependencies')."""

    extractors: tuple[tuple[str, Extractor], ...] = ()
    dependencies: tuple[tuple[str, Dependency], ...] = ()
    extra_vars: tuple[str, ...] = ()
    reads_body: bool = False  # JSON, form or file, anywhere in the tree
    # The route's `dependencies=[Depends(f), ...]`: run first, values discarded.
    guards: tuple[Dependency, ...] = ()
    returns: Any = inspect.Parameter.empty  # the return annotation
    render: Renderer = render  # (response, result): the response contract
    inputs: tuple[Input, ...] = ()


@dataclass(frozen=True)
class RouteInfo:
    """What the analysis needs to know about the route being registered."""

    path: str
    methods: frozenset[str] = frozenset(("GET",))
    protocol: str = "http"
    app_scope: bool = False  # an app-level singleton: no request data at all

    @property
    def placeholders(self) -> tuple[str, ...]:
        return placeholders(self.path)

    @property
    def websocket(self) -> bool:
        return self.protocol == "websocket"


def scan_placeholders(path: str) -> list[tuple[int, int, str, str]]:
    """`(start, end, name, spec)` of each `{name}` / `{name:type}` /
    `{name:regex}` placeholder: `path[start:end]` is the whole `{...}`."""
    found: list[tuple[int, int, str, str]] = []
    depth = start = 0
    for index, char in enumerate(path):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                name, _, spec = path[start + 1 : index].partition(":")
                found.append((start, index + 1, name.strip(), spec.strip()))
    return found


def placeholders(path: str) -> tuple[str, ...]:
    """The names of the URL placeholders of `path`, in order."""
    return tuple(name for _, _, name, _ in scan_placeholders(path))


class Kind(Enum):
    """How a provider is called, and whether it has a cleanup to run."""

    FUNCTION = "function"
    COROUTINE = "coroutine"
    GENERATOR = "generator"
    ASYNC_GENERATOR = "async generator"


@dataclass(eq=False)
class Dependency:
    """A provider bound to the plan of its own parameters (for one route).

    The endpoint reads these fields per request; `app.override` and a later
    `app.provide` re-point them (overrides.py)."""

    provider: Callable[..., Any]
    plan: Plan
    kind: Kind
    singleton: Singleton | None = None


@dataclass(eq=False)
class Singleton:
    """An app-level provider, made once at first use and kept
    (`dependencies.singleton_value`), finished at shutdown."""

    provider: Callable[..., Any]
    plan: Plan
    kind: Kind
    value: Any = None
    ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    exits: list[Any] = field(default_factory=list)


@dataclass(eq=False)
class Provided:
    """An `app.provide(type, factory)` registration."""

    factory: Callable[..., Any]
    singleton: Singleton | None = None


@dataclass(eq=False)
class Bound:
    """A dependency built for `target`: a `Depends` provider, or a type
    resolved through `app.provide` (`provided`). `parameter` names it."""

    target: Any
    dependency: Dependency
    provided: bool
    parameter: str
    owner: str  # the function whose parameter it is


@dataclass
class BodyUse:
    kind: str  # "json", "form" or "file"
    where: str  # "parameter 'x' of handler"


@dataclass
class Analysis:
    """State shared by the whole tree of one handler: the route, the app's
    providers, the URL values used, the body sources and the providers met.
    Kept with the route's dependencies, to analyse a replacement in the
    same context (overrides.py)."""

    route: RouteInfo
    handler: str
    providers: dict[Any, Provided]
    used_vars: set[str] = field(default_factory=set)
    bodies: list[BodyUse] = field(default_factory=list)
    dependencies: dict[Any, Dependency] = field(default_factory=dict)
    stack: list[Any] = field(default_factory=list)
    localns: dict[str, Any] | None = None  # the registering frame's locals
    # Every dependency built, by what it stands for: the app rebinds them
    # for `app.override()` and a later `app.provide()` (see overrides.py).
    bound: list[Bound] = field(default_factory=list)
    # (type, parameter, owner) of models read as the body for want of a
    # provider: a later `app.provide` of that type is refused.
    inferred_bodies: list[tuple[Any, str, str]] = field(default_factory=list)

    def fail(
        self, parameter: str | None, reason: str, owner: str | None = None
    ) -> RouteDefinitionError:
        if owner and owner != self.handler:
            reason = f"{reason} (in provider {owner})"
        return RouteDefinitionError(self.route.path, self.handler, parameter, reason)


def qualname(func: Any) -> str:
    func = getattr(func, "__func__", func)
    return getattr(func, "__qualname__", None) or repr(func)


def display(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)
