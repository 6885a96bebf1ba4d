"""Property-based tests of the typed layer: random input gives a 2xx or a 4xx, never a 500."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import pytest
from hardening_helpers import feed_protocol, parse_replies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from roll.typed import Form, Header, Query, TypedRoll

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


def make_app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/shops/{shop_id}/items", methods=["POST"], status=201)
    async def add_item(
        shop_id: int,
        item: Item,
        token: Annotated[str, Header(alias="X-Token")],
        dry_run: bool = False,
    ) -> Item:
        return item

    @app.route("/search")
    async def search(
        q: str = "",
        page: int = 1,
        sizes: Annotated[list[int], Query(alias="size")] = [],  # noqa: B006
        since: datetime.date | None = None,
        order: Literal["asc", "desc"] = "asc",
        ratio: float = 1.0,
    ) -> dict[str, Any]:
        return {"q": q, "page": page, "sizes": sizes, "order": order}

    @app.route("/form", methods=["POST"])
    async def form(
        name: Annotated[str, Form()], age: Annotated[int, Form()] = 0
    ) -> dict[str, Any]:
        return {"name": name, "age": age}

    return app


APP = make_app()


def check(raw: bytes) -> int:
    replies = parse_replies(asyncio.run(feed_protocol(APP, [raw])).data)
    assert len(replies) <= 1
    if not replies:
        return 0
    status = replies[0].status
    assert 200 <= status < 300 or 400 <= status < 500, (status, replies[0].body, raw)
    return status


def request(method: str, target: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1", "replace") + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.sampled_from(["asc", "desc", "true", "false", "", "nan", "inf", "1e999", "-0"]),
)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["q", "page", "size", "since", "order", "ratio", "x"]), SCALARS), max_size=8))
def test_typed_query(pairs: list[tuple[str, str]]) -> None:
    status = check(request("GET", "/search?" + urlencode(pairs), {"Host": "x"}))
    assert status in (200, 400)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["name", "price", "tags", "x"]), children, max_size=4),
    max_leaves=12,
)


ITEMS = st.fixed_dictionaries(
    {"name": st.text(max_size=10), "price": st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=3))},
    optional={"tags": st.lists(st.text(max_size=5), max_size=3), "x": JSON},
)


@FUZZ
@given(
    st.one_of(st.integers().map(str), st.text(max_size=8)),
    st.one_of(ITEMS, ITEMS, JSON),
    st.one_of(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10), st.none()),
    st.sampled_from(["application/json", "application/json", "text/plain", "", "application/x-www-form-urlencoded"]),
    st.sampled_from(["", "true", "0", "off", "maybe"]),
)
def test_typed_body(shop: str, value: Any, token: str | None, content_type: str, dry_run: str) -> None:
    headers = {"Host": "x", "Content-Type": content_type}
    if token is not None:
        headers["X-Token"] = token
    target = "/shops/" + quote(shop, safe="") + "/items" + (f"?dry_run={dry_run}" if dry_run else "")
    status = check(request("POST", target, headers, json.dumps(value).encode()))
    assert status in (201, 400, 404)


@FUZZ
@given(st.one_of(st.binary(max_size=80), st.lists(st.tuples(st.sampled_from(["name", "age", "x"]), SCALARS), max_size=5).map(lambda p: urlencode(p).encode())))
def test_typed_form(body: bytes) -> None:
    headers = {"Host": "x", "Content-Type": "application/x-www-form-urlencoded"}
    assert check(request("POST", "/form", headers, body)) in (200, 400, 413)


@pytest.fixture(autouse=True)
def _no_error_logs(caplog: pytest.LogCaptureFixture) -> Any:
    yield
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
