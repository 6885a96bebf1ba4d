"""Mistakes FastAPI users make, refused at registration with what to write instead.

(No `from __future__ import annotations`: `message()` registers from another frame,
`registration_error()`'s, where names local to a test would not resolve.)
"""

import threading
from collections.abc import Iterator
from http import HTTPStatus
from typing import Annotated, Any

import pytest

from roll import Request, Response, Roll
from roll.testing import Client
from roll.typed import Depends, TypedRoll
from typed.support import registration_error


@pytest.fixture
def app() -> TypedRoll:
    return TypedRoll()


def message(app: TypedRoll, path: str, view: Any, **kwargs: Any) -> str:
    return str(registration_error(app, path, view, **kwargs))


async def view() -> None: ...


@pytest.mark.parametrize(
    "keyword, hint",
    [
        ("status_code", "use status=... (the success status of a typed handler)"),
        ("response_model", "annotate the handler's return type instead (-> Model)"),
        (
            "response_class",
            "return str (text), bytes (raw) or a model (JSON), or set"
            " response.headers['Content-Type'] in the handler",
        ),
    ],
)
def test_foreign_keywords(app: TypedRoll, keyword: str, hint: str) -> None:
    assert message(app, "/", view, **{keyword: 201}) == (
        f"Route '/': handler view: unknown keyword {keyword}=: {hint}"
    )


def test_free_form_extras_still_work(app: TypedRoll) -> None:
    app.route("/", owner="me", cache=3)(view)
    assert app.routes.match("/")[0]["owner"] == "me"  # type: ignore[index]


def test_invalid_status(app: TypedRoll) -> None:
    assert message(app, "/", view, status=999) == (
        "Route '/': handler view: status=999 is not an HTTP status (100-599)"
    )
    assert "status='201'" in message(app, "/", view, status="201")


def test_unknown_method(app: TypedRoll) -> None:
    assert message(app, "/", view, methods=["PSOT"]) == (
        "Route '/': handler view: unknown HTTP method 'PSOT': did you mean 'POST'?"
    )
    assert message(app, "/", view, methods=["FROB"]) == (
        "Route '/': handler view: unknown HTTP method 'FROB' (known: GET, HEAD, POST, PUT,"
        " DELETE, TRACE, OPTIONS, CONNECT, PATCH)"
    )


def test_same_path_and_method_twice(app: TypedRoll) -> None:
    async def first(item_id: int) -> None: ...

    async def second(other: int) -> None: ...

    app.route("/items/{item_id}", methods=["GET", "PUT"])(first)
    app.route("/items/{other}", methods=["POST"])(second)  # another method: fine
    assert message(app, "/items/{other}", second, methods=["PUT"]) == (
        "Route '/items/{other}': handler test_same_path_and_method_twice.<locals>.second:"
        " PUT '/items/{item_id}' is already handled by"
        " test_same_path_and_method_twice.<locals>.first"
    )
    app.route("/items/{item_id:digit}", methods=["PUT"])(first)  # another pattern


@pytest.mark.parametrize(
    "path, hint",
    [
        ("/items/{id:int}", "use {id:digit}, or {id} with an int annotation"),
        ("/items/{id:uuid}", "use {id} with a UUID annotation"),
        ("/items/{id:number}", "autoroutes types are alnum, alpha, digit, path, string"),
    ],
)
def test_unknown_placeholder_type(app: TypedRoll, path: str, hint: str) -> None:
    spec = path.split(":")[1].rstrip("}")
    assert message(app, path, view) == (
        f"Route {path!r}: parameter 'id' of handler view: unknown placeholder type"
        f" {{id:{spec}}} (it would only match the text {spec!r}): {hint}"
    )


def test_regex_placeholders_still_work(app: TypedRoll) -> None:
    async def show(id: str) -> None: ...

    app.route("/items/{id:[a-z]+}")(show)


