"""Multidicts: one key, several values, with casting getters that answer 400."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeVar

from .http import HttpError

T = TypeVar("T")

# A sentinel distinct from None: `get(key, None)` is a valid default.
NONE: Any = object()

TRUE_STRINGS = frozenset(("t", "true", "yes", "1", "on"))
FALSE_STRINGS = frozenset(("f", "false", "no", "0", "off"))
NONE_STRINGS = frozenset(("n", "none", "null"))


class Multidict(dict[str, list[Any]]):
    """Maps a key to the list of its values."""

    def get(self, key: str, default: Any = NONE) -> Any:
        # `list()`'s lookup, inlined: a Python call less per value read.
        try:
            values = self[key]
        except KeyError:
            return missing(key, default)
        return values[0]

    def list(self, key: str, default: Any = NONE) -> Any:
        try:
            return self[key]
        except KeyError:
            return missing(key, default)


def missing(key: str, default: Any) -> Any:
    """What reading an absent key gives: the default, else a 400."""
    if default is NONE:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"Missing '{key}' key")
    return default


class Query(Multidict):
    """Query string values, with getters that cast."""

    def _cast(self, key: str, default: Any, caster: Any, kind: str) -> Any:
        values = self.list(key, default)
        if values is default:
            return default
        try:
            return caster(values[0])
        except (ValueError, TypeError):
            raise HttpError(
                HTTPStatus.BAD_REQUEST, f"Key '{key}' must be castable to {kind}"
            ) from None

    def bool(self, key: str, default: Any = NONE) -> Any:
        return self._cast(key, default, to_bool, "bool")

    def int(self, key: str, default: Any = NONE) -> Any:
        return self._cast(key, default, int, "int")

    def float(self, key: str, default: Any = NONE) -> Any:
        return self._cast(key, default, float, "float")


def to_bool(value: str) -> bool | None:
    lowered = value.lower()
    if lowered in TRUE_STRINGS:
        return True
    if lowered in FALSE_STRINGS:
        return False
    if lowered in NONE_STRINGS:
        return None
    raise ValueError(f"{value!r} is not a boolean")


class Form(Query):
    """Urlencoded or multipart form fields."""


class Files(Multidict):
    """Uploaded files of a multipart body."""
