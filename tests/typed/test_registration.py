"""Mistakes in the app are caught when the route is registered."""

from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from roll import Response
from roll.typed import Body, Cookie, Depends, File, Form, Header
from roll.typed import Path, Query, RouteDefinitionError, TypedRoll, UploadFile, WebSocket
from typed.support import registration_error


class Item(BaseModel):
    name: str


class Database:
    pass


@pytest.fixture
def app() -> TypedRoll:
    return TypedRoll()


def test_placeholder_without_parameter(app: TypedRoll) -> None:
    async def show(page: int = 1) -> None: ...

    error = registration_error(app, "/shops/{shop_id}", show)
    assert error.route == "/shops/{shop_id}"
    assert error.handler.endswith("show")
    assert error.parameter == "shop_id"
    assert "placeholder {shop_id} has no parameter" in str(error)
    assert "show" in str(error) and "/shops/{shop_id}" in str(error)


def test_typed_placeholder_without_parameter(app: TypedRoll) -> None:
    async def show(page: int = 1) -> None: ...

    error = registration_error(app, "/shops/{shop_id:digit}/{rest:path}", show)
    assert error.parameter == "shop_id"


def test_placeholder_used_by_a_dependency_is_fine(app: TypedRoll) -> None:
    def shop(shop_id: int) -> str:
        return str(shop_id)

    async def show(name: Annotated[str, Depends(shop)]) -> None: ...

    app.route("/shops/{shop_id}")(show)


def startup_error(app: TypedRoll) -> RouteDefinitionError:
    """A type no provider serves yet: `app.provide` may still come, so
    `app.check()` (run by `startup()`, before any request) refuses it."""
    with pytest.raises(RouteDefinitionError) as info:
        app.check()
    return info.value


def test_unresolvable_parameter(app: TypedRoll) -> None:
    async def show(db: Database) -> None: ...

    app.route("/")(show)
    error = startup_error(app)
    assert error.parameter == "db"
    assert "cannot resolve Database" in str(error)


def test_unresolvable_parameter_of_a_provider(app: TypedRoll) -> None:
    def get_name(db: Database) -> str:
        return ""

    async def show(name: Annotated[str, Depends(get_name)]) -> None: ...

    app.route("/")(show)
    error = startup_error(app)
    assert error.parameter == "db"
    assert "get_name" in str(error)


@pytest.mark.parametrize("methods", [None, ["GET"], ["GET", "HEAD"]])
@pytest.mark.parametrize(
    "annotation",
    [Item, Annotated[dict[str, int], Body()], Annotated[str, Form()], UploadFile],
)
def test_body_on_get_only_route(app: TypedRoll, methods: Any, annotation: Any) -> None:
    async def view(data: Any) -> None: ...

    view.__annotations__ = {"data": annotation, "return": None}
    error = registration_error(app, "/", view, methods=methods)
    assert error.parameter == "data"
    assert "body parameter on a route accepting only GET" in str(error)


def test_body_in_a_provider_on_get_route(app: TypedRoll) -> None:
    def payload(item: Item) -> str:
        return item.name

    async def view(name: Annotated[str, Depends(payload)]) -> None: ...

    error = registration_error(app, "/", view)
    assert error.parameter == "item"


def test_body_on_get_and_post_is_fine(app: TypedRoll) -> None:
    async def view(item: Item) -> None: ...

    app.route("/", methods=["GET", "POST"])(view)


def test_two_json_bodies(app: TypedRoll) -> None:
    async def view(a: Item, b: Annotated[dict[str, Any], Body()]) -> None: ...

    error = registration_error(app, "/", view, methods=["POST"])
    assert error.parameter == "b"
    assert "two JSON body parameters" in str(error)


def test_json_and_form_conflict(app: TypedRoll) -> None:
    async def view(a: Annotated[str, Form()], item: Item) -> None: ...

    error = registration_error(app, "/", view, methods=["POST"])
    assert error.parameter == "item"
    assert "conflicts with the form body" in str(error)


def test_json_and_file_conflict(app: TypedRoll) -> None:
    async def view(item: Item, doc: UploadFile) -> None: ...

    error = registration_error(app, "/", view, methods=["POST"])
    assert error.parameter == "doc"
    assert "a file (multipart) body conflicts with the JSON body of 'item'" in str(error)


def test_form_and_file_together_are_fine(app: TypedRoll) -> None:
    async def view(title: Annotated[str, Form()], doc: UploadFile) -> None: ...

    app.route("/", methods=["POST"])(view)


def test_several_markers(app: TypedRoll) -> None:
    async def view(a: Annotated[str, Query(), Header()]) -> None: ...

    assert "several source markers" in str(registration_error(app, "/", view))


