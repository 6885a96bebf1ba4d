"""`dependencies=[Depends(f)]` on a route: run first, values discarded, same rules."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Annotated

import pytest

from roll import HttpError, Request, Response
from roll.testing import Client
from roll.typed import Depends, Header, Query, RouteDefinitionError, TypedRoll

events: list[str] = []


def verify_key(x_key: Annotated[str, Header()]) -> str:
    events.append("verify_key")
    if x_key != "secret":
        raise HttpError(HTTPStatus.UNAUTHORIZED, "Bad key")
    return x_key


def session() -> Iterator[str]:
    events.append("open")
    try:
        yield "session"
    except Exception as error:
        events.append(f"rollback {type(error).__name__}")
        raise
    else:
        events.append("commit")


def ticket(ticket: Annotated[int, Query()]) -> int:
    return ticket


@pytest.fixture
def app() -> TypedRoll:
    events.clear()
    app = TypedRoll()

    @app.route("/admin", dependencies=[Depends(verify_key)])
    async def admin() -> str:
        events.append("admin")
        return "admin page"

    @app.route("/plain-admin", dependencies=[Depends(verify_key)])
    async def plain_admin(request: Request, response: Response) -> None:
        response.body = "plain admin page"

    @app.route("/cached", dependencies=[Depends(verify_key), Depends(session)])
    async def cached(
        key: Annotated[str, Depends(verify_key)], db: Annotated[str, Depends(session)]
    ) -> str:
        return f"{key} {db}"

    @app.route("/failing", dependencies=[Depends(session)])
    async def failing() -> None:
        raise RuntimeError("boom")

    @app.route("/problems", dependencies=[Depends(ticket)])
    async def problems(page: int) -> int:
        return page

    return app


async def test_a_failing_dependency_refuses(client: Client) -> None:
    response = await client.get("/admin")
    assert response.status == HTTPStatus.BAD_REQUEST  # the header is required
    assert response.json() == {
        "errors": [{"location": "header", "name": "x-key", "message": "Field required"}]
    }
    response = await client.get("/admin", headers={"X-Key": "wrong"})
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.text == "Bad key"
    assert events == ["verify_key"]  # the handler never ran
    response = await client.get("/admin", headers={"X-Key": "secret"})
    assert (response.status, response.text) == (HTTPStatus.OK, "admin page")


async def test_plain_handler_is_guarded(client: Client) -> None:
    assert (await client.get("/plain-admin", headers={"X-Key": "no"})).status == 401
    response = await client.get("/plain-admin", headers={"X-Key": "secret"})
    assert response.text == "plain admin page"


async def test_cached_per_request_and_finished(client: Client) -> None:
    response = await client.get("/cached", headers={"X-Key": "secret"})
    assert response.text == "secret session"
    assert events == ["verify_key", "open", "commit"]


async def test_generator_gets_the_error(client: Client) -> None:
    assert (await client.get("/failing")).status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert events == ["open", "rollback RuntimeError"]


async def test_problems_in_the_same_400(client: Client) -> None:
    response = await client.get("/problems?page=x")
    assert response.json() == {
        "errors": [
            {"location": "query", "name": "ticket", "message": "Field required"},
            {"location": "query", "name": "page", "message": "Input should be a valid integer"},
        ]
    }


def test_dependencies_must_be_depends() -> None:
    app = TypedRoll()
    with pytest.raises(RouteDefinitionError) as info:

        @app.route("/", dependencies=[verify_key])
        async def view() -> None: ...

    assert str(info.value) == (
        "Route '/': handler test_dependencies_must_be_depends.<locals>.view:"
        f" dependencies=[...] takes Depends(provider) items, got {verify_key!r}"
    )


def test_plain_websocket_with_dependencies_is_refused() -> None:
    app = TypedRoll()
    with pytest.raises(RouteDefinitionError, match="on a plain websocket handler"):

        @app.route("/ws", protocol="websocket", dependencies=[Depends(verify_key)])
        async def ws(request: Request, ws: object) -> None: ...
