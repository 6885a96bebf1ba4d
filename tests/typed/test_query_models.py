"""`Annotated[Model, Query()]` / `Annotated[Model, Form()]`: one field per parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from roll.testing import Client
from roll.typed import Form, Query, TypedRoll

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


class Filters(BaseModel):
    page: int = Field(1, ge=1)
    tags: list[str] = []
    active: bool | None = None
    since: date | None = None
    sort: Literal["name", "price"] = "name"
    max_price: float | None = Field(None, alias="max-price")


@dataclass
class Login:
    username: str
    remember: bool = False
    scopes: list[int] = field(default_factory=list)


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/items")
    async def items(filters: Annotated[Filters, Query()]) -> Filters:
        return filters

    @app.route("/login", methods=["POST"])
    async def login(form: Annotated[Login, Form()]) -> Login:
        return form

    return app


async def test_model_from_the_query(client: Client) -> None:
    response = await client.get(
        "/items?page=2&tags=a&tags=b&active=yes&since=2026-12-01&sort=price&max-price=9.5"
    )
    assert response.json() == {
        "page": 2,
        "tags": ["a", "b"],
        "active": True,  # the core's rule: yes/on/1/t/true
        "since": "2026-12-01",
        "sort": "price",
        "max-price": 9.5,  # rendered by alias
    }
    assert (await client.get("/items?active=null")).json()["active"] is None
    assert (await client.get("/items")).json()["page"] == 1


async def test_problems_name_the_parameter(client: Client) -> None:
    response = await client.get("/items?page=0&active=maybe&sort=size&max-price=x")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "errors": [  # in the order of the fields
            {
                "location": "query",
                "name": "page",
                "message": "Input should be greater than or equal to 1",
            },
            {"location": "query", "name": "active", "message": "Input should be a valid boolean"},
            {"location": "query", "name": "sort", "message": "Input should be 'name' or 'price'"},
            {"location": "query", "name": "max-price", "message": "Input should be a valid number"},
        ]
    }


async def test_dataclass_from_a_form(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    fields = [("username", "ann"), ("remember", "on"), ("scopes", "1"), ("scopes", "2")]
    response = await client.post("/login", fields)
    assert response.json() == {"username": "ann", "remember": True, "scopes": [1, 2]}
    response = await client.post("/login", {"remember": "off", "scopes": "x"})
    assert response.json() == {
        "errors": [
            {"location": "form", "name": "username", "message": "Field required"},
            {
                "location": "form",
                "name": "scopes",
                "message": "Item 0: Input should be a valid integer",
            },
        ]
    }
