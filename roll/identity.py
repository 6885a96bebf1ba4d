"""Equality by identity, for the dicts that are objects (the app, the request)."""

from __future__ import annotations


class Identity:
    """A dict compares by content; an app or a request is only equal to itself."""

    __slots__ = ()

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other
