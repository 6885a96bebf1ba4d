"""Dependencies: providers of every kind, shared per request, closed after the handler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from roll import HttpError, Request
from roll.testing import Client
from roll.typed import Depends, Header, TypedRoll


@dataclass
class Database:
    name: str
    closed: bool = False


class User(BaseModel):
    name: str


@pytest.fixture
def app(events: list[str]) -> TypedRoll:
    app = TypedRoll()
    counter = {"calls": 0}

    def settings() -> dict[str, str]:
        events.append("settings")
        return {"db": "main"}

    async def token(authorization: Annotated[str, Header()] = "") -> str:
        counter["calls"] += 1
        return authorization.removeprefix("Bearer ")

    async def current_user(token: Annotated[str, Depends(token)], request: Request) -> User:
        if not token:
            raise HttpError(HTTPStatus.UNAUTHORIZED, "Who are you?")
        request["user"] = token
        return User(name=token)

    async def transaction(
        conf: Annotated[dict[str, str], Depends(settings)],
    ) -> AsyncIterator[Database]:
        db = Database(conf["db"])
        events.append("begin")
        try:
            yield db
        except Exception as error:
            events.append(f"rollback {error}")
            raise
        else:
            events.append("commit")
        finally:
            db.closed = True

    def cursor() -> Iterator[str]:
        events.append("open cursor")
        yield "cursor"
        events.append("close cursor")

    def page(page: int = 1) -> int:
        return page

    @app.route("/me")
    async def me(
        user: Annotated[User, Depends(current_user)],
        again: Annotated[User, Depends(current_user)],
        raw: Annotated[str, Depends(token)],
    ) -> dict[str, Any]:
        return {"name": user.name, "same": user is again, "raw": raw, "calls": counter["calls"]}

    @app.route("/tx/{kind}")
    async def tx(
        kind: str,
        db: Annotated[Database, Depends(transaction)],
        cur: Annotated[str, Depends(cursor)],
    ) -> str:
        events.append(f"handler {db.name} {cur}")
        if kind == "fail":
            raise ValueError("oops")
        if kind == "http":
            raise HttpError(HTTPStatus.CONFLICT, "conflict")
        return "done"

    @app.route("/pages")
    async def pages(n: Annotated[int, Depends(page)], limit: int = 10) -> list[int]:
        return [n, limit]

    return app


async def test_shared_and_nested(client: Client) -> None:
    response = await client.get("/me", headers={"Authorization": "Bearer ann"})
    assert response.status == HTTPStatus.OK
    assert json.loads(response.body) == {"name": "ann", "same": True, "raw": "ann", "calls": 1}
    response = await client.get("/me", headers={"Authorization": "Bearer bob"})
    assert json.loads(response.body)["calls"] == 2  # once per request


async def test_provider_raising_http_error(client: Client) -> None:
    response = await client.get("/me")
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.body == b"Who are you?"


async def test_generators_finished_after_success(client: Client, events: list[str]) -> None:
    response = await client.get("/tx/ok")
    assert response.body == b"done"
    assert events == [
        "settings",
        "begin",
        "open cursor",
        "handler main cursor",
        "close cursor",
        "commit",
    ]


async def test_generators_get_the_error(client: Client, events: list[str]) -> None:
    response = await client.get("/tx/fail")
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert events == ["settings", "begin", "open cursor", "handler main cursor", "rollback oops"]


async def test_generators_get_http_errors(client: Client, events: list[str]) -> None:
    response = await client.get("/tx/http")
    assert response.status == HTTPStatus.CONFLICT
    assert events[-1] == "rollback conflict"


async def test_dependency_problems_are_collected(client: Client) -> None:
    response = await client.get("/pages?page=x&limit=y")
    assert response.status == HTTPStatus.BAD_REQUEST
    assert json.loads(response.body)["errors"] == [
        {"location": "query", "name": "limit", "message": "Input should be a valid integer"},
        {"location": "query", "name": "page", "message": "Input should be a valid integer"},
    ]
    assert json.loads((await client.get("/pages?page=3")).body) == [3, 10]


async def test_entered_generators_are_closed_on_invalid_input(
    app: TypedRoll, client: Client, events: list[str]
) -> None:
    def bad(n: int) -> int:
        return n

    async def gen() -> AsyncIterator[int]:
        events.append("enter")
        try:
            yield 1
        finally:
            events.append("exit")

    @app.route("/gen")
    async def view(a: Annotated[int, Depends(gen)], b: Annotated[int, Depends(bad)]) -> int:
        return a + b

    response = await client.get("/gen?n=x")
    assert response.status == HTTPStatus.BAD_REQUEST
    # gen was entered before bad failed: it is still finished.
    assert events == ["enter", "exit"]


class Cache:
    instances = 0

    def __init__(self) -> None:
        Cache.instances += 1
        self.open = True


class Session:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache


async def test_app_level_providers(events: list[str]) -> None:
    app = TypedRoll()
    Cache.instances = 0

    async def make_cache() -> AsyncIterator[Cache]:
        cache = Cache()
        yield cache
        cache.open = False
        events.append("cache closed")

    def make_session(cache: Cache, request: Request) -> Session:
        events.append(f"session {request.path}")
        return Session(cache)

    app.provide(Cache, make_cache, singleton=True)
    app.provide(Session, make_session)

    @app.route("/")
    async def view(session: Session, cache: Cache, again: Session) -> dict[str, Any]:
        return {"same": session.cache is cache, "shared": session is again, "n": Cache.instances}

    client = Client(app)
    await app.startup()
    first = json.loads((await client.get("/")).body)
    second = json.loads((await client.get("/")).body)
    assert first == {"same": True, "shared": True, "n": 1}
    assert second == first
    assert events == ["session /", "session /"]
    await app.shutdown()
    assert events[-1] == "cache closed"


async def test_local_models_with_future_annotations() -> None:
    app = TypedRoll()

    class Local(BaseModel):
        value: int

    def double(local: Local) -> int:
        return local.value * 2

    @app.route("/", methods=["POST"])
    async def view(n: Annotated[int, Depends(double)]) -> int:
        return n

    assert (await Client(app).post("/", {"value": 21})).body == b"42"


class Pager:
    def __init__(self, page: int = 1, size: int = 10) -> None:
        self.page, self.size = page, size


class Prefixer:
    def __call__(self, prefix: Annotated[str, Header(alias="X-Prefix")] = "") -> str:
        return prefix


async def test_classes_and_callable_instances_as_providers() -> None:
    app = TypedRoll()

    @app.route("/")
    async def view(
        pager: Annotated[Pager, Depends(Pager)],
        prefix: Annotated[str, Depends(Prefixer())],
    ) -> str:
        return f"{prefix}{pager.page}/{pager.size}"

    client = Client(app)
    response = await client.get("/?page=2&size=5", headers={"X-Prefix": ">"})
    assert response.body == b">2/5"
    bad = await client.get("/?page=two")
    assert json.loads(bad.body)["errors"][0]["name"] == "page"
