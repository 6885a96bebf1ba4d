"""Multidicts: get/list, the casting getters of Query and Form, 400s naming the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest

from roll import Files, Form, HttpError, Multidict, Query, Request, Response, Roll
from roll.testing import Client


def make(cls: type[Multidict], **data: list[str]) -> Any:
    multidict = cls()
    multidict.update(data)
    return multidict


def assert_400_naming(key: str, read: Callable[[], Any]) -> None:
    """`read()` fails with a 400 whose message names `key`."""
    with pytest.raises(HttpError) as info:
        read()
    assert info.value.status == HTTPStatus.BAD_REQUEST
    assert key in str(info.value.message)


def test_item_access_returns_the_list() -> None:
    query = make(Query, k=["a", "b"])
    assert query["k"] == ["a", "b"]
    with pytest.raises(KeyError):
        query["missing"]


def test_get_returns_the_first_value() -> None:
    query = make(Query, k=["a", "b"])
    assert query.get("k") == "a"
    assert query.get("k", "default") == "a"


@pytest.mark.parametrize("default", ["fallback", None, 0, False, [], ""])
def test_get_missing_key_with_default(default: Any) -> None:
    query = make(Query)
    assert query.get("missing", default) is default
    assert query.list("missing", default) is default


def test_get_missing_key_without_default_is_400_naming_the_key() -> None:
    assert_400_naming("the_key", lambda: make(Query).get("the_key"))


def test_list() -> None:
    query = make(Query, k=["a", "b"])
    assert query.list("k") == ["a", "b"]
    assert_400_naming("other", lambda: query.list("other"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("t", True),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("1", True),
        ("on", True),
        ("yes", True),
        ("f", False),
        ("false", False),
        ("False", False),
        ("0", False),
        ("off", False),
        ("OFF", False),
        ("no", False),
        ("n", None),
        ("none", None),
        ("None", None),
        ("null", None),
        ("NULL", None),
    ],
)
def test_bool(value: str, expected: bool | None) -> None:
    assert make(Query, k=[value]).bool("k") is expected
    assert make(Form, k=[value]).bool("k") is expected


@pytest.mark.parametrize("value", ["", "2", "maybe", "tru", "nope", "-1"])
def test_bool_invalid_is_400_naming_the_key(value: str) -> None:
    assert_400_naming("flag", lambda: make(Query, flag=[value]).bool("flag"))


def test_bool_uses_the_first_value() -> None:
    assert make(Query, k=["off", "on"]).bool("k") is False


@pytest.mark.parametrize("default", [True, False, None, "as is"])
def test_bool_missing_key_gives_default_as_is(default: Any) -> None:
    assert make(Query).bool("k", default) is default


def test_bool_missing_key_without_default() -> None:
    assert_400_naming("absent", lambda: make(Query).bool("absent"))


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        ("int", "1", 1),
        ("int", "-42", -42),
        ("int", " 7 ", 7),
        ("int", "0", 0),
        ("float", "1.5", 1.5),
        ("float", "-2", -2.0),
        ("float", "1e3", 1000.0),
    ],
)
def test_numbers(method: str, value: str, expected: float) -> None:
    assert getattr(make(Query, k=[value]), method)("k") == expected


@pytest.mark.parametrize(
    ("cls", "method", "value"),
    [
        *[(Query, "int", value) for value in ["", "1.5", "one", "0x10"]],
        *[(Form, "float", value) for value in ["", "one", "1,5"]],
    ],
)
def test_number_invalid_is_400_naming_the_key(cls: type[Multidict], method: str, value: str) -> None:
    assert_400_naming("number", lambda: getattr(make(cls, number=[value]), method)("number"))


@pytest.mark.parametrize(("method", "default"), [("int", 22), ("float", 2.5)])
def test_number_default(method: str, default: float) -> None:
    convert = getattr(make(Query), method)
    assert convert("k", default) == default
    assert convert("k", None) is None
    with pytest.raises(HttpError):
        convert("k")


def test_form_inherits_query_and_files_only_multidict() -> None:
    assert issubclass(Form, Query)
    assert issubclass(Files, Multidict)
    assert not hasattr(Files(), "int")
    files = make(Files, f=["file"])
    assert files.get("f") == "file"
    assert files.list("f") == ["file"]
    with pytest.raises(HttpError):
        files.get("missing")


async def test_query_errors_answer_400_naming_the_key(app: Roll, client: Client) -> None:
    @app.route("/test")
    async def handler(request: Request, response: Response) -> None:
        response.json = {
            "int": request.query.int("number"),
            "bool": request.query.bool("flag", default=False),
            "float": request.query.float("ratio", None),
            "list": request.query.list("many", []),
        }

    resp = await client.get("/test?number=3&many=a&many=b")
    assert resp.status == HTTPStatus.OK
    assert json.loads(resp.body) == {"int": 3, "bool": False, "float": None, "list": ["a", "b"]}

    resp = await client.get("/test")
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert b"number" in resp.body

    resp = await client.get("/test?number=three")
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert b"number" in resp.body

    resp = await client.get("/test?number=3&flag=perhaps")
    assert resp.status == HTTPStatus.BAD_REQUEST
    assert b"flag" in resp.body
