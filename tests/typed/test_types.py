"""Every supported type, from strings (URL, query, form) and from JSON."""

from __future__ import annotations

import datetime
import enum
import json
import uuid
from decimal import Decimal
from http import HTTPStatus
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import Field

from roll import HttpError
from roll import Query as CoreQuery
from roll.testing import Client
from roll.typed import Form, TypedRoll
from roll.typed.converters import converter_for, to_bool
from roll.typed.typeinfo import analyse

# Each test runs on both endpoint paths, compiled and general (conftest.py).
pytestmark = pytest.mark.usefixtures("endpoint_path")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def echo(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time, uuid.UUID, Decimal)):
        return [type(value).__name__, str(value)]
    if isinstance(value, enum.Enum):
        return [type(value).__name__, value.value]
    return [type(value).__name__, value]


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()

    def add(path: str, annotation: Any, default: Any = ...) -> None:
        async def view(v: Any) -> Any:
            return echo(v)

        if default is not ...:
            view.__defaults__ = (default,)
        view.__annotations__ = {"v": annotation, "return": Any}
        app.route(path)(view)

    add("/str", str)
    add("/int", int)
    add("/float", float)
    add("/bool", bool)
    add("/optbool", Optional[bool])
    add("/decimal", Decimal)
    add("/uuid", uuid.UUID)
    add("/enum", Color)
    add("/intenum", Level)
    add("/literal", Literal["asc", "desc"])
    add("/intliteral", Literal[1, 2])
    add("/date", datetime.date)
    add("/datetime", datetime.datetime)
    add("/time", datetime.time)
    add("/union", int | Literal["all"])
    add("/optional", int | None)
    add("/optional-default", Optional[int], 5)
    add("/list", list[int])
    add("/list-default", list[str], ["x"])
    add("/gt", Annotated[int, Field(gt=0, le=10)])
    add("/pattern", Annotated[str, Field(min_length=2, pattern="^[a-z]+$")])
    add("/default", int, 12)
    add("/opt-constrained", Optional[Annotated[int, Field(ge=1)]])
    add("/path/{v}", Decimal)
    add("/pathbool/{v}", bool)

    @app.route("/form", methods=["POST"])
    async def form(
        when: Annotated[datetime.date, Form()],
        color: Annotated[Color, Form()],
        n: Annotated[list[float], Form()],
    ) -> Any:
        return [str(when), color.value, n]

    return app


async def get(client: Client, url: str) -> Any:
    response = await client.get(url)
    assert response.status == HTTPStatus.OK, response.body
    return json.loads(response.body)


async def error(client: Client, url: str) -> str:
    response = await client.get(url)
    assert response.status == HTTPStatus.BAD_REQUEST, response.body
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    (problem,) = json.loads(response.body)["errors"]
    assert problem["name"] == "v"
    return str(problem["message"])


@pytest.mark.parametrize(
    "url, expected",
    [
        ("/str?v=héllo", ["str", "héllo"]),
        ("/int?v=42", ["int", 42]),
        ("/int?v=-3", ["int", -3]),
        ("/float?v=1.5", ["float", 1.5]),
        ("/float?v=2", ["float", 2.0]),
        ("/bool?v=true", ["bool", True]),
        ("/bool?v=YES", ["bool", True]),
        ("/bool?v=on", ["bool", True]),
        ("/bool?v=1", ["bool", True]),
        ("/bool?v=f", ["bool", False]),
        ("/bool?v=No", ["bool", False]),
        ("/bool?v=off", ["bool", False]),
        ("/optbool?v=null", ["NoneType", None]),
        ("/optbool?v=t", ["bool", True]),
        ("/decimal?v=3.10", ["Decimal", "3.10"]),
        (
            "/uuid?v=12345678-1234-5678-1234-567812345678",
            ["UUID", "12345678-1234-5678-1234-567812345678"],
        ),
        ("/enum?v=blue", ["Color", "blue"]),
        ("/intenum?v=2", ["Level", 2]),
        ("/literal?v=desc", ["str", "desc"]),
        ("/intliteral?v=2", ["int", 2]),
        ("/date?v=2024-02-29", ["date", "2024-02-29"]),
        ("/datetime?v=2024-02-29T10:20:30", ["datetime", "2024-02-29 10:20:30"]),
        ("/time?v=10:30", ["time", "10:30:00"]),
        ("/union?v=3", ["int", 3]),
        ("/union?v=all", ["str", "all"]),
        ("/optional?v=3", ["int", 3]),
        ("/optional", ["NoneType", None]),
        ("/optional?v=", ["NoneType", None]),
        ("/optional-default", ["int", 5]),
        ("/list?v=1&v=2&v=3", ["list", [1, 2, 3]]),
        ("/list-default", ["list", ["x"]]),
        ("/list-default?v=a&v=b", ["list", ["a", "b"]]),
        ("/gt?v=10", ["int", 10]),
        ("/pattern?v=ab", ["str", "ab"]),
        ("/default", ["int", 12]),
        ("/opt-constrained", ["NoneType", None]),
        ("/opt-constrained?v=4", ["int", 4]),
        ("/path/1.25", ["Decimal", "1.25"]),
        ("/pathbool/yes", ["bool", True]),
    ],
)
async def test_valid(client: Client, url: str, expected: Any) -> None:
    assert await get(client, url) == expected


