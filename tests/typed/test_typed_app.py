"""The typed example app: every source, over the in-memory client and a real socket."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from unittest.mock import ANY

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from examples.typed_app import app as typed_app
from roll import WSProtocol
from roll.testing import Client, LiveClient
from roll.typed import TypedRoll, WebSocket

from typed.support import problem_places

ANN = {"Authorization": "Bearer ann"}


@pytest.fixture
def app() -> TypedRoll:
    return typed_app  # its Database singleton is closed, so reset, at each shutdown


def load(body: bytes) -> Any:
    return json.loads(body)


async def add(
    client: Client, shop_id: int, name: str, price: float, tags: tuple[str, ...] = ()
) -> Any:
    response = await client.post(
        f"/shops/{shop_id}/items", {"name": name, "price": price, "tags": list(tags)}, headers=ANN
    )
    assert response.status == HTTPStatus.CREATED, response.body
    return load(response.body)


async def test_create_and_list_items(client: Client) -> None:
    hat = await add(client, 1, "hat", 12.5, ("head",))
    assert hat == {"name": "hat", "price": 12.5, "tags": ["head"], "id": 1, "shop_id": 1}
    await add(client, 1, "boots", 80, ("feet",))
    await add(client, 1, "cap", 5, ("head",))
    await add(client, 2, "elsewhere", 1)

    def names(body: bytes) -> list[str]:
        return [item["name"] for item in load(body)]

    assert names((await client.get("/shops/1/items")).body) == ["boots", "cap", "hat"]
    assert names((await client.get("/shops/1/items?sort=price")).body) == ["cap", "hat", "boots"]
    assert names((await client.get("/shops/1/items?tag=head")).body) == ["cap", "hat"]
    assert names((await client.get("/shops/1/items?per-page=2&page=2")).body) == ["hat"]


async def test_create_needs_a_user(client: Client) -> None:
    response = await client.post("/shops/1/items", {"name": "hat", "price": 1})
    assert response.status == HTTPStatus.UNAUTHORIZED


async def test_create_with_session_cookie_and_dry_run(client: Client) -> None:
    response = await client.post(
        "/shops/3/items?dry_run=yes", {"name": "hat", "price": 1}, headers={"Cookie": "session=bob"}
    )
    assert response.status == HTTPStatus.CREATED
    assert response.headers["X-Created-By"] == "bob"
    assert load(response.body)["id"] == 0
    assert load((await client.get("/shops/3/items")).body) == []


async def test_all_problems_at_once(client: Client) -> None:
    response = await client.get("/shops/x/items?page=0&sort=size&per-page=1000")
    assert problem_places(response.status, response.headers.get("Content-Type"), response.body) == [
        ("path", "shop_id"),
        ("query", "sort"),
        ("query", "page"),
        ("query", "per-page"),
    ]


async def test_bad_item(client: Client) -> None:
    response = await client.post("/shops/1/items", {"name": "", "price": -1}, headers=ANN)
    assert response.status == HTTPStatus.BAD_REQUEST
    assert {e["name"] for e in load(response.body)["errors"]} == {"name", "price"}


async def test_get_item_and_name(client: Client) -> None:
    await add(client, 1, "hat", 1)
    assert load((await client.get("/items/1")).body)["name"] == "hat"
    assert (await client.get("/items/2")).status == HTTPStatus.NOT_FOUND
    response = await client.get("/items/1/name?upper=true")
    assert response.body == b"HAT"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_upload_logo(client: Client) -> None:
    client.content_type = "multipart/form-data"
    response = await client.post(
        "/shops/4/logo",
        {"caption": "Our logo"},
        files={"logo": (b"\x89PNG...", "logo.png")},
        headers=ANN,
    )
    assert response.status == HTTPStatus.CREATED, response.body
    body = load(response.body)
    assert body["filename"] == "logo.png"
    assert body["size"] == 7
    assert body["caption"] == "Our logo"
    assert body["thumbnail"] is None
    assert body["by"] == "ann"


async def test_upload_without_file(client: Client) -> None:
    client.content_type = "multipart/form-data"
    response = await client.post("/shops/4/logo", {"caption": "x"}, files={}, headers=ANN)
    assert response.status == HTTPStatus.BAD_REQUEST


async def test_contact_form(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post(
        "/contact", {"email": "a@b.c", "priority": "high", "urgent": "on", "when": "2024-05-01"}
    )
    assert load(bytes(response.body)) == {
        "email": "a@b.c",
        "priority": "high",
        "urgent": True,
        "received": "2024-05-01",
    }
    bad = await client.post("/contact", {"email": "nope", "priority": "urgent"})
    assert [e["name"] for e in load(bad.body)["errors"]] == ["email", "priority"]


async def test_whoami(client: Client) -> None:
    response = await client.get(
        "/whoami", headers={**ANN, "X-Request-Id": "r-1", "Cookie": "theme=dark"}
    )
    assert load(response.body) == {"name": "ann", "request_id": "r-1", "theme": "dark"}
    bad = await client.get("/whoami", headers={**ANN, "Cookie": "theme=blue"})
    assert load(bad.body)["errors"][0]["location"] == "cookie"


async def test_export_bytes(client: Client) -> None:
    await add(client, 1, "hat", 2)
    assert (await client.get("/export.csv")).body == b"id,name,price\n1,hat,2.0"


async def test_legacy_handler(client: Client) -> None:
    assert (await client.get("/legacy/you")).body == b"Hello you"


async def test_singleton_closed_at_shutdown() -> None:
    from examples.typed_app import Database

    await typed_app.startup()
    client = Client(typed_app)
    await add(client, 1, "hat", 2)
    singleton = typed_app.providers[Database].singleton
    assert singleton is not None
    db = singleton.value
    assert db.open
    await typed_app.shutdown()
    assert not db.open


async def test_live(liveclient: LiveClient) -> None:
    response = await liveclient.query(
        "POST",
        "/shops/1/items",
        headers={"Content-Type": "application/json", **ANN},
        body=b'{"name": "hat", "price": 3}',
    )
    assert response.status == HTTPStatus.CREATED
    response = await liveclient.query("GET", "/shops/1/items?page=0")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert load(response.body)["errors"][0]["name"] == "page"


async def test_websocket(liveclient: LiveClient) -> None:
    async with connect(f"{liveclient.wsl}/ws/shops/7?name=ann") as ws:
        assert await ws.recv() == "ann watches shop 7"
        await ws.send("hello")
        assert await ws.recv() == "ann@7: 'hello'"


async def test_websocket_invalid_input(liveclient: LiveClient) -> None:
    # Validated before the handshake: the JSON 400 of HTTP routes, no upgrade.
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{liveclient.wsl}/ws/shops/seven"):
            pass
    response = info.value.response
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert load(bytes(response.body)) == {
        "errors": [
            {"location": "path", "name": "shop_id", "message": ANY},
        ]
    }


def test_the_typed_websocket_is_the_core_connection() -> None:
    # A thin wrapper (it adds the typed JSON methods): equal to the core's
    # object, so sets of connections (websockets_store) find either.
    core = WSProtocol.__new__(WSProtocol)
    ws = WebSocket(core)
    assert ws.core is core
    assert ws == core and core == ws and ws == WebSocket(core)
    assert hash(ws) == hash(core)
    assert core in {ws} and ws in {core}
    assert ws != WebSocket(WSProtocol.__new__(WSProtocol))
