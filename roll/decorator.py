"""`route(...)`: the decorator that registers a view, one signature for all.

The core app, the typed app and the typed router take the same arguments
and differ only in what registering means (`add_view`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

View = TypeVar("View")


@dataclass(frozen=True)
class RouteCall:
    """One `route(...)` call, with the view it decorated."""

    path: str
    view: Any
    methods: list[str] | None
    protocol: str
    lazy_body: bool
    extras: dict[str, Any]


class RouteDecorator:
    def route(
        self,
        path: str,
        methods: list[str] | None = None,
        protocol: str = "http",
        lazy_body: bool = False,
        **extras: Any,
    ) -> Callable[[View], View]:
        def register(view: View) -> View:
            # With the frame that registers: the typed layer resolves the
            # annotations of the view with the names local to it.
            call = RouteCall(path, view, methods, protocol, lazy_body, extras)
            self.add_view(call, sys._getframe(1))
            return view

        return register

    def add_view(self, call: RouteCall, caller: FrameType) -> None:
        raise NotImplementedError
