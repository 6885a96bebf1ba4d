"""Bad input: one 400 listing every problem, as JSON, reshapable by the error hook."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

import pytest

from roll import HttpError, Request, Response
from roll.testing import Client
from roll.typed import Cookie, Header, InvalidRequest, Problem, TypedRoll

from typed.support import Item

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/shops/{shop_id}/items", methods=["POST"])
    async def add_item(
        shop_id: int,
        item: Item,
        dry_run: bool = False,
        token: Annotated[str, Header(alias="X-Token")] = "",
        lang: Annotated[str, Cookie()] = "en",
    ) -> Item:
        return item

    @app.route("/manual")
    async def manual(page: int = 1) -> None:
        raise InvalidRequest([{"location": "query", "name": "page", "message": "too far"}])

    @app.route("/crash")
    async def crash(page: int = 1) -> None:
        raise RuntimeError("boom")

    @app.route("/http-error")
    async def http_error(page: int = 1) -> None:
        raise HttpError(HTTPStatus.CONFLICT, "taken")

    return app


async def test_every_problem_at_once(client: Client) -> None:
    response = await client.post("/shops/abc/items?dry_run=perhaps", {"price": "free"})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.body) == {
        "errors": [
            {"location": "path", "name": "shop_id", "message": "Input should be a valid integer"},
            {"location": "body", "name": "name", "message": "Field required"},
            {
                "location": "body",
                "name": "price",
                "message": "Input should be a valid number, unable to parse string as a number",
            },
            {"location": "query", "name": "dry_run", "message": "Input should be a valid boolean"},
        ]
    }


async def test_valid_request(client: Client) -> None:
    response = await client.post("/shops/1/items", {"name": "hat", "price": 3})
    assert response.status == HTTPStatus.OK
    assert json.loads(response.body) == {"name": "hat", "price": 3.0}


async def test_error_hook_receives_the_error(app: TypedRoll, client: Client) -> None:
    seen: list[Any] = []

    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        seen.append(error)

    response = await client.post("/shops/x/items", {"name": "a", "price": 1})
    assert response.status == HTTPStatus.BAD_REQUEST
    (error,) = seen
    assert isinstance(error, InvalidRequest)
    assert error.status == HTTPStatus.BAD_REQUEST
    assert error.problems == [
        {"location": "path", "name": "shop_id", "message": "Input should be a valid integer"}
    ]
    assert json.loads(response.body) == {"errors": error.problems}


async def test_error_hook_can_reshape(app: TypedRoll, client: Client) -> None:
    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        if isinstance(error, InvalidRequest):
            response.status = HTTPStatus.UNPROCESSABLE_ENTITY
            response.json = {"status": error.status, "detail": [p["name"] for p in error.problems]}

    response = await client.post("/shops/x/items", {"price": 1})
    assert response.status == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.body) == {"status": 400, "detail": ["shop_id", "name"]}


async def test_invalid_request_raised_by_a_handler(client: Client) -> None:
    response = await client.get("/manual")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.body) == {
        "errors": [{"location": "query", "name": "page", "message": "too far"}]
    }


async def test_other_errors_are_untouched(client: Client) -> None:
    response = await client.get("/crash")
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"  # the issue-9 default
    response = await client.get("/http-error")
    assert response.status == HTTPStatus.CONFLICT
    assert response.body == b"taken"


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"null", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"name": "a", "price": 1}', "application/x-www-form-urlencoded"),
        (b'{"name": "a", "price": 1}', "multipart/form-data; boundary=x"),
        (b"", "application/json"),
    ],
)
async def test_bad_bodies_are_400_never_500(client: Client, body: bytes, content_type: str) -> None:
    response = await client.post("/shops/1/items", body=body, content_type=content_type)
    assert response.status == HTTPStatus.BAD_REQUEST
    errors = json.loads(response.body)["errors"]
    assert errors and all(error["location"] == "body" for error in errors)


def test_problems_are_deduplicated() -> None:
    problem: Problem = {"location": "body", "name": "form", "message": "Unparsable"}
    error = InvalidRequest([problem, problem])
    assert error.problems == [problem]
    assert json.loads(error.message) == {"errors": [problem]}


# The core's limits keep their 413 on typed routes.


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from roll.multipart import Multipart

    monkeypatch.setattr(Request, "MAX_JSON_SIZE", 100)
    monkeypatch.setattr(Request, "MAX_FORM_FIELDS", 3)
    monkeypatch.setattr(Multipart, "MAX_PARTS", 3)


async def test_json_size_limit(app: TypedRoll, client: Client, limits: None) -> None:
    item = {"name": "x" * 200, "price": 1}
    response = await client.post("/shops/1/items", item)
    assert response.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.body == b"JSON body too large (limit: 100 bytes)"
    assert (await client.post("/shops/1/items", {"name": "x", "price": 1})).status == 200


async def test_form_limits(app: TypedRoll, client: Client, limits: None) -> None:
    from roll.typed import Form

    @app.route("/form", methods=["POST"])
    async def form(a: Annotated[str, Form()] = "") -> str:
        return a

    fields = {"a": "1", "b": "2", "c": "3", "d": "4"}
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post("/form", fields)
    assert response.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.body == b"Too many form fields (limit: 3)"
    client.content_type = "multipart/form-data"
    response = await client.post("/form", fields)
    assert response.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert b"limit: 3" in response.body
    response = await client.post("/form", {"a": "ok"})
    assert response.body == b"ok"


async def test_problems_never_empty() -> None:
    """Problems are collected by running the extractors again: if the second
    run does not fail, the first failure is still reported."""
    from roll.multidict import Form as CoreForm
    from roll.typed import Form

    class FlakyRequest(Request):
        __slots__ = ()
        failed: list[bool] = []

        @property
        def form(self) -> CoreForm:
            if not self.failed:
                self.failed.append(True)
                raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable once")
            return CoreForm()

    app = TypedRoll()
    app.Request = FlakyRequest

    @app.route("/", methods=["POST"])
    async def view(a: Annotated[str, Form()] = "") -> str:
        return a

    response = await Client(app).post("/", body=b"x")
    assert json.loads(response.body) == {
        "errors": [{"location": "body", "name": "form", "message": "Unparsable once"}]
    }
