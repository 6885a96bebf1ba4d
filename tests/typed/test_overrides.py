"""`app.override(target, replacement)` and providers registered in any order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from typing import Annotated

import pytest

from roll import HttpError
from roll.testing import Client, LiveClient
from roll.typed import Depends, Header, RouteDefinitionError, Router, TypedRoll


class Database:
    """Not a model (a model or dataclass not provided yet is read as the body)."""

    def __init__(self, name: str) -> None:
        self.name = name


events: list[str] = []


def current_user(authorization: Annotated[str, Header()] = "") -> str:
    if not authorization:
        raise HttpError(HTTPStatus.UNAUTHORIZED)
    return authorization


def make_app() -> TypedRoll:
    app = TypedRoll()

    # Registered before any provider of Database.
    @app.route("/me")
    async def me(user: Annotated[str, Depends(current_user)], db: Database) -> str:
        return f"{user} on {db.name}"

    @app.route("/guarded", dependencies=[Depends(current_user)])
    async def guarded() -> str:
        return "in"

    async def database() -> AsyncIterator[Database]:
        events.append("open main")
        yield Database("main")
        events.append("close main")

    app.provide(Database, database, singleton=True)
    return app


@pytest.fixture
def app() -> TypedRoll:
    events.clear()
    return make_app()


@pytest.fixture
def as_ann(app: TypedRoll) -> Iterator[None]:
    """An override in a fixture: `yield` inside the `with`."""
    with app.override(current_user, lambda: "ann"):
        yield


async def test_provider_registered_after_the_route(client: Client) -> None:
    response = await client.get("/me", headers={"Authorization": "bob"})
    assert response.text == "bob on main"


async def test_override_a_depends_provider(app: TypedRoll, client: Client) -> None:
    assert (await client.get("/me")).status == HTTPStatus.UNAUTHORIZED

    async def fake_user(x_user: Annotated[str, Header()] = "zoe") -> str:  # resolved as usual
        return x_user

    with app.override(current_user, fake_user):
        assert (await client.get("/me")).text == "zoe on main"
        assert (await client.get("/me", headers={"X-User": "max"})).text == "max on main"
        assert (await client.get("/guarded")).text == "in"  # route dependencies too
    assert (await client.get("/me")).status == HTTPStatus.UNAUTHORIZED
    assert (await client.get("/guarded")).status == HTTPStatus.UNAUTHORIZED


async def test_override_from_a_fixture(client: Client, as_ann: None) -> None:
    assert (await client.get("/me")).text == "ann on main"


async def test_override_a_provided_type(app: TypedRoll, client: Client) -> None:
    def fake_database() -> Iterator[Database]:
        events.append("open fake")
        yield Database("fake")
        events.append("close fake")

    with app.override(Database, fake_database):
        response = await client.get("/me", headers={"Authorization": "bob"})
        assert response.text == "bob on fake"
    assert events == ["open fake", "close fake"]
    assert (await client.get("/me", headers={"Authorization": "bob"})).text == "bob on main"


async def test_routes_registered_inside_the_block(app: TypedRoll, client: Client) -> None:
    with app.override(current_user, lambda: "late"):

        @app.route("/late")
        async def late(user: Annotated[str, Depends(current_user)]) -> str:
            return user

        assert (await client.get("/late")).text == "late"
    assert (await client.get("/late")).status == HTTPStatus.UNAUTHORIZED


async def test_nested_overrides(app: TypedRoll, client: Client) -> None:
    with app.override(current_user, lambda: "outer"):
        with app.override(current_user, lambda: "inner"):
            assert (await client.get("/guarded")).status == HTTPStatus.OK
            assert (await client.get("/me")).text == "inner on main"
        assert (await client.get("/me")).text == "outer on main"


async def test_provide_again_replaces_and_finishes_the_old_singleton() -> None:
    events.clear()
    app = make_app()
    client = Client(app)
    await app.startup()
    assert (await client.get("/me", headers={"Authorization": "a"})).text == "a on main"

    async def replica() -> Database:
        return Database("replica")

    app.provide(Database, replica)
    assert (await client.get("/me", headers={"Authorization": "a"})).text == "a on replica"
    assert events == ["open main"]
    await app.shutdown()
    assert events == ["open main", "close main"]


async def test_a_type_never_provided_is_refused_at_startup() -> None:
    app = TypedRoll()

    @app.route("/")
    async def view(db: Database) -> None: ...

    with pytest.raises(RouteDefinitionError) as info:
        await app.startup()
    assert str(info.value) == (
        "Route '/': parameter 'db' of handler"
        " test_a_type_never_provided_is_refused_at_startup.<locals>.view: cannot resolve"
        " Database: not a URL placeholder, a scalar, a model, an UploadFile or a provided"
        " type; add a marker (Query, Form, File, Body, Header, Cookie, Depends) or"
        " app.provide(Database, factory)"
    )
    app.provide(Database, lambda: Database("now"))
    await app.startup()


def test_an_unresolvable_replacement_is_refused_on_enter(app: TypedRoll) -> None:
    class Unknown:
        pass

    def replacement(thing: list[Unknown]) -> str:
        return ""

    with pytest.raises(RouteDefinitionError, match="cannot resolve"):
        with app.override(current_user, replacement):
            pass
    with app.override(current_user, lambda: "fine"):  # nothing left active
        pass
    assert app.bindings.active == {}


async def test_routers_and_overrides_over_a_real_socket() -> None:
    router = Router("/r", dependencies=[Depends(current_user)])

    @router.route("/x")
    async def x(db: Database) -> str:
        return db.name

    app = TypedRoll()
    app.include(router)
    app.provide(Database, lambda: Database("real"))
    live = LiveClient(app)
    await app.startup()
    await live.start()
    try:
        assert (await live.query("GET", "/r/x")).status == HTTPStatus.UNAUTHORIZED
        with app.override(current_user, lambda: "t"), app.override(Database, lambda: Database("t")):
            answer = await live.query("GET", "/r/x")
            assert (answer.status, answer.text) == (HTTPStatus.OK, "t")
        answer = await live.query("GET", "/r/x", headers={"Authorization": "u"})
        assert answer.text == "real"
    finally:
        await live.stop()
        await app.shutdown()


def test_providing_a_model_already_read_as_the_body_is_refused() -> None:
    from pydantic import BaseModel

    class Settings(BaseModel):
        debug: bool = False

    app = TypedRoll()

    @app.route("/settings", methods=["POST"])
    async def update(settings: Settings) -> None: ...

    with pytest.raises(RouteDefinitionError) as info:
        app.provide(Settings, Settings)
    assert str(info.value) == (
        "Route '/settings': parameter 'settings' of handler"
        " test_providing_a_model_already_read_as_the_body_is_refused.<locals>.update:"
        " Settings is read as the JSON body here, for want of a provider when the route"
        " was registered: call app.provide(Settings, ...) before registering this route,"
        " or mark the parameter Body() if it is the body"
    )
    assert Settings not in app.providers
