"""Late binding of providers: `app.override()` and a later `app.provide()`.

Each route's plan holds its own `Dependency` objects, which the endpoint
reads per request (`provider`, `plan`, `kind`, `singleton`). This index
knows, for each target (a `Depends` provider, or a type served by
`app.provide`), every dependency built for it and the analysis of its route.
Overriding a target re-points those dependencies at the replacement
(analysed in each route's context, so it may read the request like any
provider) and restores them on exit. So a request pays nothing for the
feature: no lookup, override or not; the work is done at enter and exit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from .analysis import bind
from .plan import Analysis, Bound, Dependency, Kind, Plan, Provided, Singleton, display

State = tuple[Callable[..., Any], Plan, Kind, Singleton | None]


def state_of(dependency: Dependency) -> State:
    return dependency.provider, dependency.plan, dependency.kind, dependency.singleton


def set_state(dependency: Dependency, state: State) -> None:
    dependency.provider, dependency.plan, dependency.kind, dependency.singleton = state


@dataclass(eq=False)
class Binding:
    bound: Bound
    analysis: Analysis  # of the route, to analyse a replacement in its context
    base: State  # what it runs when nothing is overridden


class Bindings:
    """Per app: every dependency of every route, by target."""

    def __init__(self, providers: dict[Any, Provided]) -> None:
        self.providers = providers
        self.index: dict[Any, list[Binding]] = {}
        self.active: dict[Any, list[Callable[..., Any]]] = {}  # target -> replacements
        # Model types some route reads as its JSON body: type -> (analysis, parameter, owner).
        self.bodies: dict[Any, tuple[Analysis, str, str]] = {}

    def add(self, analysis: Analysis) -> None:
        """Index the dependencies a route analysis built (at registration)."""
        for tp, parameter, owner in analysis.inferred_bodies:
            self.bodies.setdefault(tp, (analysis, parameter, owner))
        for bound in analysis.bound:
            binding = Binding(bound, analysis, state_of(bound.dependency))
            self.index.setdefault(bound.target, []).append(binding)
            replacements = self.active.get(bound.target)
            if replacements:
                self.point(binding, replacements[-1])

    def point(self, binding: Binding, provider: Callable[..., Any] | Singleton) -> None:
        # A fresh analysis sharing the route's dependencies (so a provider
        # used by the replacement and by the handler still runs once).
        fresh = replace(binding.analysis, bodies=[], stack=[], bound=[], inferred_bodies=[])
        fresh.used_vars = set(fresh.used_vars)
        bound = binding.bound
        bind(bound.dependency, provider, bound.parameter, fresh, fresh.handler)
        self.add(fresh)

    def provide(self, tp: Any, registration: Provided) -> None:
        """`app.provide(tp, ...)`: re-point the routes already using `tp`."""
        provider = registration.singleton or registration.factory
        for binding in self.index.get(tp, ()):
            if binding.bound.provided:
                self.point(binding, provider)
                binding.base = state_of(binding.bound.dependency)
                replacements = self.active.get(tp)
                if replacements:
                    self.point(binding, replacements[-1])

    def check_provide(self, tp: Any) -> None:
        """Before `app.provide(tp, ...)`: no route took `tp` for the body."""
        if tp in self.bodies:
            analysis, parameter, owner = self.bodies[tp]
            raise analysis.fail(
                parameter,
                f"{display(tp)} is read as the JSON body here, for want of a provider when"
                f" the route was registered: call app.provide({display(tp)}, ...) before"
                " registering this route, or mark the parameter Body() if it is the body",
                owner,
            )

    @contextmanager
    def override(self, target: Any, replacement: Callable[..., Any]) -> Iterator[None]:
        if not callable(replacement):
            raise TypeError(f"override({display(target)}, ...) needs a callable, got {replacement!r}")
        stack = self.active.setdefault(target, [])
        stack.append(replacement)
        try:
            for binding in list(self.index.get(target, ())):
                self.point(binding, replacement)
        except BaseException:
            self.pop(target, replacement)
            raise
        try:
            yield
        finally:
            self.pop(target, replacement)

    def pop(self, target: Any, replacement: Callable[..., Any]) -> None:
        stack = self.active[target]
        stack.remove(replacement)
        if not stack:
            del self.active[target]
        for binding in list(self.index.get(target, ())):
            if stack:
                self.point(binding, stack[-1])
            else:
                set_state(binding.bound.dependency, binding.base)

    def unresolved(self) -> list[Binding]:
        """Routes using a type that no `app.provide` serves."""
        return [
            binding
            for target, bindings in self.index.items()
            if target not in self.providers and target not in self.active
            for binding in bindings
            if binding.bound.provided
        ]
