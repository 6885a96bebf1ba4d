"""Class-based views, websocket routes, plain Roll handlers, lazy bodies."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from roll import Request, Response, Roll
from roll.response import JSON_CONTENT_TYPE
from roll.testing import Client, LiveClient
from roll.typed import Depends, Header, Query, TypedRoll, WebSocket, is_plain

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


class Item(BaseModel):
    name: str


def prefix(p: str = ">") -> str:
    return p


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/items/{item_id}")
    class ItemView:
        greeting = "item"

        async def on_get(self, item_id: int, verbose: bool = False) -> dict[str, Any]:
            return {"greeting": self.greeting, "id": item_id, "verbose": verbose}

        async def on_put(self, item_id: int, item: Item) -> str:
            return f"{item_id}:{item.name}"

        async def on_delete(self, request: Request, response: Response, item_id: str) -> None:
            response.status = HTTPStatus.NO_CONTENT

    @app.route("/plain/{name}")
    async def plain(request, response, name):  # type: ignore[no-untyped-def]
        response.body = f"plain {name} {request.query.get('q', '')}"

    @app.route("/plain-annotated/{name}", methods=["GET", "POST"])
    async def plain_annotated(request: Request, response: Response, name: str) -> None:
        response.body = name

    @app.route("/forced-plain", typed=False)
    async def forced_plain(request: Request, response: Response, **kw: Any) -> Any:
        response.body = "forced"
        return "ignored"

    @app.route("/lazy", methods=["POST"], lazy_body=True)
    async def lazy(item: Item) -> str:
        return item.name

    @app.route("/lazy-stream", methods=["POST"], lazy_body=True)
    async def lazy_stream(request: Request, size: int = 0) -> int:
        chunks = [chunk async for chunk in request]
        return sum(len(chunk) for chunk in chunks) + size

    @app.route("/ws/{room}", protocol="websocket")
    async def chat(
        ws: WebSocket,
        room: str,
        name: Annotated[str, Query()],
        agent: Annotated[str, Header(alias="User-Agent")] = "?",
        mark: Annotated[str, Depends(prefix)] = "",
    ) -> None:
        message = await ws.recv()
        await ws.send(f"{mark}{room}/{name}/{agent}: {message!r}")

    return app


async def test_class_view(client: Client) -> None:
    response = await client.get("/items/3?verbose=on")
    assert json.loads(response.body) == {"greeting": "item", "id": 3, "verbose": True}
    assert (await client.put("/items/4", {"name": "hat"})).body == b"4:hat"
    assert (await client.delete("/items/4")).status == HTTPStatus.NO_CONTENT
    assert (await client.post("/items/4")).status == HTTPStatus.METHOD_NOT_ALLOWED
    bad = await client.get("/items/x")
    assert json.loads(bad.body)["errors"][0]["name"] == "item_id"


def test_class_view_methods_keep_their_names(app: TypedRoll) -> None:
    payload, _ = app.routes.match("/items/1")
    assert payload is not None
    assert payload["GET"].__name__ == "on_get"


async def test_plain_handlers_are_untouched(app: TypedRoll, client: Client) -> None:
    payload, _ = app.routes.match("/plain/x")
    assert payload is not None
    assert payload["GET"].__name__ == "plain"
    assert not hasattr(payload["GET"], "__wrapped__")
    response = await client.get("/plain/ann?q=1")
    assert response.body == b"plain ann 1"
    assert (await client.post("/plain-annotated/bob")).body == b"bob"
    annotated, _ = app.routes.match("/plain-annotated/x")
    assert annotated is not None
    assert not hasattr(annotated["GET"], "__wrapped__")


async def test_typed_false(client: Client) -> None:
    response = await client.get("/forced-plain")
    assert response.body == b"forced"


def test_plain_detection() -> None:
    async def a(request, response):  # type: ignore[no-untyped-def]
        pass

    async def b(request: Request, response: Response, id: str) -> None:
        pass

    async def c(request: Request, response: Response, id: int) -> None:
        pass

    async def d(request: Request, response: Response) -> str:
        return ""

    async def e(req: Request, resp: Response) -> None:
        pass

    async def f(request: Request, ws: Any, room: str) -> None:
        pass

    async def g(page: int) -> None:
        pass

    async def h(request: Request) -> None:
        pass

    assert is_plain(a) and is_plain(b) and is_plain(e) and is_plain(f)
    assert not is_plain(c) and not is_plain(d) and not is_plain(g) and not is_plain(h)


async def test_lazy_body(client: Client) -> None:
    assert (await client.post("/lazy", {"name": "lazy"})).body == b"lazy"
    assert (await client.post("/lazy-stream?size=1", body=b"12345")).body == b"6"


class FakeWebSocket:
    def __init__(self, incoming: list[str]) -> None:
        self.incoming = incoming
        self.sent: list[str | bytes] = []
        self.response = Response(None)  # the handshake's, as on the core's WSProtocol
        self.closed = False
        self.closes: list[int] = []

    async def recv(self) -> str:
        return self.incoming.pop(0)

    async def send(self, data: str | bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closes.append(code)
        self.closed = True


def fake_request(app: Roll, path: str, query_string: str, headers: dict[str, str]) -> Request:
    request = Request(app, None)
    request.path = path
    request.query_string = query_string
    request.headers = headers
    return request


async def test_websocket_handler(app: TypedRoll) -> None:
    payload, vars = app.routes.match("/ws/lobby")
    assert payload is not None and vars is not None
    assert payload["protocol"] == "websocket"
    handler = payload["GET"]
    ws = FakeWebSocket(["hi"])
    request = fake_request(app, "/ws/lobby", "name=ann", {"USER-AGENT": "test"})
    await handler(request, ws, **vars)
    assert ws.sent == [">lobby/ann/test: 'hi'"]


async def test_websocket_invalid_input(app: TypedRoll) -> None:
    from roll.typed import InvalidRequest

    payload, vars = app.routes.match("/ws/lobby")
    assert payload is not None and vars is not None
    ws = FakeWebSocket(["hi"])
    with pytest.raises(InvalidRequest) as info:
        await payload["GET"](fake_request(app, "/ws/lobby", "", {}), ws, **vars)
    assert info.value.problems == [
        {"location": "query", "name": "name", "message": "Field required"}
    ]
    assert ws.sent == []
    assert ws.response.headers["Content-Type"] == JSON_CONTENT_TYPE  # the handshake's 400


async def test_same_view_on_two_paths() -> None:
    app = TypedRoll()

    async def view(id: int = 0, q: str = "") -> str:
        return f"{id}{q}"

    app.route("/x/")(view)
    app.route("/x/{id}")(view)
    client = Client(app)
    assert (await client.get("/x/")).body == b"0"
    assert (await client.get("/x/5?q=!")).body == b"5!"


async def test_route_add_hook_sees_the_view(app: TypedRoll) -> None:
    seen: list[Any] = []
    app.hooks["route:add"].append(lambda path, view, **extras: seen.append((path, view, extras)))

    async def view(page: int) -> None: ...

    assert app.route("/hooked", status=200)(view) is view
    assert seen == [("/hooked", view, {"status": 200})]


async def test_live(liveclient: LiveClient) -> None:
    response = await liveclient.query("GET", "/items/9")
    assert response.status == HTTPStatus.OK
    assert json.loads(response.body)["id"] == 9
    response = await liveclient.query("GET", "/items/nine")
    assert response.status == HTTPStatus.BAD_REQUEST


async def test_extensions_see_the_typed_view() -> None:
    from roll.extensions import cors, named_url

    app = TypedRoll()
    url_for = named_url(app)
    cors(app, origin="https://example.org")

    async def item(item_id: int, verbose: bool = False) -> int:
        return item_id

    app.route("/items/{item_id}")(item)
    app.route("/things/{item_id}", name="thing")(item)
    assert url_for("item", item_id=3) == "/items/3"
    assert url_for("thing", item_id=4) == "/things/4"
    response = await Client(app).get("/items/5")
    assert response.body == b"5"
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.org"


async def test_nothing_is_inspected_per_request(
    app: TypedRoll, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect
    import typing

    import roll.typed.analysis

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("inspected at request time")

    monkeypatch.setattr(inspect, "signature", forbidden)
    monkeypatch.setattr(typing, "get_type_hints", forbidden)
    monkeypatch.setattr(roll.typed.analysis, "get_type_hints", forbidden)
    assert (await client.get("/items/3")).status == HTTPStatus.OK
    assert (await client.put("/items/4", {"name": "hat"})).body == b"4:hat"
    assert (await client.get("/ws-less-route-missing")).status == HTTPStatus.NOT_FOUND


async def test_the_endpoint_paths_are_both_run(endpoint_path: str) -> None:
    """The `endpoint_path` fixture's second run uses the general endpoint."""
    app = TypedRoll()

    @app.route("/count")
    async def count(n: int) -> int:
        return n

    endpoint = app.registry[-1].handlers["GET"]
    compiled = endpoint.__code__.co_filename.startswith("<roll.typed endpoint")
    assert compiled == (endpoint_path == "compiled")
    assert (await Client(app).get("/count?n=3")).body == b"3"


async def test_websocket_endpoint_called_directly_runs_as_the_core_does() -> None:
    """Its `prepare`, then the handler: an invalid message closes with 1007."""
    app = TypedRoll()

    @app.route("/numbers", protocol="websocket")
    async def numbers(ws: WebSocket) -> None:
        await ws.send(str(await ws.receive_json(int)))

    payload, vars = app.routes.match("/numbers")
    assert payload is not None and vars is not None
    ws = FakeWebSocket(["not a number"])
    await payload["GET"](fake_request(app, "/numbers", "", {}), ws, **vars)
    assert ws.closes == [1007]
    assert ws.sent == []
