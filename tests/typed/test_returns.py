"""Return values become the response body; a route extra sets the success status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pytest

from roll import Response
from roll.testing import Client
from roll.typed import TypedRoll

from typed.support import Item, Point

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/model", methods=["GET", "HEAD"])
    async def model(name: str = "hat") -> Item:
        return Item(name=name, price=1.5)

    @app.route("/dataclass")
    async def dataclass_() -> Point:
        return Point(1, 2)

    @app.route("/dict")
    async def dict_() -> dict[str, Any]:
        return {"status": HTTPStatus.ACCEPTED, "items": [Item(name="a", price=1)]}

    @app.route("/list")
    async def list_() -> list[int]:
        return [1, 2, 3]

    @app.route("/str")
    async def str_() -> str:
        return "héllo"

    @app.route("/bytes")
    async def bytes_() -> bytes:
        return b"\x00raw"

    @app.route("/none")
    async def none(response: Response) -> None:
        response.headers["Content-Type"] = "text/csv"
        response.body = "a,b"

    @app.route("/html")
    async def html(response: Response) -> str:
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        return "<p>hi</p>"

    @app.route("/items", methods=["POST"], status=201)
    async def create(item: Item) -> Item:
        return item

    @app.route("/override", status=201)
    async def override(response: Response, code: int = 202) -> None:
        response.status = code

    @app.route("/number")
    async def number() -> float:
        return 2.5

    @app.route("/not-numbers")
    async def not_numbers(ratio: float = 1.0) -> dict[str, Any]:
        return {"ratio": ratio, "all": [ratio, float("-inf")], "item": Item(name="x", price=ratio)}

    return app


async def test_model(client: Client) -> None:
    response = await client.get("/model?name=cap")
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.body == b'{"name":"cap","price":1.5}'


async def test_dataclass(client: Client) -> None:
    response = await client.get("/dataclass")
    assert json.loads(response.body) == {"x": 1, "y": 2}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_dict_with_nested_models_and_status(client: Client) -> None:
    response = await client.get("/dict")
    assert json.loads(response.body) == {"status": 202, "items": [{"name": "a", "price": 1.0}]}


async def test_list(client: Client) -> None:
    assert (await client.get("/list")).body == b"[1,2,3]"


@pytest.mark.parametrize(
    "path, body, content_type",
    [
        ("/number", b"2.5", "application/json; charset=utf-8"),  # JSON
        ("/str", "héllo".encode(), "text/plain; charset=utf-8"),  # text
        ("/bytes", b"\x00raw", None),  # raw, no Content-Type added
        ("/none", b"a,b", "text/csv"),  # None: the response as the handler left it
        ("/html", b"<p>hi</p>", "text/html; charset=utf-8"),  # the handler's Content-Type kept
    ],
)
async def test_return_value_renders(
    client: Client, path: str, body: bytes, content_type: str | None
) -> None:
    response = await client.get(path)
    assert response.body == body
    assert response.headers.get("Content-Type") == content_type


async def test_nan_and_infinity_are_null(client: Client) -> None:
    # `?ratio=nan` is a float by the core's rule; NaN is not JSON (found by fuzzing).
    response = await client.get("/not-numbers?ratio=nan")
    assert json.loads(response.body, parse_constant=lambda constant: 1 / 0) == {
        "ratio": None,
        "all": [None, None],
        "item": {"name": "x", "price": None},
    }


async def test_success_status(client: Client) -> None:
    response = await client.post("/items", {"name": "a", "price": 2})
    assert response.status == HTTPStatus.CREATED
    assert json.loads(response.body) == {"name": "a", "price": 2.0}
    # Not on errors.
    assert (await client.post("/items", {"name": "a"})).status == HTTPStatus.BAD_REQUEST


async def test_handler_may_override_the_status(client: Client) -> None:
    assert (await client.get("/override")).status == HTTPStatus.ACCEPTED


async def test_status_extra_is_in_the_payload(app: TypedRoll, client: Client) -> None:
    seen: list[Any] = []

    @app.listen("request")
    async def on_request(request: Any, response: Any) -> None:
        seen.append(request.route.payload["status"])

    await client.post("/items", {"name": "a", "price": 2})
    assert seen == [201]


async def test_head_has_no_body(client: Client) -> None:
    response = await client.head("/model")
    assert response.status == HTTPStatus.OK
    assert client.protocol is not None
    assert client.protocol.transport.data.endswith(b"\r\n\r\n")
