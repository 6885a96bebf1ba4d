"""The app: hooks and their order, short-cuts, startup/shutdown, error handling."""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

import pytest

from hardening_helpers import exchange

from roll import HttpError, Request, Response, Roll
from roll.testing import Client, LiveClient


async def test_roll_is_a_dict_with_free_attributes(app: Roll) -> None:
    app["websockets"] = set()
    app.url_for = lambda name: name  # type: ignore[attr-defined]
    assert app["websockets"] == set()
    assert app.url_for("x") == "x"  # type: ignore[attr-defined]
    assert isinstance(app, dict)


async def test_unknown_hook_reads_as_empty_list(app: Roll) -> None:
    assert app.hooks["nothing-registered"] == []
    assert await app.hook("nothing-registered") is None


async def test_hooks_item_assignment_resets(app: Roll) -> None:
    calls: list[str] = []

    @app.listen("startup")
    async def on_startup() -> None:
        calls.append("startup")

    app.hooks["startup"] = []
    await app.startup()
    assert calls == []


async def test_custom_hook_with_args_stops_at_first_truthy(app: Roll) -> None:
    calls: list[tuple[str, Any, Any]] = []

    @app.listen("custom")
    async def first(a: int, b: int = 0) -> None:
        calls.append(("first", a, b))

    @app.listen("custom")
    async def second(a: int, b: int = 0) -> str:
        calls.append(("second", a, b))
        return "stop"

    @app.listen("custom")
    async def third(a: int, b: int = 0) -> str:
        calls.append(("third", a, b))
        return "never"

    assert await app.hook("custom", 1, b=2) == "stop"
    assert calls == [("first", 1, 2), ("second", 1, 2)]


async def test_listen_returns_the_function(app: Roll) -> None:
    async def listener() -> None:
        pass

    assert app.listen("startup")(listener) is listener


async def test_startup_and_shutdown(app: Roll) -> None:
    calls: list[str] = []

    @app.listen("startup")
    async def one() -> None:
        calls.append("startup one")

    @app.listen("startup")
    async def two() -> None:
        calls.append("startup two")

    @app.listen("shutdown")
    async def three() -> None:
        calls.append("shutdown")

    await app.startup()
    assert calls == ["startup one", "startup two"]
    await app.shutdown()
    assert calls == ["startup one", "startup two", "shutdown"]


async def test_hooks_order(app: Roll, client: Client) -> None:
    calls: list[str] = []

    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> None:
        calls.append("headers")
        with pytest.raises(HttpError):
            request.body

    @app.listen("request")
    async def on_request(request: Request, response: Response) -> None:
        calls.append(f"request {request.body!r}")

    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        calls.append(f"response {response.body!r}")

    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        calls.append("handler")
        response.body = "done"

    resp = await client.post("/test", body=b"data")
    assert resp.status == HTTPStatus.OK
    assert resp.body == b"done"
    # The response hook sees the body as the handler set it (a str).
    assert calls == ["headers", "request b'data'", "handler", "response 'done'"]


async def test_headers_hook_runs_for_unknown_paths(app: Roll, client: Client) -> None:
    seen: list[Any] = []

    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> None:
        seen.append(request.route.payload)

    resp = await client.get("/nowhere")
    assert resp.status == HTTPStatus.NOT_FOUND
    assert len(seen) == 1 and not seen[0]


async def test_headers_hook_shortcut(app: Roll, client: Client) -> None:
    calls: list[str] = []

    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> bool:
        response.body = "short"
        return True

    @app.listen("request")
    async def on_request(request: Request, response: Response) -> None:
        calls.append("request")

    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        calls.append("response")

    @app.route("/test", methods=["GET"])
    async def handler(request: Request, response: Response) -> None:
        calls.append("handler")

    # Even an unknown path or a wrong method: the short-cut wins over 404/405.
    for path, method in (("/test", "GET"), ("/unknown", "GET"), ("/test", "POST")):
        resp = await client.request(path, method=method)
        assert resp.status == HTTPStatus.OK
        assert resp.body == b"short"
    assert calls == ["response"] * 3


