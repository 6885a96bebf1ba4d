"""Every source of a typed parameter: URL, query, form, files, JSON, header, cookie."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

import pytest

from roll import Request, Response
from roll.testing import Client, LiveClient
from roll.typed import Body, Cookie, File, Form, Header, Json, Path, Query, TypedRoll, UploadFile

from typed.support import Item, Movie, Point

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/shops/{shop_id}/items/{slug}")
    async def url(shop_id: int, slug: str) -> dict[str, Any]:
        return {"shop_id": shop_id, "slug": slug}

    @app.route("/alias/{id}")
    async def alias(item_id: Annotated[int, Path(alias="id")]) -> int:
        return item_id

    @app.route("/query")
    async def query(page: int, q: str = "", flag: bool = False) -> dict[str, Any]:
        return {"page": page, "q": q, "flag": flag}

    @app.route("/query/alias")
    async def query_alias(page_size: Annotated[int, Query(alias="page-size")] = 10) -> int:
        return page_size

    @app.route("/form", methods=["POST"])
    async def form(
        name: Annotated[str, Form()],
        age: Annotated[int, Form()],
        tags: Annotated[list[str], Form()] = [],
    ) -> dict[str, Any]:
        return {"name": name, "age": age, "tags": tags}

    @app.route("/upload", methods=["POST"])
    async def upload(
        doc: UploadFile,
        title: Annotated[str, Form()],
        extra: Annotated[UploadFile | None, File()] = None,
    ) -> dict[str, Any]:
        return {
            "title": title,
            "filename": doc.filename,
            "content_type": doc.content_type,
            "content": doc.content.decode(),
            "size": doc.size,
            "extra": extra.filename if extra else None,
        }

    @app.route("/uploads", methods=["POST"])
    async def uploads(docs: Annotated[list[UploadFile], File(alias="doc")]) -> list[str]:
        return [doc.read().decode() for doc in docs]

    @app.route("/json/model", methods=["POST"])
    async def model(item: Item) -> Item:
        return item

    @app.route("/json/dataclass", methods=["POST"])
    async def dataclass_(point: Point) -> Point:
        return point

    @app.route("/json/typeddict", methods=["POST"])
    async def typeddict(movie: Movie) -> Movie:
        return movie

    @app.route("/json/explicit", methods=["POST", "PUT"])
    async def explicit(data: Annotated[dict[str, int], Body()]) -> int:
        return sum(data.values())

    @app.route("/json/list", methods=["POST"])
    async def items(data: Annotated[list[Item], Json()]) -> int:
        return len(data)

    @app.route("/json/optional", methods=["POST"])
    async def optional(item: Item | None = None) -> str:
        return "none" if item is None else item.name

    @app.route("/header")
    async def header(
        user_agent: Annotated[str, Header()],
        request_id: Annotated[int, Header(alias="X-Request-Id")] = 0,
        accept: Annotated[list[str], Header()] = [],
    ) -> dict[str, Any]:
        return {"ua": user_agent, "id": request_id, "accept": accept}

    @app.route("/cookie")
    async def cookie(
        session: Annotated[str, Cookie()],
        count: Annotated[int, Cookie(alias="n")] = 0,
    ) -> dict[str, Any]:
        return {"session": session, "count": count}

    @app.route("/both/{name}", methods=["GET", "POST"])
    async def both(request: Request, response: Response, name: str, n: int = 1) -> None:
        response.headers["X-Method"] = request.method or ""
        response.body = name * n

    @app.route("/kwargs/{a}/{b}")
    async def kwargs(a: int, **rest: str) -> dict[str, Any]:
        return {"a": a, **rest}

    return app


async def test_url_values(client: Client) -> None:
    response = await client.get("/shops/42/items/hat")
    assert response.status == HTTPStatus.OK
    assert json.loads(response.body) == {"shop_id": 42, "slug": "hat"}


async def test_url_value_does_not_cast(client: Client) -> None:
    response = await client.get("/shops/abc/items/hat")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body) == {
        "errors": [
            {"location": "path", "name": "shop_id", "message": "Input should be a valid integer"}
        ]
    }


async def test_url_alias(client: Client) -> None:
    assert (await client.get("/alias/7")).body == b"7"


async def test_query_values(client: Client) -> None:
    response = await client.get("/query?page=2&q=hello&flag=yes")
    assert json.loads(response.body) == {"page": 2, "q": "hello", "flag": True}
    response = await client.get("/query?page=3")
    assert json.loads(response.body) == {"page": 3, "q": "", "flag": False}


async def test_query_blank_string_is_kept(client: Client) -> None:
    response = await client.get("/query?page=1&q=")
    assert json.loads(response.body)["q"] == ""


async def test_query_missing_required(client: Client) -> None:
    response = await client.get("/query")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"] == [
        {"location": "query", "name": "page", "message": "Field required"}
    ]


async def test_query_alias(client: Client) -> None:
    assert (await client.get("/query/alias?page-size=5")).body == b"5"
    assert (await client.get("/query/alias")).body == b"10"
    assert (await client.get("/query/alias?page_size=5")).body == b"10"


async def test_form_urlencoded(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post(
        "/form", [("name", "Ann"), ("age", "31"), ("tags", "a"), ("tags", "b")]
    )
    assert json.loads(response.body) == {"name": "Ann", "age": 31, "tags": ["a", "b"]}


async def test_form_multipart(client: Client) -> None:
    client.content_type = "multipart/form-data"
    response = await client.post("/form", {"name": "Bob", "age": "4"})
    assert json.loads(response.body) == {"name": "Bob", "age": 4, "tags": []}


async def test_form_errors(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post("/form", {"age": "old"})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"] == [
        {"location": "form", "name": "name", "message": "Field required"},
        {"location": "form", "name": "age", "message": "Input should be a valid integer"},
    ]


async def test_form_unparsable_body(client: Client) -> None:
    response = await client.post(
        "/form", body=b"--nope\r\nbroken", content_type="multipart/form-data"
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    errors = json.loads(response.body)["errors"]
    assert errors[0]["location"] == "body"


async def test_file_upload(client: Client) -> None:
    client.content_type = "multipart/form-data"
    response = await client.post(
        "/upload", {"title": "report"}, files={"doc": (b"hello", "report.txt")}
    )
    assert response.status == HTTPStatus.OK, response.body
    body = json.loads(response.body)
    assert body["title"] == "report"
    assert body["filename"] == "report.txt"
    assert body["content"] == "hello"
    assert body["size"] == 5
    assert isinstance(body["content_type"], str)
    assert body["extra"] is None


async def test_optional_file(client: Client) -> None:
    client.content_type = "multipart/form-data"
    response = await client.post(
        "/upload",
        {"title": "t"},
        files={"doc": (b"a", "a.txt"), "extra": (b"b", "b.png")},
    )
    assert json.loads(response.body)["extra"] == "b.png"


async def test_missing_file(client: Client) -> None:
    client.content_type = "multipart/form-data"
    response = await client.post("/upload", {"title": "t"}, files={"other": (b"a", "a.txt")})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"] == [
        {"location": "file", "name": "doc", "message": "Field required"}
    ]


async def test_several_files(client: Client) -> None:
    # The test client sends one file per field name: build the body by hand.
    boundary = "XyZ"
    parts = []
    for content in ("one", "two"):
        parts.append(
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="doc"; filename="{content}.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n{content}\r\n"
        )
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    response = await client.post(
        "/uploads", body=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert json.loads(response.body) == ["one", "two"]


async def test_json_model(client: Client) -> None:
    response = await client.post("/json/model", {"name": "hat", "price": 9.5})
    assert response.status == HTTPStatus.OK
    assert json.loads(response.body) == {"name": "hat", "price": 9.5}


async def test_json_model_errors(client: Client) -> None:
    response = await client.post("/json/model", {"price": "cheap"})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    errors = json.loads(response.body)["errors"]
    assert {"location": "body", "name": "name", "message": "Field required"} in errors
    assert any(error["name"] == "price" for error in errors)


async def test_json_dataclass(client: Client) -> None:
    response = await client.post("/json/dataclass", {"x": 1, "y": "2"})
    assert json.loads(response.body) == {"x": 1, "y": 2}


async def test_json_typeddict(client: Client) -> None:
    response = await client.post("/json/typeddict", {"title": "Alien", "year": 1979})
    assert json.loads(response.body) == {"title": "Alien", "year": 1979}
    bad = await client.post("/json/typeddict", {"title": "Alien"})
    assert json.loads(bad.body)["errors"] == [
        {"location": "body", "name": "year", "message": "Field required"}
    ]


async def test_json_explicit_body(client: Client) -> None:
    assert (await client.post("/json/explicit", {"a": 1, "b": 2})).body == b"3"
    assert (await client.put("/json/explicit", {"a": 1})).body == b"1"


async def test_json_list_of_models(client: Client) -> None:
    response = await client.post(
        "/json/list", [{"name": "a", "price": 1}, {"name": "b", "price": 2}]
    )
    assert response.body == b"2"
    bad = await client.post("/json/list", [{"name": "a", "price": 1}, {"name": "b"}])
    assert json.loads(bad.body)["errors"] == [
        {"location": "body", "name": "1.price", "message": "Field required"}
    ]


async def test_json_invalid(client: Client) -> None:
    response = await client.post("/json/model", body=b"{not json")
    assert response.status == HTTPStatus.BAD_REQUEST
    (error,) = json.loads(response.body)["errors"]
    assert error["location"] == "body"
    assert error["name"] == "item"
    assert "Invalid JSON" in error["message"]


async def test_json_missing_body(client: Client) -> None:
    response = await client.post("/json/model", body=b"")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"] == [
        {"location": "body", "name": "item", "message": "Field required"}
    ]


async def test_json_optional_body(client: Client) -> None:
    assert (await client.post("/json/optional", body=b"")).body == b"none"
    assert (await client.post("/json/optional", {"name": "x", "price": 1})).body == b"x"


async def test_json_wrong_content_type(client: Client) -> None:
    response = await client.post(
        "/json/model", body=b'{"name": "a", "price": 1}', content_type="text/plain"
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    (error,) = json.loads(response.body)["errors"]
    assert error["location"] == "body"
    assert "text/plain" in error["message"]


async def test_json_vendor_content_type(client: Client) -> None:
    response = await client.post(
        "/json/model",
        body=b'{"name": "a", "price": 1}',
        content_type="application/vnd.api+json",
    )
    assert response.status == HTTPStatus.OK


async def test_headers(client: Client) -> None:
    response = await client.get(
        "/header",
        headers={
            "User-Agent": "pytest",
            "X-Request-Id": "12",
            "Accept": "text/html, application/json",
        },
    )
    assert json.loads(response.body) == {
        "ua": "pytest",
        "id": 12,
        "accept": ["text/html", "application/json"],
    }


async def test_header_errors(client: Client) -> None:
    response = await client.get("/header", headers={"X-Request-Id": "abc"})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"] == [
        {"location": "header", "name": "user-agent", "message": "Field required"},
        {
            "location": "header",
            "name": "X-Request-Id",
            "message": "Input should be a valid integer",
        },
    ]


async def test_cookies(client: Client) -> None:
    response = await client.get("/cookie", headers={"Cookie": "session=abc; n=3"})
    assert json.loads(response.body) == {"session": "abc", "count": 3}


async def test_cookie_errors(client: Client) -> None:
    response = await client.get("/cookie", headers={"Cookie": "n=many"})
    assert json.loads(response.body)["errors"] == [
        {"location": "cookie", "name": "session", "message": "Field required"},
        {"location": "cookie", "name": "n", "message": "Input should be a valid integer"},
    ]


async def test_request_and_response_with_typed_values(client: Client) -> None:
    response = await client.post("/both/ab?n=2")
    assert response.body == b"abab"
    assert response.headers["X-Method"] == "POST"


async def test_var_keyword_gets_the_other_url_values(client: Client) -> None:
    response = await client.get("/kwargs/1/two")
    assert json.loads(response.body) == {"a": 1, "b": "two"}


async def test_over_a_real_socket(liveclient: LiveClient) -> None:
    response = await liveclient.query("GET", "/shops/1/items/x")
    assert response.status == HTTPStatus.OK
    assert json.loads(response.body) == {"shop_id": 1, "slug": "x"}
    response = await liveclient.query(
        "POST",
        "/json/model",
        headers={"Content-Type": "application/json"},
        body=b'{"name": "a"}',
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"][0]["name"] == "price"
