"""The OpenAPI document: what each route reads and answers, from its plan."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Literal

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field, create_model

from roll import HttpError, Request, Response, Roll
from roll.testing import Client
from roll.typed import (
    Cookie,
    Depends,
    File,
    Form,
    Header,
    Query,
    TypedRoll,
    UploadFile,
    openapi,
    openapi_schema,
)
from roll.typed.security import APIKeyQuery, HTTPBasic, HTTPBearer, OAuth2PasswordBearer


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)


class ItemOut(BaseModel):
    id: int
    name: str


def document(app: Roll) -> dict[str, Any]:
    doc = openapi_schema(app, title="Test", version="1.0", description="About")
    validate(doc)  # every document the tests build is a valid OpenAPI 3.1 one
    return doc


def operation(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    result: dict[str, Any] = doc["paths"][path][method]
    return result


def parameters(op: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in op.get("parameters", [])}


def parameter(location: str, name: str, required: bool, schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI parameter object, all of it."""
    return {"name": name, "in": location, "required": required, "schema": schema}


def test_info_and_version() -> None:
    doc = document(TypedRoll())
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Test", "version": "1.0", "description": "About"}
    assert doc["paths"] == {}


def test_parameters_from_every_source() -> None:
    app = TypedRoll()

    @app.route("/shops/{shop_id}/items/{code:digit}")
    async def items(
        needed: Annotated[int, Query(alias="needed-value")],
        shop_id: int,
        code: str,
        page: Annotated[int, Field(ge=1, le=10)] = 1,
        sort: Literal["name", "price"] = "name",
        tags: list[str] = [],
        since: int | None = None,
        q: str = "",
        token: Annotated[str, Header(alias="X-Token")] = "-",
        user_agent: Annotated[str | None, Header()] = None,
        session: Annotated[str, Cookie()] = "none",
    ) -> None:
        pass

    params = parameters(operation(document(app), "/shops/{shop_id}/items/{code}"))
    assert params[("path", "shop_id")] == parameter("path", "shop_id", True, {"type": "integer"})
    # A `{code:digit}` placeholder only matches digits: so says the schema.
    assert params[("path", "code")]["schema"] == {"type": "string", "pattern": "^[0-9]+$"}
    assert params[("query", "page")] == parameter(
        "query", "page", False, {"type": "integer", "minimum": 1, "maximum": 10, "default": 1}
    )
    assert params[("query", "sort")]["schema"] == {
        "type": "string",
        "enum": ["name", "price"],
        "default": "name",
    }
    assert params[("query", "tags")]["schema"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    # Optional, from a string: absent, never null (a query value cannot say null).
    assert params[("query", "since")] == parameter("query", "since", False, {"type": "integer"})
    assert params[("header", "X-Token")]["schema"] == {"type": "string", "default": "-"}
    assert params[("header", "user-agent")]["schema"] == {"type": "string"}
    assert params[("cookie", "session")]["schema"] == {"type": "string", "default": "none"}
    assert params[("query", "needed-value")]["required"] is True


def test_json_body_is_a_ref_and_return_type_the_success_schema() -> None:
    app = TypedRoll()

    @app.route("/items", methods=["POST"], status=201)
    async def add(item: Item) -> ItemOut:
        return ItemOut(id=1, name=item.name)

    doc = document(app)
    op = operation(doc, "/items", "post")
    assert op["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
    }
    assert op["responses"]["201"] == {
        "description": "Created",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ItemOut"}}},
    }
    assert "200" not in op["responses"]
    assert op["responses"]["413"]["description"].startswith("Payload Too Large")
    item = doc["components"]["schemas"]["Item"]
    assert item["properties"]["price"]["exclusiveMinimum"] == 0
    assert item["required"] == ["name", "price"]


def test_optional_body_is_not_required() -> None:
    app = TypedRoll()

    @app.route("/items", methods=["PUT"])
    async def put(item: Item | None = None) -> None:
        pass

    body = operation(document(app), "/items", "put")["requestBody"]
    assert body["required"] is False
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}


def test_the_400_is_described_exactly() -> None:
    app = TypedRoll()

    @app.route("/items/{item_id}")
    async def get(item_id: int) -> None:
        pass

    doc = document(app)
    response = operation(doc, "/items/{item_id}")["responses"]["400"]
    assert response["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/InvalidRequest"}}
    }
    schemas = doc["components"]["schemas"]
    assert schemas["InvalidRequest"]["properties"]["errors"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Problem"},
        "minItems": 1,
        "title": "Errors",
    }
    assert schemas["InvalidRequest"]["required"] == ["errors"]
    assert schemas["InvalidRequest"]["additionalProperties"] is False
    problem = schemas["Problem"]
    assert problem["required"] == ["location", "name", "message"]
    assert problem["additionalProperties"] is False
    assert problem["properties"]["location"]["enum"] == [
        "path",
        "query",
        "form",
        "file",
        "body",
        "header",
        "cookie",
    ]