@pytest.mark.parametrize(
    "url, message",
    [
        ("/int?v=1.5", "valid integer"),
        ("/int?v=", "valid integer"),
        ("/int", "Field required"),
        ("/float?v=abc", "valid number"),
        ("/bool?v=maybe", "valid boolean"),
        ("/bool?v=null", "valid boolean"),
        ("/decimal?v=1,5", "decimal"),
        ("/uuid?v=1234", "UUID"),
        ("/enum?v=green", "'red' or 'blue'"),
        ("/intenum?v=3", "1 or 2"),
        ("/literal?v=up", "'asc' or 'desc'"),
        ("/intliteral?v=3", "'1' or '2'"),
        ("/date?v=2024-02-30", "date"),
        ("/datetime?v=yesterday", "datetime"),
        ("/time?v=25:00", "time"),
        ("/union?v=some", "integer"),
        ("/optional?v=x", "valid integer"),
        ("/list?v=1&v=x", "Item 1: Input should be a valid integer"),
        ("/list", "Field required"),
        ("/gt?v=0", "greater than 0"),
        ("/gt?v=11", "less than or equal to 10"),
        ("/gt?v=zero", "valid integer"),
        ("/pattern?v=a", "at least 2"),
        ("/pattern?v=AB", "pattern"),
        ("/opt-constrained?v=0", "greater than or equal to 1"),
        ("/path/abc", "decimal"),
        ("/pathbool/perhaps", "valid boolean"),
    ],
)
async def test_invalid(client: Client, url: str, message: str) -> None:
    assert message in await error(client, url)


async def test_form_types(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post(
        "/form", [("when", "2020-01-02"), ("color", "red"), ("n", "1"), ("n", "2.5")]
    )
    assert json.loads(response.body) == ["2020-01-02", "red", [1.0, 2.5]]


async def test_all_form_errors_at_once(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post("/form", [("when", "never"), ("color", "pink"), ("n", "x")])
    errors = json.loads(response.body)["errors"]
    assert [error["name"] for error in errors] == ["when", "color", "n"]
    assert {error["location"] for error in errors} == {"form"}


@pytest.mark.parametrize(
    "value",
    [
        "t",
        "T",
        "true",
        "True",
        "yes",
        "1",
        "on",
        "f",
        "false",
        "FALSE",
        "no",
        "0",
        "off",
        "n",
        "none",
        "null",
        "NULL",
        "maybe",
        "",
        "2",
        "tru",
    ],
)
def test_bool_rule_matches_the_core(value: str) -> None:
    query = CoreQuery({"k": [value]})
    try:
        expected: Any = query.bool("k")
    except HttpError:
        expected = ValueError
    try:
        got: Any = to_bool(value)
    except ValueError:
        got = ValueError
    assert got == expected


@pytest.mark.parametrize("kind", ["int", "float"])
@pytest.mark.parametrize(
    "value", ["1", "-2", " 3 ", "1_000", "1.5", "x", "", "0x10", "1e3", "inf", "nan"]
)
def test_int_and_float_rules_match_the_core(kind: str, value: str) -> None:
    query = CoreQuery({"k": [value]})
    try:
        expected: Any = getattr(query, kind)("k")
    except HttpError:
        expected = "error"
    convert = converter_for(analyse(int if kind == "int" else float))
    try:
        got: Any = convert(value)
    except ValueError:
        got = "error"
    if isinstance(expected, float) and expected != expected:  # nan
        assert got != got
    else:
        assert got == expected
