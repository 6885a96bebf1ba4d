"""Routing: placeholders, non-ASCII paths, 404/405, class-based views, extras."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest

from roll import Request, Response, Roll
from roll.testing import Client, LiveClient


async def test_default_method_is_get(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "get"

    assert (await client.get("/test")).body == b"get"
    resp = await client.post("/test")
    assert resp.status == HTTPStatus.METHOD_NOT_ALLOWED
    assert resp.body == b"POST"


async def test_404_body_is_the_path(app: Roll, client: Client) -> None:
    resp = await client.get("/not/found")
    assert resp.status == HTTPStatus.NOT_FOUND
    assert resp.body == b"/not/found"


async def test_404_and_405_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/test", methods=["PUT"])
    async def handler(request: Request, response: Response) -> None:
        pass

    resp = await liveclient.query("GET", "/nope")
    assert resp.status == HTTPStatus.NOT_FOUND
    assert resp.reason == "Not Found"
    resp = await liveclient.query("GET", "/test")
    assert resp.status == HTTPStatus.METHOD_NOT_ALLOWED
    assert resp.reason == "Method Not Allowed"
    resp = await liveclient.query("PUT", "/test", body=b"")
    assert resp.status == HTTPStatus.OK


async def test_several_methods(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["GET", "POST", "patch"])
    async def handler(request: Request, response: Response) -> None:
        response.body = request.method

    for method in ("GET", "POST", "PATCH"):
        assert (await client.request("/test", method=method)).body == method.encode()
    assert (await client.put("/test")).status == HTTPStatus.METHOD_NOT_ALLOWED


async def test_same_path_two_methods_two_handlers(app: Roll, client: Client) -> None:
    @app.route("/test", methods=["GET"])
    async def get(request: Request, response: Response) -> None:
        response.body = "get"

    @app.route("/test", methods=["POST"])
    async def post(request: Request, response: Response) -> None:
        response.body = "post"

    assert (await client.get("/test")).body == b"get"
    assert (await client.post("/test")).body == b"post"
    assert (await client.delete("/test")).status == HTTPStatus.METHOD_NOT_ALLOWED


async def test_same_function_under_two_paths(app: Roll, client: Client) -> None:
    @app.route("/x/")
    @app.route("/x/{id}")
    async def handler(request: Request, response: Response, id: str = "none") -> None:
        response.body = id

    assert (await client.get("/x/")).body == b"none"
    assert (await client.get("/x/42")).body == b"42"


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/{p}", "/foo", "foo"),
        ("/{p:string}", "/foo-bar", "foo-bar"),
        ("/{p:digit}", "/123", "123"),
        ("/{p:alnum}", "/abc123", "abc123"),
        ("/{p:alpha}", "/abc", "abc"),
        ("/{p:any}", "/a-b_c.d", "a-b_c.d"),
        ("/{p:path}", "/a/b/c", "a/b/c"),
        ("/t/{p:path}", "/t/", ""),
        ("/{p:[xyz]+}", "/xyzzy", "xyzzy"),
        ("/{p:[0-9]+}", "/42", "42"),
    ],
)
async def test_placeholders_match(
    app: Roll, client: Client, pattern: str, path: str, expected: str
) -> None:
    @app.route(pattern)
    async def handler(request: Request, response: Response, p: str) -> None:
        assert request.route.vars == {"p": p}
        response.body = p

    resp = await client.get(path)
    assert resp.status == HTTPStatus.OK
    assert resp.body == expected.encode()


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/{p}", "/foo/bar"),
        ("/{p:digit}", "/12a"),
        ("/{p:alnum}", "/ab-c"),
        ("/{p:alpha}", "/abc1"),
        ("/{p:[xyz]+}", "/xyza"),
        ("/{p:[0-9]+}", "/12x"),
    ],
)
async def test_placeholders_do_not_match(
    app: Roll, client: Client, pattern: str, path: str
) -> None:
    @app.route(pattern)
    async def handler(request: Request, response: Response, p: str) -> None:
        response.body = p

    assert (await client.get(path)).status == HTTPStatus.NOT_FOUND


async def test_several_placeholders(app: Roll, client: Client) -> None:
    @app.route("/{category}/{id:digit}/{rest:path}")
    async def handler(
        request: Request, response: Response, category: str, id: str, rest: str
    ) -> None:
        response.json = [category, id, rest]

    assert (await client.get("/books/12/a/b")).body == b'["books", "12", "a/b"]'


async def test_non_ascii_path(app: Roll, client: Client, liveclient: LiveClient) -> None:
    @app.route("/testé")
    async def handler(request: Request, response: Response) -> None:
        response.body = request.path

    resp = await client.get("/testé")
    assert resp.status == HTTPStatus.OK
    assert resp.body == "/testé".encode()
    assert client.protocol is not None
    assert client.protocol.request.url == b"/test%C3%A9"  # sent percent-encoded
    resp2 = await liveclient.query("GET", "/test%C3%A9")
    assert resp2.status == HTTPStatus.OK
    assert resp2.body == "/testé".encode()


async def test_non_ascii_placeholder_value(app: Roll, client: Client) -> None:
    @app.route("/name/{name}")
    async def handler(request: Request, response: Response, name: str) -> None:
        response.body = name

    assert (await client.get("/name/éloïse")).body == "éloïse".encode()


async def test_percent_encoded_path_is_decoded(app: Roll, client: Client) -> None:
    @app.route("/foo+bar")
    async def handler(request: Request, response: Response) -> None:
        response.body = request.path

    assert (await client.get("/foo%2Bbar")).body == b"/foo+bar"


async def test_extras_in_payload(app: Roll, client: Client) -> None:
    @app.route("/test", custom="value", name="named", accepts=["text/html"])
    async def handler(request: Request, response: Response) -> None:
        payload = request.route.payload
        assert payload is not None
        assert payload["GET"] is handler
        response.json = [payload["custom"], payload["name"], payload["accepts"]]

    resp = await client.get("/test")
    assert resp.body == b'["value", "named", ["text/html"]]'


async def test_route_on_unknown_path_has_falsy_payload(app: Roll, client: Client) -> None:
    seen: list[Any] = []

    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        seen.append((request.route.payload, request.route.vars))

    await client.get("/nothing")
    assert seen[0][0] is None  # the reference: "None when request path is not found"
    assert seen[0][1] == {}


class TestClassBasedViews:
    async def test_methods(self, app: Roll, client: Client) -> None:
        @app.route("/test")
        class View:
            async def on_get(self, request: Request, response: Response) -> None:
                response.body = "get"

            async def on_post(self, request: Request, response: Response) -> None:
                response.body = "post " + request.body.decode()

        assert (await client.get("/test")).body == b"get"
        assert (await client.post("/test", body=b"data")).body == b"post data"
        resp = await client.put("/test")
        assert resp.status == HTTPStatus.METHOD_NOT_ALLOWED

    async def test_returns_the_class(self, app: Roll) -> None:
        class View:
            async def on_get(self, request: Request, response: Response) -> None:
                pass

        assert app.route("/test")(View) is View

    async def test_instantiated_once(self, app: Roll, client: Client) -> None:
        instances: list[Any] = []

        @app.route("/test")
        class View:
            def __init__(self) -> None:
                instances.append(self)

            async def on_get(self, request: Request, response: Response) -> None:
                response.body = str(len(instances))

        assert (await client.get("/test")).body == b"1"
        assert (await client.get("/test")).body == b"1"
        assert len(instances) == 1

    async def test_inheritance_and_class_attributes(self, app: Roll, client: Client) -> None:
        class Base:
            greeting = "hello"

            async def on_get(self, request: Request, response: Response, name: str) -> None:
                response.body = f"{self.greeting} {name}"

        @app.route("/hi/{name}", custom="extra")
        class Child(Base):
            greeting = "hi"

            async def on_delete(self, request: Request, response: Response, name: str) -> None:
                assert request.route.payload is not None
                response.body = f"bye {name} {request.route.payload['custom']}"

        assert (await client.get("/hi/you")).body == b"hi you"
        assert (await client.delete("/hi/you")).body == b"bye you extra"

    async def test_methods_argument_raises_attribute_error(self, app: Roll) -> None:
        with pytest.raises(AttributeError):

            @app.route("/test", methods=["GET"])
            class View:
                async def on_get(self, request: Request, response: Response) -> None:
                    pass

    async def test_no_handler_raises_value_error(self, app: Roll) -> None:
        with pytest.raises(ValueError):

            @app.route("/test")
            class View:
                async def get(self, request: Request, response: Response) -> None:
                    pass

    async def test_failed_registration_registers_nothing(self, app: Roll, client: Client) -> None:
        with pytest.raises(ValueError):

            @app.route("/test")
            class View:
                pass

        assert (await client.get("/test")).status == HTTPStatus.NOT_FOUND


async def test_lazy_body_extra_is_not_passed_to_route_add(app: Roll) -> None:
    seen: list[dict[str, Any]] = []

    @app.listen("route:add")
    def on_route_add(path: str, view: Any, **extras: Any) -> None:
        seen.append(extras)

    @app.route("/test", lazy_body=True, flag=True)
    async def handler(request: Request, response: Response) -> None:
        pass

    assert seen == [{"flag": True}]


async def test_registry_records_each_registration(app: Roll, client: Client) -> None:
    async def handler(request: Request, response: Response) -> None:
        response.body = "ok"

    class View:
        async def on_get(self, request: Request, response: Response) -> None:
            response.body = "view"

    app.route("/one", methods=["GET", "POST"], custom="x")(handler)
    app.route("/view", lazy_body=True)(View)
    first, second = app.registry
    assert (first.path, first.view, first.protocol, first.lazy_body) == (
        "/one",
        handler,
        "http",
        False,
    )
    assert first.handlers == {"GET": handler, "POST": handler}
    assert first.extras == {"custom": "x"}
    assert (second.path, second.view, second.lazy_body) == ("/view", View, True)
    assert list(second.handlers) == ["GET"]


async def test_add_route_registers_handlers_directly(app: Roll, client: Client) -> None:
    async def put(request: Request, response: Response, id: str) -> None:
        response.body = f"put {id}"

    seen: list[tuple[str, Any]] = []
    app.hooks["route:add"].append(lambda path, view, **extras: seen.append((path, view)))
    record = app.add_route("/items/{id}", {"PUT": put}, custom=1)
    assert (await client.put("/items/7")).body == b"put 7"
    assert (await client.get("/items/7")).status == HTTPStatus.METHOD_NOT_ALLOWED
    assert seen == [("/items/{id}", put)]
    assert app.registry == [record]
    assert record.extras == {"custom": 1}