def test_plain_handler_missing_a_placeholder(app: TypedRoll) -> None:
    async def show(request: Request, response: Response) -> None: ...

    assert message(app, "/items/{item_id}", show) == (
        "Route '/items/{item_id}': parameter 'item_id' of handler"
        " test_plain_handler_missing_a_placeholder.<locals>.show: the URL placeholder"
        " {item_id} has no parameter: add a parameter 'item_id' (or **kwargs) to the handler"
    )

    async def with_kwargs(request: Request, response: Response, **kwargs: str) -> None: ...

    app.route("/items/{item_id}")(with_kwargs)


def test_plain_roll_app_keeps_roll_behaviour() -> None:
    app = Roll()

    async def show(request: Request, response: Response) -> None: ...

    app.route("/items/{item_id:int}", methods=["PSOT"], status_code=999)(show)  # as Roll does


def test_provider_returning_another_type(app: TypedRoll) -> None:
    def get_name() -> str:
        return "ann"

    async def show(count: Annotated[int, Depends(get_name)]) -> None: ...

    assert message(app, "/", show) == (
        "Route '/': parameter 'count' of handler"
        " test_provider_returning_another_type.<locals>.show: Depends("
        "test_provider_returning_another_type.<locals>.get_name) returns str, which is not"
        " int: fix the annotation of the parameter or of the provider"
    )


def test_provider_types_that_fit(app: TypedRoll) -> None:
    class Base:
        pass

    class Child(Base):
        pass

    def child() -> Child:
        return Child()

    def maybe() -> int | None:
        return None

    def session() -> Iterator[int]:
        yield 1

    def untyped():  # type: ignore[no-untyped-def]
        return 1

    async def show(
        a: Annotated[Base, Depends(child)],
        b: Annotated[float | None, Depends(maybe)],
        c: Annotated[int, Depends(session)],
        d: Annotated[str, Depends(untyped)],
        e: Annotated[Base, Depends(Child)],
    ) -> None: ...

    app.route("/")(show)

    async def wrong(count: Annotated[int, Depends(maybe)]) -> None: ...

    assert "returns int | None, which is not int" in message(app, "/wrong", wrong)

    def strings() -> Iterator[str]:
        yield ""

    async def wrong_generator(count: Annotated[int, Depends(strings)]) -> None: ...

    assert "returns str, which is not int" in message(app, "/wrong", wrong_generator)


def test_generator_handler_is_refused(app: TypedRoll) -> None:
    async def stream(page: int):  # type: ignore[no-untyped-def]
        yield b""

    assert message(app, "/", stream) == (
        "Route '/': handler test_generator_handler_is_refused.<locals>.stream: a handler"
        " cannot be a async generator function: make it async def and return an async"
        " generator to stream a body"
    )


def test_sync_websocket_handler_is_refused(app: TypedRoll) -> None:
    def ws(ws: Any) -> None: ...

    assert message(app, "/ws", ws, protocol="websocket").endswith(
        "a websocket handler must be async def"
    )


async def test_sync_handlers_run_in_a_worker_thread(app: TypedRoll) -> None:
    threads: list[int] = []

    @app.route("/typed/{item_id}")
    def typed(item_id: int, q: str = "") -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {"id": item_id, "q": q}

    @app.route("/plain/{name}")
    def plain(request: Request, response: Response, name: str) -> None:
        threads.append(threading.get_ident())
        response.body = f"hi {name}"

    @app.route("/view")
    class View:
        def on_get(self, page: int = 1) -> int:
            return page

    client = Client(app)
    assert (await client.get("/typed/3?q=x")).json() == {"id": 3, "q": "x"}
    assert (await client.get("/plain/ann")).text == "hi ann"
    assert (await client.get("/view?page=2")).json() == 2
    bad = await client.get("/typed/x")
    assert bad.status == HTTPStatus.BAD_REQUEST
    assert threads and threading.get_ident() not in threads


async def test_sync_wrappers_of_coroutines_still_work(app: TypedRoll) -> None:
    """Roll awaited whatever a handler returned: a sync decorator returning the
    coroutine of an async handler keeps working (the wrapper runs in a thread)."""

    async def real(request: Request, response: Response) -> None:
        response.body = "real"

    def wrapper(request: Request, response: Response) -> Any:
        return real(request, response)

    app.route("/wrapped")(wrapper)
    assert (await Client(app).get("/wrapped")).text == "real"
