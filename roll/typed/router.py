"""Routers: routes declared in a module, registered on an app by `app.include`.

    router = Router("/items", tags=["items"], dependencies=[Depends(verify_key)])

    @router.route("/{item_id}")
    async def show(item_id: int) -> Item: ...

    app.include(router, prefix="/api")      # GET /api/items/{item_id}

A router records its registrations and replays them on each `include`, so
the analysis (providers are per app) happens per app, and one router may be
included in several apps (e.g. one app per test). Routers include routers:
prefixes join, tags and dependencies accumulate (outer first), other extras
merge with the innermost winning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

from roll.decorator import RouteCall, RouteDecorator

from . import checks
from .markers import Depends

ACCUMULATED = ("tags", "dependencies")


@dataclass(frozen=True)
class Entry(RouteCall):
    """One `route()` call, as recorded (and, once flattened, with full path)."""

    localns: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Included:
    router: Router
    prefix: str


def as_list(value: Any) -> list[Any]:
    if isinstance(value, (str, Depends)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


class Router(RouteDecorator):
    def __init__(
        self,
        prefix: str = "",
        *,
        tags: Iterable[str] = (),
        dependencies: Iterable[Depends] = (),
        **extras: Any,
    ) -> None:
        checks.check_keywords(prefix or "/", f"Router({prefix!r})", extras)
        checks.check_guards(prefix or "/", f"Router({prefix!r})", dependencies)
        self.prefix = prefix
        self.extras: dict[str, Any] = dict(extras)
        if tags:
            self.extras["tags"] = as_list(tags)
        if dependencies:
            self.extras["dependencies"] = as_list(dependencies)
        self.entries: list[Entry | Included] = []

    def __repr__(self) -> str:
        return f"<Router {self.prefix!r} {len(self.entries)} entries>"

    def add_view(self, call: RouteCall, caller: FrameType) -> None:
        """`route(...)`, exactly `app.route(...)`: checked and analysed when included."""
        checks.check_keywords(self.prefix + call.path, call.view, call.extras)
        checks.check_methods(self.prefix + call.path, call.view, call.methods)
        extras, localns = dict(call.extras), dict(caller.f_locals)
        self.entries.append(
            Entry(call.path, call.view, call.methods, call.protocol, call.lazy_body, extras, localns)
        )

    def include(self, router: Router, prefix: str = "") -> None:
        """Routes of `router` under this one (registered when this one is)."""
        if router is self:
            raise ValueError("A router cannot include itself")
        self.entries.append(Included(router, prefix))

    def entries_under(self, prefix: str = "", seen: tuple[Router, ...] = ()) -> Iterator[Entry]:
        """The routes with full paths and merged extras, in declaration order."""
        if self in seen:
            raise ValueError(f"{self!r} includes itself (through {seen[-1]!r})")
        seen = (*seen, self)
        base = prefix + self.prefix
        for item in self.entries:
            if isinstance(item, Included):
                for entry in item.router.entries_under(item.prefix, seen):
                    yield self.merged(base, entry)
            else:
                yield self.merged(base, item)

    def merged(self, base: str, entry: Entry) -> Entry:
        extras = {**self.extras, **entry.extras}
        for name in ACCUMULATED:
            outer = self.extras.get(name)
            if outer is not None and name in entry.extras:
                inner = as_list(entry.extras[name])
                extras[name] = [*outer, *(item for item in inner if item not in outer)]
        return replace(entry, path=base + entry.path, extras=extras)