class Nested(BaseModel):
    item: Item


def test_model_with_a_nested_model_from_the_query(app: TypedRoll) -> None:
    async def view(a: Annotated[Nested, Query()]) -> None: ...

    assert str(registration_error(app, "/", view)) == (
        "Route '/': parameter 'a' of handler"
        " test_model_with_a_nested_model_from_the_query.<locals>.view: field 'item' of"
        " Nested is not a scalar or a list of scalars: a query value is text"
    )


def test_list_of_models_from_the_query(app: TypedRoll) -> None:
    async def view(a: Annotated[list[Item], Query()]) -> None: ...

    assert "must be a scalar type" in str(registration_error(app, "/", view))


def test_path_marker_without_placeholder(app: TypedRoll) -> None:
    async def view(a: Annotated[int, Path()]) -> None: ...

    assert "no placeholder {a}" in str(registration_error(app, "/", view))


def test_file_marker_on_a_str(app: TypedRoll) -> None:
    async def view(a: Annotated[str, File()]) -> None: ...

    assert "must be an UploadFile" in str(registration_error(app, "/", view, methods=["POST"]))


def test_upload_file_from_the_form(app: TypedRoll) -> None:
    async def view(a: Annotated[UploadFile, Form()]) -> None: ...

    assert "comes from a File source" in str(registration_error(app, "/", view, methods=["POST"]))


def test_cookie_list(app: TypedRoll) -> None:
    async def view(a: Annotated[list[str], Cookie()]) -> None: ...

    assert "cannot be a list" in str(registration_error(app, "/", view))


def test_positional_only(app: TypedRoll) -> None:
    async def view(a: int, /) -> None: ...

    assert "positional-only" in str(registration_error(app, "/", view))


def ping(value: "Annotated[str, Depends(pong)]") -> str:
    return value


def pong(value: "Annotated[str, Depends(ping)]") -> str:
    return value


def test_circular_dependency(app: TypedRoll) -> None:
    async def view(v: Annotated[str, Depends(ping)]) -> None: ...

    error = registration_error(app, "/", view)
    assert "circular dependency" in str(error)
    assert "ping -> pong -> ping" in str(error)


def test_unresolvable_annotation(app: TypedRoll) -> None:
    async def view(a: "Missing") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    assert "cannot resolve the annotations" in str(registration_error(app, "/", view))


def test_response_in_a_websocket_handler(app: TypedRoll) -> None:
    async def view(ws: WebSocket, response: Response) -> None: ...

    assert "has no response" in str(registration_error(app, "/ws", view, protocol="websocket"))


def test_websocket_parameter_on_http_route(app: TypedRoll) -> None:
    async def view(ws: WebSocket) -> None: ...

    assert "needs a websocket route" in str(registration_error(app, "/", view))


def test_body_on_websocket_route(app: TypedRoll) -> None:
    async def view(ws: WebSocket, item: Item) -> None: ...

    assert "no request body" in str(registration_error(app, "/ws", view, protocol="websocket"))


def test_singleton_reading_the_request(app: TypedRoll) -> None:
    def make(page: int) -> Database:
        return Database()

    with pytest.raises(RouteDefinitionError) as info:
        app.provide(Database, make, singleton=True)
    assert "singleton" in str(info.value)
    assert info.value.parameter == "page"


def test_class_view_errors_name_the_method(app: TypedRoll) -> None:
    class View:
        async def on_get(self, item: Item) -> None: ...

    error = registration_error(app, "/", View)
    assert "View.on_get" in str(error)
    assert error.parameter == "item"


def test_class_view_with_methods_still_raises(app: TypedRoll) -> None:
    class View:
        async def on_get(self, page: int) -> None: ...

    with pytest.raises(AttributeError):
        app.route("/", methods=["GET"])(View)


def test_class_view_without_handler_still_raises(app: TypedRoll) -> None:
    class View:
        pass

    with pytest.raises(ValueError):
        app.route("/")(View)


def test_registry_keeps_each_typed_endpoint_plan(app: TypedRoll) -> None:
    async def plain(request: Any, response: Response) -> None:
        pass

    async def typed(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.route("/plain")(plain)
    app.route("/items/{item_id}", methods=["GET", "DELETE"], status=200)(typed)
    plain_record, typed_record = app.registry
    assert plain_record.handlers == {"GET": plain}
    assert plain not in app.plans
    endpoint = typed_record.handlers["GET"]
    assert typed_record.handlers["DELETE"] is endpoint
    assert typed_record.view is typed
    assert endpoint.__wrapped__ is typed  # type: ignore[attr-defined]
    assert [name for name, _ in app.plans[endpoint].extractors] == ["item_id"]
    assert typed_record.extras == {"status": 200}
