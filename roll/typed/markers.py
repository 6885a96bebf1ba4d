"""Source markers: `Annotated` metadata telling where a parameter comes from.

    async def view(page: Annotated[int, Query()], token: Annotated[str, Header(alias="X-Token")])

The markers are plain values: mypy sees only the annotated type (`int`, `str`).
A marker class may also be used bare (`Annotated[int, Query]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Source:
    """Base of the markers that read one named value from the request."""

    alias: str | None = None
    location: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Path(Source):
    """A URL placeholder (the default for a parameter named like one)."""

    location: ClassVar[str] = "path"


@dataclass(frozen=True, slots=True)
class Query(Source):
    """A query string value (the default for scalar types)."""

    location: ClassVar[str] = "query"


@dataclass(frozen=True, slots=True)
class Form(Source):
    """A field of an urlencoded or multipart body."""

    location: ClassVar[str] = "form"


@dataclass(frozen=True, slots=True)
class File(Source):
    """An uploaded file of a multipart body (the default for `UploadFile`)."""

    location: ClassVar[str] = "file"


@dataclass(frozen=True, slots=True)
class Header(Source):
    """A request header. Without alias, `x_request_id` reads `X-Request-Id`."""

    location: ClassVar[str] = "header"


@dataclass(frozen=True, slots=True)
class Cookie(Source):
    """A request cookie."""

    location: ClassVar[str] = "cookie"


@dataclass(frozen=True, slots=True)
class Body:
    """The whole JSON body, validated from the raw bytes (the default for
    pydantic models, dataclasses and TypedDicts)."""

    location: ClassVar[str] = "body"


Json = Body


@dataclass(frozen=True, slots=True)
class Depends:
    """The value returned by `provider`, itself resolved by the same rules.

    The provider may be a function, a coroutine function, or a (async)
    generator function: the code after its `yield` runs once the handler is
    done, also when it failed. A provider runs at most once per request.
    """

    provider: Callable[..., Any]


Marker = Source | Body | Depends
MARKER_CLASSES: tuple[type, ...] = (Source, Body, Depends)