async def test_the_400_schema_matches_what_is_sent() -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    app = TypedRoll()

    @app.route("/items/{item_id}", methods=["POST"])
    async def post(item_id: int, item: Item, token: Annotated[str, Header()]) -> None:
        pass

    doc = document(app)
    sent = await Client(app).post("/items/x", {"name": ""})
    assert sent.status == HTTPStatus.BAD_REQUEST
    schema = {**doc["components"]["schemas"]["InvalidRequest"], "$defs": {}}
    schema = json.loads(
        json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    )
    schema["$defs"] = {"Problem": doc["components"]["schemas"]["Problem"]}
    body = json.loads(sent.body)
    assert len(body["errors"]) == 4
    Draft202012Validator(schema).validate(body)


def test_no_400_when_no_input_can_be_invalid() -> None:
    app = TypedRoll()

    @app.route("/hello/{name}")
    async def hello(name: str, greeting: str = "Hello") -> str:
        return f"{greeting} {name}"

    responses = operation(document(app), "/hello/{name}")["responses"]
    assert sorted(responses) == ["200", "404"]  # 404: a name with a slash matches no route
    assert responses["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}


def test_forms_and_files() -> None:
    app = TypedRoll()

    @app.route("/contact", methods=["POST"])
    async def contact(
        email: Annotated[str, Form()],
        urgent: Annotated[bool, Form()] = False,
        tags: Annotated[list[str], Form()] = [],
    ) -> None:
        pass

    @app.route("/upload", methods=["POST"])
    async def upload(
        logo: UploadFile,
        caption: Annotated[str, Form()],
        extra: Annotated[list[UploadFile], File()] = [],
    ) -> None:
        pass

    doc = document(app)
    form = operation(doc, "/contact", "post")["requestBody"]
    assert list(form["content"]) == ["application/x-www-form-urlencoded", "multipart/form-data"]
    assert form["required"] is True
    assert form["content"]["multipart/form-data"]["schema"] == {
        "type": "object",
        "properties": {
            "email": {"type": "string"},
            "urgent": {"type": "boolean", "default": False},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        },
        "required": ["email"],
    }
    files = operation(doc, "/upload", "post")["requestBody"]
    assert list(files["content"]) == ["multipart/form-data"]
    schema = files["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["logo"]["format"] == "binary"
    assert schema["properties"]["extra"]["items"]["format"] == "binary"
    assert schema["required"] == ["logo", "caption"]


def test_dependencies_parameters_are_merged() -> None:
    app = TypedRoll()

    def pagination(page: int = 1, per_page: Annotated[int, Query(alias="per-page")] = 20) -> slice:
        return slice(page, per_page)

    def tenant(x_tenant: Annotated[str, Header()], window: Annotated[slice, Depends(pagination)]) -> str:
        return x_tenant

    @app.route("/items")
    async def items(
        name: Annotated[str, Depends(tenant)], window: Annotated[slice, Depends(pagination)], page: int = 1
    ) -> None:
        pass

    params = parameters(operation(document(app), "/items"))
    assert sorted(params) == [("header", "x-tenant"), ("query", "page"), ("query", "per-page")]
    assert params[("header", "x-tenant")]["required"] is True


def test_docstring_and_route_extras() -> None:
    app = TypedRoll()

    @app.route("/plain-doc")
    async def documented(page: int = 1) -> None:
        """List things.

        With details."""

    @app.route(
        "/extras",
        summary="Summed up",
        description="Described",
        tags=["things"],
        operation_id="getExtras",
        deprecated=True,
    )
    async def with_extras(page: int = 1) -> None:
        """Not this one."""

    @app.route("/hidden", include_in_schema=False)
    async def hidden(page: int = 1) -> None:
        pass

    doc = document(app)
    op = operation(doc, "/plain-doc")
    assert op["summary"] == "Documented"
    assert op["description"] == "List things.\n\nWith details."
    assert op["operationId"] == "documented"
    assert "deprecated" not in op and "tags" not in op
    op = operation(doc, "/extras")
    assert op["summary"] == "Summed up"
    assert op["description"] == "Described"
    assert op["tags"] == ["things"]
    assert op["operationId"] == "getExtras"
    assert op["deprecated"] is True
    assert "/hidden" not in doc["paths"]


def test_declared_responses() -> None:
    app = TypedRoll()

    class Conflict(BaseModel):
        reason: str

    @app.route(
        "/things/{thing_id}",
        methods=["PUT"],
        responses={
            404: "No such thing",
            409: {"description": "Already there", "model": Conflict},
            410: Conflict,
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        },
    )
    async def put(thing_id: int) -> bytes:
        return b""

    doc = document(app)
    responses = operation(doc, "/things/{thing_id}", "put")["responses"]
    assert responses["404"] == {"description": "No such thing"}
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Conflict"}}}
    assert responses["409"] == {"description": "Already there", "content": ref}
    assert responses["410"] == {"description": "Gone", "content": ref}
    assert responses["200"] == {
        "description": "OK",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }


def test_return_types() -> None:
    app = TypedRoll()

    @app.route("/model")
    async def model() -> ItemOut | None:
        return None

    @app.route("/text-or-model")
    async def text_or_model() -> str | ItemOut:
        return ""

    @app.route("/raw")
    async def raw() -> bytes:
        return b""

    @app.route("/stream")
    async def stream() -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield b""

        return chunks()

    @app.route("/any")
    async def anything() -> Any:
        return 1

    @app.route("/nothing")
    async def nothing(response: Response) -> None:
        response.body = "x"

    @app.route("/mapping")
    async def mapping() -> dict[str, list[ItemOut]]:
        return {}

    doc = document(app)

    def content(path: str) -> Any:
        return operation(doc, path)["responses"]["200"].get("content")

    ref = {"$ref": "#/components/schemas/ItemOut"}
    assert content("/model") == {"application/json": {"schema": ref}}
    assert content("/text-or-model") == {
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": ref},
    }
    for path in ("/raw", "/stream", "/any", "/nothing"):
        assert content(path) is None, path  # no Content-Type to promise
    assert content("/mapping") == {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": {"type": "array", "items": ref}}
        }
    }


def test_unique_operation_ids_and_class_views() -> None:
    app = TypedRoll()

    @app.route("/a")
    async def same() -> None:
        pass

    async def other() -> None:
        pass

    other.__name__ = "same"  # same function name, other route
    app.route("/b")(other)

    @app.route("/c", methods=["GET", "POST"])
    async def both() -> None:
        pass

    @app.route("/things/{thing_id}")
    class Things:
        """Things."""

        async def on_get(self, thing_id: int) -> ItemOut:
            """Read a thing."""
            return ItemOut(id=thing_id, name="x")

        async def on_delete(self, thing_id: int, force: bool = False) -> None:
            pass

    doc = document(app)
    assert operation(doc, "/a")["operationId"] == "same"
    assert operation(doc, "/b")["operationId"] == "same_2"
    assert operation(doc, "/c")["operationId"] == "both_get"
    assert operation(doc, "/c", "post")["operationId"] == "both_post"
    get = operation(doc, "/things/{thing_id}")
    delete = operation(doc, "/things/{thing_id}", "delete")
    assert (get["operationId"], delete["operationId"]) == ("Things_get", "Things_delete")
    assert (get["summary"], delete["summary"]) == ("Get things", "Delete things")
    assert (get["description"], delete["description"]) == ("Read a thing.", "Things.")
    assert "application/json" in get["responses"]["200"]["content"]
    assert "force" not in [p["name"] for p in get["parameters"]]
    assert "force" in [p["name"] for p in delete["parameters"]]
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_models_of_the_same_name_never_collide() -> None:
    app = TypedRoll()
    ShopItem = create_model("Item", __module__="shop.models", sku=(str, ...))
    BillingItem = create_model("Item", __module__="billing.models", amount=(int, ...))

    @app.route("/shop", methods=["POST"])
    async def shop(item: ShopItem) -> None:
        pass

    @app.route("/billing", methods=["POST"])
    async def billing(item: BillingItem) -> None:
        pass

    doc = document(app)
    names = sorted(doc["components"]["schemas"])
    assert "billing.models.Item" in names and "shop.models.Item" in names
    refs = [
        operation(doc, path, "post")["requestBody"]["content"]["application/json"]["schema"]
        for path in ("/shop", "/billing")
    ]
    assert refs == [
        {"$ref": "#/components/schemas/shop.models.Item"},
        {"$ref": "#/components/schemas/billing.models.Item"},
    ]
    assert document(app) == doc  # stable


def test_plain_handlers_have_their_path_parameters_only() -> None:
    app = TypedRoll()

    @app.route("/legacy/{name}/{rest:path}", methods=["GET", "POST"])
    async def legacy(request: Request, response: Response, name: str, rest: str) -> None:
        response.body = name

    @app.route("/ws/{room}", protocol="websocket")
    async def ws(request: Request, ws: Any, room: str) -> None:
        pass

    doc = document(app)
    op = operation(doc, "/legacy/{name}/{rest}", "post")
    assert op["parameters"] == [
        parameter("path", "name", True, {"type": "string", "pattern": "^[^/]+$"}),
        parameter("path", "rest", True, {"type": "string"}),
    ]
    assert list(op["responses"]) == ["default"]
    assert "requestBody" not in op
    assert "/ws/{room}" not in doc["paths"]  # OpenAPI cannot describe websockets


def test_a_plain_roll_app_is_documented_too() -> None:
    app = Roll()

    @app.route("/hello/{name}")
    async def hello(request: Request, response: Response, name: str) -> None:
        pass

    assert operation(document(app), "/hello/{name}")["operationId"] == "hello"


def test_timeouts_are_503() -> None:
    app = TypedRoll()

    @app.route("/slow", timeout=2)
    async def slow() -> None:
        pass

    assert "503" in operation(document(app), "/slow")["responses"]


def test_security_schemes_directly_and_through_dependencies() -> None:
    app = TypedRoll()
    bearer = HTTPBearer(bearer_format="JWT")
    basic = HTTPBasic()
    oauth = OAuth2PasswordBearer(token_url="/token", scopes={"read": "Read things"})
    key = APIKeyQuery(name="key", auto_error=False)

    def current_user(token: Annotated[str, Depends(bearer)]) -> str:
        return token

    @app.route("/me")
    async def me(user: Annotated[str, Depends(current_user)]) -> None:
        pass

    @app.route("/admin")
    async def admin(credentials: Annotated[Any, Depends(basic)], token: Annotated[str, Depends(oauth)]) -> None:
        pass

    @app.route("/maybe")
    async def maybe(api_key: Annotated[str | None, Depends(key)], page: int = 1) -> None:
        pass

    @app.route("/open")
    async def open_() -> None:
        pass

    doc = document(app)
    assert doc["components"]["securitySchemes"] == {
        "APIKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
        "HTTPBasic": {"type": "http", "scheme": "basic"},
        "HTTPBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"tokenUrl": "/token", "scopes": {"read": "Read things"}}},
        },
    }
    me_op = operation(doc, "/me")
    assert me_op["security"] == [{"HTTPBearer": []}]
    assert me_op["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert operation(doc, "/admin")["security"] == [{"HTTPBasic": [], "OAuth2PasswordBearer": []}]
    assert operation(doc, "/maybe")["security"] == [{"APIKeyQuery": []}]
    assert "key" not in [p["name"] for p in operation(doc, "/maybe")["parameters"]]
    assert "security" not in operation(doc, "/open")
    assert "401" not in operation(doc, "/open")["responses"]


def test_two_schemes_of_one_name_get_two_components() -> None:
    app = TypedRoll()
    first, second = HTTPBearer(), HTTPBearer(bearer_format="JWT")

    @app.route("/a")
    async def a(token: Annotated[str, Depends(first)]) -> None:
        pass

    @app.route("/b")
    async def b(token: Annotated[str, Depends(second)]) -> None:
        pass

    doc = document(app)
    assert sorted(doc["components"]["securitySchemes"]) == ["HTTPBearer", "HTTPBearer_2"]
    assert operation(doc, "/b")["security"] == [{"HTTPBearer_2": []}]


async def test_served_lazily_and_routes_added_later_are_included() -> None:
    app = TypedRoll()

    @app.route("/first")
    async def first(page: int = 1) -> None:
        pass

    openapi(app, title="Served", version="2", docs=None)
    client = Client(app)
    response = await client.get("/openapi.json")
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    served = json.loads(response.body)
    assert served["info"] == {"title": "Served", "version": "2"}
    assert list(served["paths"]) == ["/first"]  # not /openapi.json itself
    body = (await client.get("/openapi.json")).body
    assert body == response.body

    @app.route("/later")
    async def later() -> None:
        pass

    assert list(json.loads((await client.get("/openapi.json")).body)["paths"]) == [
        "/first",
        "/later",
    ]
    assert (await client.get("/docs")).status == HTTPStatus.NOT_FOUND  # docs=None


async def test_the_document_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    module = importlib.import_module("roll.typed.openapi")  # the module, not the function

    app = TypedRoll()
    openapi(app, title="Once", version="1", docs=None)
    builds: list[int] = []
    original = module.openapi_schema

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        builds.append(1)
        result: dict[str, Any] = original(*args, **kwargs)
        return result

    monkeypatch.setattr(module, "openapi_schema", counting)
    client = Client(app)
    for _ in range(3):
        assert (await client.get("/openapi.json")).status == HTTPStatus.OK
    assert builds == [1]


def test_the_docs_page_needs_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", None)  # as if not installed
    app = TypedRoll()
    with pytest.raises(ImportError, match=r"pip install 'roll-typed\[openapi\]'"):
        openapi(app, title="T", version="1")
    assert app.registry == []  # nothing half-registered
    openapi(app, title="T", version="1", docs=None)  # the document alone needs nothing


def test_an_old_swagger_ui_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import types

    old = types.ModuleType("swagger_ui_bundle")
    old.swagger_ui_path = tmp_path / "swagger-ui-4.15.5"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", old)
    with pytest.raises(ImportError, match="cannot render OpenAPI 3.1"):
        openapi(TypedRoll(), title="T", version="1")


def test_cli_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    from roll.__main__ import main

    assert main(["openapi", "examples.typed_app:app"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["info"]["title"] == "Roll typed shop"  # as given to openapi()
    validate(printed)
    assert main(["openapi", "examples.typed_app:app", "--title", "Other", "--version", "9"]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["version"] == "9"


@dataclass
class Point:
    x: int


def test_a_http_error_from_a_handler_is_not_guessed() -> None:
    # What a handler raises itself is only documented when declared.
    app = TypedRoll()

    @app.route("/points/{x}")
    async def point(x: int) -> Point:
        if x < 0:
            raise HttpError(HTTPStatus.NOT_FOUND)
        return Point(x)

    responses = operation(document(app), "/points/{x}")["responses"]
    assert sorted(responses) == ["200", "400", "404"]  # 404: the placeholder only


async def test_the_docs_page_and_its_files() -> None:
    app = TypedRoll()
    openapi(app, title="<Shop>", version="1", path="/api/schema.json", docs="/api/docs")
    client = Client(app)
    page = await client.get("/api/docs")
    assert page.status == HTTPStatus.OK
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.body.decode()
    assert "<title>&lt;Shop&gt;</title>" in html
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith("/api/docs/"), url  # the app's own files only
    init = await client.get("/api/docs/init.js")
    assert init.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert b'url: "/api/schema.json"' in init.body
    assert b"validatorUrl: null" in init.body  # no badge from the online validator
    for name, content_type in [
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
        ("favicon-32x32.png", "image/png"),
        ("oauth2-redirect.html", "text/html; charset=utf-8"),
    ]:
        response = await client.get(f"/api/docs/{name}")
        assert response.status == HTTPStatus.OK, name
        assert response.headers["Content-Type"] == content_type
        assert len(response.body) > 100
    assert (await client.get("/api/docs/index.html")).status == HTTPStatus.NOT_FOUND
    assert (await client.get("/api/docs/..%2Fsetup.py")).status == HTTPStatus.NOT_FOUND
    assert list(json.loads((await client.get("/api/schema.json")).body)["paths"]) == []


def test_head_operations_have_no_content() -> None:
    app = TypedRoll()

    @app.route("/items/{item_id}", methods=["GET", "HEAD"])
    async def item(item_id: int) -> ItemOut:
        return ItemOut(id=item_id, name="x")

    doc = document(app)
    assert "content" in operation(doc, "/items/{item_id}")["responses"]["200"]
    head = operation(doc, "/items/{item_id}", "head")["responses"]
    assert all("content" not in response for response in head.values())


class Opaque:
    pass


def test_a_type_without_json_schema_is_any_value() -> None:
    from pydantic import ConfigDict

    class Holder(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        thing: Opaque

    app = TypedRoll()

    @app.route("/holder", methods=["POST"])
    async def holder(item: Item) -> Holder:
        return Holder(thing=Opaque())

    doc = document(app)
    assert operation(doc, "/holder", "post")["responses"]["200"]["content"] == {
        "application/json": {"schema": {}}
    }
    assert "Item" in doc["components"]["schemas"]  # the rest is documented


def test_an_event_stream_is_documented_as_its_media_type() -> None:
    from roll.typed import EventStream, openapi_schema

    app = TypedRoll()

    @app.route("/ticks")
    async def ticks() -> EventStream:
        async def events() -> AsyncIterator[int]:
            yield 1

        return EventStream(events())

    document = openapi_schema(app, title="t", version="1")
    ok = document["paths"]["/ticks"]["get"]["responses"]["200"]
    assert ok["content"] == {"text/event-stream": {"schema": {"type": "string"}}}
