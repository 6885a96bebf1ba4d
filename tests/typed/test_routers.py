"""Routers: routes declared apart, registered by `app.include`, on any number of apps."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

import pytest

from roll import Request, Response
from roll.extensions import named_url
from roll.testing import Client, LiveClient
from roll.typed import Depends, Header, RouteDefinitionError, Router, TypedRoll, WebSocket

calls: list[str] = []


def verify_key(x_key: Annotated[str, Header()] = "") -> None:
    calls.append("verify_key")
    if x_key != "secret":
        from roll import HttpError

        raise HttpError(HTTPStatus.FORBIDDEN, "Bad key")


def audit(request: Request) -> None:
    calls.append(f"audit {request.path}")


items = Router("/items", tags=["items"], summary="Items", dependencies=[Depends(audit)])


@items.route("/{item_id}")
async def show(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@items.route("/{item_id}/raw", tags=["raw"], summary="Raw item")
async def raw(request: Request, response: Response, item_id: str) -> None:  # plain Roll
    response.body = f"raw {item_id}"


@items.route("")
class ItemsView:  # a class-based view
    async def on_get(self, request: Request, response: Response) -> None:
        response.body = "view get"

    async def on_post(self, count: int) -> dict[str, int]:
        return {"count": count}


admin = Router("/admin", tags=["admin"], dependencies=[Depends(verify_key)], owner="ops")
admin.include(items, prefix="/shop")


@admin.route("/stats", owner="stats-team")
async def stats() -> dict[str, str]:
    return {"stats": "ok"}


def make_app() -> TypedRoll:
    app = TypedRoll()
    app.include(items)
    app.include(admin, prefix="/api")
    return app


@pytest.fixture
def app() -> TypedRoll:
    calls.clear()
    return make_app()


def record(app: TypedRoll, path: str) -> Any:
    (found,) = [record for record in app.registry if record.path == path]
    return found


def test_full_paths_tags_and_extras(app: TypedRoll) -> None:
    assert [record.path for record in app.registry] == [
        "/items/{item_id}",
        "/items/{item_id}/raw",
        "/items",
        "/api/admin/shop/items/{item_id}",
        "/api/admin/shop/items/{item_id}/raw",
        "/api/admin/shop/items",
        "/api/admin/stats",
    ]
    assert record(app, "/items/{item_id}").extras == {"summary": "Items", "tags": ["items"]}
    assert record(app, "/items/{item_id}/raw").extras == {
        "summary": "Raw item",
        "tags": ["items", "raw"],
    }
    # Outer tags first, innermost extras win, dependencies are not extras.
    assert record(app, "/api/admin/shop/items/{item_id}/raw").extras == {
        "summary": "Raw item",
        "owner": "ops",
        "tags": ["admin", "items", "raw"],
    }
    assert record(app, "/api/admin/stats").extras == {"owner": "stats-team", "tags": ["admin"]}
    plan = app.plans[record(app, "/api/admin/shop/items/{item_id}").handlers["GET"]]
    assert [guard.provider for guard in plan.guards] == [verify_key, audit]


async def test_routes_answer(client: Client) -> None:
    assert (await client.get("/items/3")).json() == {"id": 3}
    assert (await client.get("/items/3/raw")).text == "raw 3"
    assert (await client.get("/items")).text == "view get"
    assert (await client.post("/items?count=2")).json() == {"count": 2}
    assert calls == ["audit /items/3", "audit /items/3/raw", "audit /items", "audit /items"]


async def test_router_dependencies_guard_every_route(client: Client) -> None:
    for path in ("/api/admin/stats", "/api/admin/shop/items/3", "/api/admin/shop/items/3/raw"):
        refused = await client.get(path)
        assert refused.status == HTTPStatus.FORBIDDEN
        assert refused.text == "Bad key"
    calls.clear()
    allowed = await client.get("/api/admin/shop/items/3/raw", headers={"X-Key": "secret"})
    assert allowed.text == "raw 3"
    # The outer router's dependency runs first.
    assert calls == ["verify_key", "audit /api/admin/shop/items/3/raw"]
    assert (await client.get("/api/admin/stats", headers={"X-Key": "secret"})).json() == {
        "stats": "ok"
    }


async def test_one_router_in_two_apps() -> None:
    first, second = make_app(), make_app()
    for app in (first, second):
        response = await Client(app).get("/items/5")
        assert response.json() == {"id": 5}
    assert first.plans.keys().isdisjoint(second.plans.keys())


def test_named_url_sees_full_paths() -> None:
    app = TypedRoll()
    url_for = named_url(app)
    app.include(admin, prefix="/api")
    assert url_for("show", item_id=4) == "/api/admin/shop/items/4"
    assert url_for("stats") == "/api/admin/stats"


def test_full_path_is_checked() -> None:
    router = Router("/shops/{shop_id}")

    @router.route("/items")
    async def items(page: int = 1) -> None: ...

    with pytest.raises(RouteDefinitionError) as info:
        TypedRoll().include(router)
    assert str(info.value) == (
        "Route '/shops/{shop_id}/items': parameter 'shop_id' of handler"
        " test_full_path_is_checked.<locals>.items: the URL placeholder {shop_id} has no"
        " parameter"
    )


def test_router_refuses_foreign_keywords() -> None:
    with pytest.raises(RouteDefinitionError) as info:
        Router("/x", status_code=201)
    assert str(info.value) == (
        "Route '/x': handler Router('/x'): unknown keyword status_code=: use status=..."
        " (the success status of a typed handler)"
    )
    router = Router()
    with pytest.raises(RouteDefinitionError) as info:

        @router.route("/y", response_model=dict)
        async def view() -> None: ...

    assert "unknown keyword response_model=" in str(info.value)


def test_router_including_itself() -> None:
    one, two = Router("/one"), Router("/two")
    one.include(two)
    two.include(one)
    with pytest.raises(ValueError, match="includes itself"):
        TypedRoll().include(one)
    with pytest.raises(ValueError, match="cannot include itself"):
        one.include(one)


async def test_over_a_real_socket(liveclient: LiveClient) -> None:
    refused = await liveclient.query("GET", "/api/admin/shop/items/8")
    assert refused.status == HTTPStatus.FORBIDDEN
    allowed = await liveclient.query("GET", "/api/admin/shop/items/8", headers={"X-Key": "secret"})
    assert allowed.status == HTTPStatus.OK
    assert allowed.json() == {"id": 8}


def test_websocket_routes_in_routers() -> None:
    router = Router("/live", tags=["live"])

    @router.route("/{room}", protocol="websocket", subprotocols=["chat"])
    async def room(ws: WebSocket, room: str) -> None: ...

    app = TypedRoll()
    app.include(router, prefix="/v1")
    (added,) = app.registry
    assert (added.path, added.protocol, list(added.handlers)) == ("/v1/live/{room}", "websocket", ["GET"])
    assert added.extras == {"subprotocols": ["chat"], "tags": ["live"]}
    assert hasattr(added.handlers["GET"], "prepare")  # typed: validated before the upgrade