async def test_request_hook_shortcut(app: Roll, client: Client) -> None:
    calls: list[str] = []

    @app.listen("request")
    async def on_request(request: Request, response: Response) -> bool:
        response.status = 202
        return True

    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        calls.append("response")

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        calls.append("handler")

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.ACCEPTED
    assert resp.body == b""
    assert calls == ["response"]


async def test_first_truthy_listener_stops_the_chain(app: Roll, client: Client) -> None:
    calls: list[str] = []

    @app.listen("request")
    async def first(request: Request, response: Response) -> None:
        calls.append("first")

    @app.listen("request")
    async def second(request: Request, response: Response) -> bool:
        calls.append("second")
        return True

    @app.listen("request")
    async def third(request: Request, response: Response) -> None:
        calls.append("third")

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        calls.append("handler")

    await client.get("/test")
    assert calls == ["first", "second"]


async def test_response_hook_runs_on_404_and_errors(app: Roll, client: Client) -> None:
    seen: list[tuple[HTTPStatus, Any]] = []

    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        seen.append((response.status, response.body))

    @app.route("/boom")
    async def boom(request: Request, response: Response) -> None:
        raise RuntimeError("kaboom")

    @app.route("/teapot")
    async def teapot(request: Request, response: Response) -> None:
        raise HttpError(418, "short and stout")

    await client.get("/nowhere")
    await client.get("/boom")
    await client.get("/teapot")
    await client.post("/teapot")
    assert seen == [
        (HTTPStatus.NOT_FOUND, "/nowhere"),
        (HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error"),  # never the text
        (HTTPStatus.IM_A_TEAPOT, "short and stout"),
        (HTTPStatus.METHOD_NOT_ALLOWED, "POST"),
    ]


async def test_response_hook_can_change_status_and_body(app: Roll, client: Client) -> None:
    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        response.status = 201
        response.body = response.body.upper()

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "created"

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.CREATED
    assert resp.body == b"CREATED"


async def test_exception_in_response_hook_is_500(app: Roll, client: Client) -> None:
    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        raise RuntimeError("response hook failed")

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "fine"

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.body == b"Internal Server Error"


async def test_unhandled_exception_is_500_with_context(app: Roll, client: Client) -> None:
    errors: list[HttpError] = []

    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        errors.append(error)

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        raise ValueError("Oops")

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.body == b"Internal Server Error"  # the text stays on the server
    assert len(errors) == 1
    assert isinstance(errors[0], HttpError)
    assert errors[0].status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert errors[0].message == "Internal Server Error"
    assert isinstance(errors[0].__context__, ValueError)
    assert str(errors[0].__context__) == "Oops"


async def test_unhandled_exception_is_logged(
    app: Roll, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        raise ValueError("Oops")

    with caplog.at_level(logging.ERROR, logger="roll"):
        await client.get("/test")
    assert any(record.exc_info and record.exc_info[0] is ValueError for record in caplog.records)


async def test_http_error_status_and_message(app: Roll, client: Client) -> None:
    @app.route("/default")
    async def default(request: Request, response: Response) -> None:
        raise HttpError(HTTPStatus.INTERNAL_SERVER_ERROR)

    @app.route("/int")
    async def with_int(request: Request, response: Response) -> None:
        raise HttpError(409, message="Conflicting")

    resp = await client.get("/default")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.body == b"Internal Server Error"
    resp = await client.get("/int")
    assert resp.status == HTTPStatus.CONFLICT
    assert resp.body == b"Conflicting"


def test_http_error_attributes() -> None:
    error = HttpError(404)
    assert error.status is HTTPStatus.NOT_FOUND
    assert error.message == "Not Found"
    error = HttpError(HTTPStatus.BAD_REQUEST, "Bad", context={"k": "v"})
    assert error.status is HTTPStatus.BAD_REQUEST
    assert error.message == "Bad"
    assert error.context == {"k": "v"}
    with pytest.raises(ValueError):
        HttpError(999)


async def test_http_error_subclasses(app: Roll, client: Client) -> None:
    class Changed(HttpError):
        def __init__(self) -> None:
            super().__init__(400)
            self.message = "changed afterwards"

    class Bare(HttpError):
        def __init__(self) -> None:
            self.status = HTTPStatus.PAYMENT_REQUIRED
            self.message = "no super"

    @app.route("/changed")
    async def changed(request: Request, response: Response) -> None:
        raise Changed()

    @app.route("/bare")
    async def bare(request: Request, response: Response) -> None:
        raise Bare()

    resp = await client.get("/changed")
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert resp.body == b"changed afterwards"
    resp = await client.get("/bare")
    assert resp.status == HTTPStatus.PAYMENT_REQUIRED
    assert resp.body == b"no super"


async def test_error_hook_can_reshape_the_response(app: Roll, client: Client) -> None:
    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        assert response.status == error.status
        assert response.body == error.message
        response.json = {"status": error.status, "message": str(error.__context__ or error)}

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        raise RuntimeError("broken")

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    # A listener may choose to show the original error: it has it as __context__.
    assert json.loads(resp.body) == {"status": 500, "message": "broken"}
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"

    resp = await client.get("/missing")
    assert resp.status == HTTPStatus.NOT_FOUND
    assert json.loads(resp.body) == {"status": 404, "message": "/missing"}


async def test_exception_in_error_hook_is_still_500(app: Roll, client: Client) -> None:
    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        raise RuntimeError("the error hook failed")

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        raise HttpError(400, "bad")

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.body == b"Internal Server Error"


async def test_exception_in_error_hook_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.listen("error")
    async def on_error(request: Request, response: Response, error: HttpError) -> None:
        raise RuntimeError("the error hook failed")

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        raise ValueError("handler failed")

    resp = await liveclient.query("GET", "/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.reason == "Internal Server Error"
    assert resp.body == b"Internal Server Error"


async def test_exception_in_headers_and_request_hooks(app: Roll, client: Client) -> None:
    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> None:
        if request.path == "/headers":
            raise HttpError(401)

    @app.listen("request")
    async def on_request(request: Request, response: Response) -> None:
        if request.path == "/request":
            raise KeyError("k")

    @app.route("/{any}")
    async def handler(request: Request, response: Response, any: str) -> None:
        response.body = "ok"

    resp = await client.get("/headers")
    assert resp.status == HTTPStatus.UNAUTHORIZED
    assert resp.body == b"Unauthorized"
    resp = await client.get("/request")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert resp.body == b"Internal Server Error"
    resp = await client.get("/other")
    assert resp.body == b"ok"


async def test_route_add_hook(app: Roll) -> None:
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    @app.listen("route:add")
    def on_route_add(path: str, view: Any, **extras: Any) -> None:
        calls.append((path, view, extras))

    async def handler(request: Request, response: Response) -> None:
        pass

    app.route("/one", name="first", custom="value")(handler)
    app.route("/two", methods=["POST"])(handler)
    assert calls == [
        ("/one", handler, {"name": "first", "custom": "value"}),
        ("/two", handler, {}),
    ]


async def test_route_returns_the_view_unchanged(app: Roll, client: Client) -> None:
    @app.route("/a")
    @app.route("/b", name="b")
    async def handler(request: Request, response: Response) -> None:
        response.body = request.path

    assert handler.__name__ == "handler"
    assert (await client.get("/a")).body == b"/a"
    assert (await client.get("/b")).body == b"/b"


async def test_handler_receives_app_through_request(app: Roll, client: Client) -> None:
    app["greeting"] = "hi"

    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        assert request.app is app
        response.body = request.app["greeting"]

    assert (await client.get("/test")).body == b"hi"


async def test_status_999_is_500(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.status = 999

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR


async def test_subclassed_classes_are_used(client: Client, app: Roll) -> None:
    # The swappable class attributes are honoured per app.
    class MyResponse(Response):
        __slots__ = ()

        @property
        def custom(self) -> str:
            return "custom"

    class MyRoll(Roll):
        Response = MyResponse

    other = MyRoll()

    @other.route("/test")
    async def handler(request: Request, response: Response) -> None:
        assert isinstance(response, MyResponse)
        response.body = response.custom

    other_client = Client(other)
    assert (await other_client.get("/test")).body == b"custom"


async def test_refused_registration_registers_nothing(app: Roll, client: Client) -> None:
    @app.listen("route:add")
    def refuse(path: str, view: Any, **extras: Any) -> None:
        if extras.get("name") == "taken":
            raise ValueError("name already used")

    async def handler(request: Request, response: Response) -> None:
        pass

    with pytest.raises(ValueError):
        app.route("/refused", name="taken")(handler)
    assert (await client.get("/refused")).status == HTTPStatus.NOT_FOUND


async def test_broken_http_error_subclass_still_answers_500(
    app: Roll, liveclient: LiveClient
) -> None:
    class NoMessage(HttpError):
        def __init__(self) -> None:
            self.status = HTTPStatus.CONFLICT

    class BadStatus(HttpError):
        def __init__(self) -> None:
            self.status = 999  # type: ignore[assignment]
            self.message = "bad status"

    @app.route("/no-message")
    async def no_message(request: Request, response: Response) -> None:
        raise NoMessage()

    @app.route("/bad-status")
    async def bad_status(request: Request, response: Response) -> None:
        raise BadStatus()

    for path in ("/no-message", "/bad-status"):
        resp = await asyncio.wait_for(liveclient.query("GET", path), 2)
        assert resp.status == HTTPStatus.INTERNAL_SERVER_ERROR


async def test_swappable_classes() -> None:
    from autoroutes import Routes

    from roll import Cookies, Files, Form, HTTPProtocol

    used: list[str] = []

    class MyRoutes(Routes):
        pass

    class MyRequest(Request):
        __slots__ = ()

    class MyForm(Form):
        pass

    class MyFiles(Files):
        pass

    class MyCookies(Cookies):
        pass

    class MyProtocol(HTTPProtocol):
        __slots__ = ()

        def on_message_begin(self) -> None:
            used.append("protocol")
            super().on_message_begin()

    class MyRoll(Roll):
        Routes = MyRoutes
        Request = MyRequest
        Form = MyForm
        Files = MyFiles
        Cookies = MyCookies
        HttpProtocol = MyProtocol

    app = MyRoll()
    assert isinstance(app.routes, MyRoutes)
    assert isinstance(app.factory(), MyProtocol)

    @app.route("/test", methods=["POST"])
    async def handler(request: Request, response: Response) -> None:
        response.cookies.set("k", "v")
        response.json = [
            type(request).__name__,
            type(request.form).__name__,
            type(request.files).__name__,
            type(response.cookies).__name__,
        ]

    client = Client(app)
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        client.content_type = content_type
        resp = await client.post("/test", {"a": "b"})
        assert json.loads(resp.body) == ["MyRequest", "MyForm", "MyFiles", "MyCookies"]
    assert used == ["protocol", "protocol"]


async def test_lookup_fills_request_route(app: Roll) -> None:
    @app.route("/item/{id:digit}", custom=1)
    async def handler(request: Request, response: Response, id: str) -> None:
        pass

    request = Request(app, None)
    request.path = "/item/12"
    route = app.lookup(request)
    assert route is request.route
    assert route.vars == {"id": "12"}
    assert route.payload is not None and route.payload["custom"] == 1
    request.path = "/nothing"
    assert not app.lookup(request).payload


async def test_calling_the_app_directly(app: Roll) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.body = "called"

    request, response = Request(app, None), Response(app)
    request.method, request.path = "GET", "/test"
    request.body = b""
    app.lookup(request)
    await app(request, response)
    assert response.body == "called"


async def test_hooks_over_the_wire(app: Roll, liveclient: LiveClient) -> None:
    @app.listen("headers")
    async def on_headers(request: Request, response: Response) -> bool:
        if request.path == "/short":
            response.headers["X-Short"] = "1"
            return True
        return False

    @app.listen("response")
    async def on_response(request: Request, response: Response) -> None:
        response.headers["X-Seen"] = str(response.status.value)

    @app.route("/short")
    async def short(request: Request, response: Response) -> None:
        raise AssertionError("never called")

    data = await exchange(liveclient.port, b"GET /short HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data == (
        b"HTTP/1.1 200 OK\r\nX-Short: 1\r\nX-Seen: 200\r\nContent-Length: 0\r\n\r\n"
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Seen: 404\r\n"
        b"Content-Length: 8\r\n\r\n/missing"
    )
