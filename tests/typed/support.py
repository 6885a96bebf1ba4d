"""Types and checks the typed-layer tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pytest

from pydantic import BaseModel
from typing_extensions import TypedDict

from roll.response import JSON_CONTENT_TYPE
from roll.typed import RouteDefinitionError, TypedRoll


class Item(BaseModel):
    name: str
    price: float


@dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


def problem_places(status: int, content_type: str | None, body: bytes | bytearray) -> list[tuple[str, str]]:
    """The (location, name) of each problem of a typed 400, checked to be one."""
    assert status == HTTPStatus.BAD_REQUEST
    assert content_type == JSON_CONTENT_TYPE
    return [(problem["location"], problem["name"]) for problem in json.loads(bytes(body))["errors"]]


def registration_error(app: TypedRoll, path: str, view: Any, **kwargs: Any) -> RouteDefinitionError:
    """What `app.route(path, **kwargs)(view)` refuses `view` with."""
    with pytest.raises(RouteDefinitionError) as info:
        app.route(path, **kwargs)(view)
    return info.value
