"""The response contract: the return annotation is what the client gets."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from roll.testing import Client
from roll.typed import Depends, RouteDefinitionError, TypedRoll

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


class UserOut(BaseModel):
    name: str


class UserInDB(UserOut):
    password_hash: str


class Team(BaseModel):
    lead: UserOut
    members: list[UserOut]


@dataclass
class Point:
    x: int


@dataclass
class SecretPoint(Point):
    secret: str


class Row(TypedDict):
    id: int


def leaky(name: str = "ann") -> UserInDB:
    return UserInDB(name=name, password_hash="s3cr3t")


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/user")
    async def user(found: Annotated[UserInDB, Depends(leaky)]) -> UserOut:
        return found

    @app.route("/users")
    async def users() -> list[UserOut]:
        return [leaky("a"), leaky("b")]

    @app.route("/by-name")
    async def by_name() -> dict[str, UserOut]:
        return {"a": leaky("a")}

    @app.route("/maybe")
    async def maybe(found: bool = True) -> UserOut | None:
        return leaky() if found else None

    @app.route("/team")
    async def team() -> Team:
        return Team(lead=leaky("lead"), members=[leaky("m")])

    @app.route("/point")
    async def point() -> Point:
        return SecretPoint(1, "s3cr3t")

    @app.route("/row")
    async def row() -> Row:
        return {"id": 1, "secret": "s3cr3t"}  # type: ignore[typeddict-unknown-key]

    @app.route("/from-dict")
    async def from_dict() -> UserOut:
        return {"name": "ann", "password_hash": "s3cr3t"}  # type: ignore[return-value]

    @app.route("/mixed")
    async def mixed() -> list[UserOut]:
        return [UserOut(name="a"), {"name": "b", "password_hash": "s3cr3t"}]  # type: ignore[list-item]

    @app.route("/exact")
    async def exact() -> list[UserOut]:
        return [UserOut(name="a"), UserOut(name="b")]

    @app.route("/wrong-dict")
    async def wrong_dict() -> UserOut:
        return {"nom": "ann", "password_hash": "s3cr3t"}  # type: ignore[return-value]

    @app.route("/wrong-type")
    async def wrong_type() -> int:
        return "s3cr3t"  # type: ignore[return-value]

    @app.route("/coerced")
    async def coerced() -> list[int]:
        return ["1", 2]  # type: ignore[list-item]

    @app.route("/constructed")
    async def constructed() -> UserOut:
        # Not validated: a str field holds an int (an exact `UserOut` would be
        # trusted, as pydantic validates what it builds; a subclass is checked).
        return UserInDB.model_construct(name=123, password_hash="s3cr3t")  # type: ignore[arg-type]

    @app.route("/text-or-model")
    async def text_or_model(text: bool = False) -> str | UserOut:
        return "plain" if text else leaky()

    @app.route("/open")
    async def open_dict() -> dict[str, Any]:
        return {"user": leaky()}  # an open annotation: sent as it is, as before

    @app.route("/unannotated")
    async def unannotated():  # type: ignore[no-untyped-def]
        return leaky()

    @app.route("/stream")
    async def stream() -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

        return chunks()

    @app.route("/view")
    class View:
        async def on_get(self) -> UserOut:
            return leaky()

        async def on_post(self) -> UserOut:
            return leaky()

    return app


def body(response: Any) -> Any:
    return json.loads(response.body)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/user", {"name": "ann"}),
        ("/users", [{"name": "a"}, {"name": "b"}]),
        ("/by-name", {"a": {"name": "a"}}),
        ("/maybe", {"name": "ann"}),
        ("/team", {"lead": {"name": "lead"}, "members": [{"name": "m"}]}),
        ("/point", {"x": 1}),
        ("/row", {"id": 1}),
        ("/view", {"name": "ann"}),
    ],
)
async def test_a_subclass_only_sends_the_declared_fields(
    client: Client, path: str, expected: Any
) -> None:
    response = await client.get(path)
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body(response) == expected
    assert b"s3cr3t" not in response.body


async def test_class_view_methods_each_follow_their_annotation(client: Client) -> None:
    response = await client.post("/view")
    assert body(response) == {"name": "ann"}


async def test_a_dict_is_validated_into_the_model(client: Client) -> None:
    response = await client.get("/from-dict")
    assert response.status == HTTPStatus.OK
    assert body(response) == {"name": "ann"}
    response = await client.get("/mixed")
    assert body(response) == [{"name": "a"}, {"name": "b"}]


async def test_exact_instances(client: Client) -> None:
    assert body(await client.get("/exact")) == [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize("path", ["/wrong-dict", "/wrong-type", "/constructed"])
async def test_a_mismatch_is_a_generic_500_and_logged(
    client: Client, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="roll.typed"):
        response = await client.get(path)
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.body == b"Internal Server Error"
    assert b"s3cr3t" not in response.body
    assert "does not match its annotation" in caplog.text


async def test_a_value_that_validates_is_coerced(client: Client) -> None:
    assert body(await client.get("/coerced")) == [1, 2]


async def test_none_still_leaves_the_response_alone(client: Client) -> None:
    response = await client.get("/maybe?found=false")
    assert response.status == HTTPStatus.OK
    assert response.body == b""


async def test_text_in_a_union_stays_text(client: Client) -> None:
    response = await client.get("/text-or-model?text=true")
    assert response.body == b"plain"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body(await client.get("/text-or-model")) == {"name": "ann"}


@pytest.mark.parametrize("path", ["/open", "/unannotated"])
async def test_open_annotations_keep_todays_behaviour(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == HTTPStatus.OK
    assert b"s3cr3t" in response.body  # what was returned, as returned


async def test_streams_are_not_serialised(client: Client) -> None:
    response = await client.get("/stream")
    assert response.body == b"ab"
    assert response.headers["Transfer-Encoding"] == "chunked"


class Unknown:
    pass


def test_an_unserialisable_return_type_fails_at_registration() -> None:
    app = TypedRoll()
    with pytest.raises(RouteDefinitionError, match="cannot serialise the return type"):

        @app.route("/unknown")
        async def unknown() -> Unknown:
            return Unknown()


def test_an_unresolved_forward_reference_fails_at_registration() -> None:
    class Later(BaseModel):
        user: Undefined  # type: ignore[name-defined]  # noqa: F821

    app = TypedRoll()
    with pytest.raises(RouteDefinitionError, match="cannot serialise the return type"):

        @app.route("/later")
        async def later() -> Later:
            return Later.model_construct()  # type: ignore[call-arg]


def test_websocket_return_annotations_are_ignored() -> None:
    app = TypedRoll()

    @app.route("/ws", protocol="websocket")
    async def feed(ws: Any) -> Unknown:  # never rendered
        return Unknown()


async def test_a_stream_class_return_is_sent_as_a_stream() -> None:
    from roll.typed import EventStream

    app = TypedRoll()

    @app.route("/ticks")
    async def ticks() -> EventStream:
        async def events() -> AsyncIterator[int]:
            yield 1

        return EventStream(events(), ping=None)

    response = await Client(app).get("/ticks")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.body == b"data: 1\n\n"
