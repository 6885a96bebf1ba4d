"""Property-based tests of the typed layer: random and mutated query strings,
headers, cookies, urlencoded and multipart forms and JSON bodies, against
typed routes taking every supported type.

Requests are well framed HTTP (the protocol's own fuzzing is in
tests/test_fuzz.py): what varies is what the typed layer reads. The only
outcomes allowed are a 2xx, or a 400 whose body is `{"errors": [...]}` JSON
(each problem a `location`, a `name` and a `message`, all strings) with the
JSON Content-Type. Never a 500, never an error logged, never an exception
reaching the loop. Valid input, generated from the types, must be a 200
giving back the values.
"""

from __future__ import annotations

import asyncio
import os
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal, Optional
from urllib.parse import quote, urlencode
from uuid import UUID

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from roll import HTTPProtocol, WSProtocol
from roll.testing import drive, read_responses
from roll.typed import Body, Cookie, Depends, File, Form, Header, Query, TypedRoll, UploadFile, WebSocket

FUZZ = settings(
    max_examples=int(os.environ.get("TYPED_FUZZ_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Color(Enum):
    RED = "red"
    GREEN = "green"
    ONE = "1"


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    city: Annotated[str, Field(min_length=1, max_length=20)]
    zip: Annotated[str, Field(pattern=r"^\d{5}$")]


class Order(BaseModel):
    id: UUID
    qty: Annotated[int, Field(gt=0, le=1000)]
    price: Annotated[Decimal, Field(max_digits=8, decimal_places=2)]
    color: Color
    mode: Literal["fast", "slow"] = "fast"
    when: datetime | None = None
    day: date
    tags: Annotated[list[str], Field(max_length=5)] = []
    address: Address | None = None
    ratio: Annotated[float, Field(ge=0, le=1)] = 0.5


@dataclass
class Point:
    x: int
    y: int


class Config(TypedDict):
    name: str
    level: Level
    extra: NotRequired[dict[str, int]]


class FuzzProtocol(HTTPProtocol):
    __slots__ = ()
    MAX_BODY_SIZE = 64 * 1024


class FuzzWebsocket(WSProtocol):
    PING_INTERVAL = None
    TIMEOUT = 0.01


def pager(
    page: Annotated[int, Field(ge=1)] = 1,
    per_page: Annotated[int, Query(alias="per-page"), Field(ge=1, le=50)] = 10,
) -> tuple[int, int]:
    return page, per_page


async def locale(
    lang: Annotated[Literal["en", "fr"], Cookie()] = "en",
    accept: Annotated[str | None, Header(alias="Accept-Language")] = None,
) -> str:
    return f"{lang}/{accept}"


def make_app() -> TypedRoll:
    app = TypedRoll()
    app.HttpProtocol = FuzzProtocol
    app.WebsocketProtocol = FuzzWebsocket

    @app.route("/q/{id}")
    async def scalars(
        id: int,
        n: int = 0,
        flag: bool = False,
        maybe: bool | None = None,
        ratio: float = 1.0,
        price: Decimal | None = None,
        uid: UUID | None = None,
        color: Color = Color.RED,
        level: Level = Level.LOW,
        mode: Literal["a", "b", 3] = "a",
        day: date | None = None,
        at: datetime | None = None,
        clock: time | None = None,
        tags: list[int] = [],
        names: Annotated[list[str], Query(alias="name")] = [],
        text: Optional[str] = None,
        small: Annotated[int, Field(gt=0, le=100)] = 1,
        code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "ABC",
        count: int | Literal["all"] = "all",
        page: Annotated[tuple[int, int], Depends(pager)] = (1, 10),
    ) -> dict[str, Any]:
        return {
            "id": id, "n": n, "flag": flag, "maybe": maybe, "ratio": ratio, "price": price,
            "uid": uid, "color": color, "level": level, "mode": mode, "day": day, "at": at,
            "clock": clock, "tags": tags, "names": names, "text": text, "small": small,
            "code": code, "count": count, "page": page,
        }  # fmt: skip

    @app.route("/p/{day}/{uid}/{color}/{n}/{rest:path}")
    async def path_values(
        day: date, uid: UUID, color: Color, n: Annotated[int, Field(ge=0)], rest: str
    ) -> list[Any]:
        return [day, uid, color, n, rest]

    @app.route("/h")
    async def headers(
        level: Annotated[int, Header(alias="X-Level")] = 0,
        debug: Annotated[bool, Header(alias="X-Debug")] = False,
        ids: Annotated[list[int], Header(alias="X-Ids")] = [],
        trace: Annotated[UUID | None, Header(alias="X-Trace")] = None,
        since: Annotated[date | None, Header(alias="X-Since")] = None,
        session: Annotated[int | None, Cookie()] = None,
        theme: Annotated[Color, Cookie()] = Color.GREEN,
        where: Annotated[str, Depends(locale)] = "",
    ) -> dict[str, Any]:
        return {
            "level": level, "debug": debug, "ids": ids, "trace": trace, "since": since,
            "session": session, "theme": theme, "where": where,
        }  # fmt: skip

    @app.route("/form", methods=["POST"])
    async def form(
        qty: Annotated[int, Form()],
        urgent: Annotated[bool, Form()] = False,
        weight: Annotated[float | None, Form()] = None,
        price: Annotated[Decimal, Form(), Field(ge=0)] = Decimal("0"),
        sizes: Annotated[list[int], Form(alias="size")] = [],
        day: Annotated[Optional[date], Form()] = None,
        color: Annotated[Color, Form()] = Color.RED,
        note: Annotated[str, Form(), Field(max_length=30)] = "",
        logo: Annotated[UploadFile | None, File()] = None,
        docs: Annotated[list[UploadFile], File(alias="doc")] = [],
    ) -> dict[str, Any]:
        return {
            "qty": qty, "urgent": urgent, "weight": weight, "price": price, "sizes": sizes,
            "day": day, "color": color, "note": note,
            "logo": None if logo is None else [logo.filename, logo.content_type, logo.size],
            "docs": [[doc.filename, doc.size] for doc in docs],
        }  # fmt: skip

    @app.route("/form-optional", methods=["POST"])
    async def form_optional(
        qty: Annotated[int, Form()] = 0,
        sizes: Annotated[list[int], Form(alias="size")] = [],
        logo: Annotated[UploadFile | None, File()] = None,
    ) -> dict[str, Any]:
        return {"qty": qty, "sizes": sizes, "logo": logo is not None}

    @app.route("/order", methods=["POST"])
    async def order(order: Order, dry: bool = False) -> Order:
        return order

    @app.route("/order-lazy", methods=["POST"], lazy_body=True)
    async def order_lazy(order: Order, page: Annotated[tuple[int, int], Depends(pager)]) -> Order:
        return order

    @app.route("/points", methods=["PUT"])
    async def points(points: Annotated[list[Point], Body()]) -> list[Point]:
        return points

    @app.route("/config", methods=["POST"])
    async def config(config: Annotated[Config, Body()]) -> Config:
        return config

    @app.route("/ws/{room}", protocol="websocket")
    async def chat(
        ws: WebSocket,
        room: int,
        name: Annotated[str, Query(), Field(min_length=1)],
        level: Annotated[Level | None, Header(alias="X-Level")] = None,
        page: Annotated[tuple[int, int], Depends(pager)] = (1, 10),
    ) -> None:
        await ws.send(f"{room} {name} {level} {page}")

    @app.route("/maybe", methods=["POST"])
    async def maybe(order: Order | None = None) -> dict[str, Any]:
        return {"order": order}

    return app


APP = make_app()


def request(
    method: str, target: str, headers: list[tuple[str, str]] | None = None, body: bytes = b""
) -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\n"
    for name, value in headers or []:
        head += f"{name}: {value}\r\n"
    if body or method != "GET":
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + body


def check(raw: bytes, upgrade: bool = False) -> tuple[int, Any]:
    """The one reply: a 2xx (its JSON), or the typed 400 (its problems);
    with `upgrade`, a 101 or the typed 400."""
    data = asyncio.run(drive(APP, [raw])).data
    if upgrade and data.startswith(b"HTTP/1.1 101 "):
        return 101, data
    replies = read_responses(data)
    assert len(replies) == 1, raw
    reply = replies[0]
    assert (200 <= reply.status < 300 and not upgrade) or reply.status == 400, (reply.status, reply.body, raw)
    content_type = reply.headers.get("Content-Type", "")
    if reply.status == 400:
        assert content_type == "application/json; charset=utf-8", (reply.body, raw)
        body = strict_json(reply.body)
        assert list(body) == ["errors"] and body["errors"], body
        for item in body["errors"]:
            assert set(item) == {"location", "name", "message"}, item
            assert all(isinstance(value, str) for value in item.values()), item
            assert item["location"] in ("path", "query", "form", "file", "body", "header", "cookie")
        return reply.status, body["errors"]
    if content_type.startswith("application/json"):
        return reply.status, strict_json(reply.body)
    return reply.status, reply.body


def strict_json(body: bytes) -> Any:
    """JSON as a browser reads it: no NaN or Infinity."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"Invalid JSON: {constant} in {body!r}")

    return json.loads(body, parse_constant=refuse)


@st.composite
def mutate(draw: st.DrawFn, text: str) -> str:
    """Flip, insert, delete, duplicate or truncate characters."""
    chars = list(text)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]))
        if action == "flip" and chars and position < len(chars):
            chars[position] = draw(st.characters(codec="utf-8"))
        elif action == "insert":
            chars[position:position] = list(draw(st.sampled_from(NASTY)))
        elif action == "delete":
            del chars[position : position + draw(st.integers(1, 4))]
        elif action == "duplicate":
            end = min(len(chars), position + draw(st.integers(1, 10)))
            chars[end:end] = chars[position:end]
        else:
            del chars[position:]
    return "".join(chars)


# Strings that have broken parsers before: edge numbers, unicode digits,
# separators, escapes, very long values.
NASTY = [
    "", " ", "0", "-0", "+1", "1_000", "0x10", "1e3", "1e309", "-1e309", "nan", "NaN", "inf",
    "-inf", "Infinity", "١٢", "²", "½", "9" * 4400, "0." + "1" * 100, "true", "On", "yes",
    "null", "None", "n", "[]", "{}", "{", '"', "'", "\\", "%", "%zz", "%00", "%ff", "&", "=",
    ";", ",", "+", "#", "\x00", "\t", "é", "\u2028", "𝟙", "00000000-0000-0000-0000-000000000000",
    "2024-02-30", "2024-13-01", "10000-01-01", "2024-01-01T25:00", "2024-01-01T00:00:00+99:00",
    "23:59:60", "-1", str(2**63), str(-(2**63) - 1), "1.005", "1.239", "12345678.9", "red",
    "RED", "1", "2", "3", "a", "b", "all", "ABC", "abc",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=20),
    st.text(st.characters(codec="utf-8"), max_size=8).flatmap(mutate),
)
QUERY_NAMES = [
    "n", "flag", "maybe", "ratio", "price", "uid", "color", "level", "mode", "day", "at",
    "clock", "tags", "name", "text", "small", "code", "count", "page", "per-page", "other",
]  # fmt: skip


@FUZZ
@given(
    st.one_of(st.integers().map(str), st.sampled_from(NASTY), st.text(min_size=1, max_size=12)),
    st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), TEXT), TEXT), max_size=8),
    st.booleans(),
)
def test_query_strings(id: str, pairs: list[tuple[str, str]], encoded: bool) -> None:
    # A "/" in a URL value is routing's business (404): not the typed layer's.
    path = "/q/" + quote(id.replace("/", "_") or "0", safe="")
    if encoded:
        query = urlencode(pairs)
    else:  # raw: separators and percent signs kept as they are
        query = quote("&".join(f"{k}={v}" for k, v in pairs), safe="=&%;+")
    target = f"{path}?{query}"
    assume(len(target) < FuzzProtocol.MAX_URL_SIZE)  # else a 414, from the core
    check(request("GET", target))


INTS = st.integers().map(str)
EDGE_NUMBERS = st.sampled_from(
    ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-0", "+1", " 12 ", "1_000", "١٢", "0.1e1", "1e-400"]
)
QUERY_VALUES: dict[str, st.SearchStrategy[str]] = {
    "n": INTS,
    "flag": st.sampled_from(["t", "TRUE", "yes", "1", "On", "f", "no", "0", "off", "null"]),
    "maybe": st.sampled_from(["t", "no", "null", "N", "None", "", "yes"]),
    "ratio": st.floats().map(repr),
    "price": st.one_of(st.decimals().map(str), st.floats().map(repr)),
    "uid": st.uuids().map(lambda uid: uid.hex if uid.int % 2 else str(uid)),
    "color": st.sampled_from(["red", "green", "1"]),
    "level": st.sampled_from(["1", "2", "01", "1.0"]),
    "mode": st.sampled_from(["a", "b", "3"]),
    "day": st.dates().map(date.isoformat),
    "at": st.one_of(st.datetimes().map(datetime.isoformat), INTS, st.floats().map(repr)),
    "clock": st.times().map(time.isoformat),
    "tags": INTS,
    "name": st.text(max_size=5),
    "text": st.text(max_size=5),
    "small": st.integers(1, 100).map(str),
    "code": st.from_regex(r"[A-Z]{3}", fullmatch=True),
    "count": st.one_of(INTS, st.just("all")),
    "page": st.integers(1, 10**9).map(str),
    "per-page": st.integers(1, 50).map(str),
}


NUMERIC = {"n", "ratio", "price", "tags", "small", "count", "page", "per-page", "at", "level"}


@FUZZ
@given(st.data())
def test_query_values_near_valid(data: st.DataObject) -> None:
    """Mostly valid values, some at the edges of their type: many 200s."""
    pairs = []
    for name, valid in QUERY_VALUES.items():
        for _ in range(data.draw(st.sampled_from([0, 1, 1, 1, 2]))):
            edgy = name in NUMERIC and data.draw(st.integers(0, 5)) == 0
            pairs.append((name, data.draw(EDGE_NUMBERS if edgy else valid)))
    id = data.draw(st.one_of(st.integers().map(str), EDGE_NUMBERS))
    check(request("GET", f"/q/{quote(id)}?{urlencode(pairs)}"))


@FUZZ
@given(
    st.one_of(st.dates().map(date.isoformat), TEXT),
    st.one_of(st.uuids().map(str), TEXT),
    st.one_of(st.sampled_from(["red", "green", "1"]), TEXT),
    st.one_of(st.integers().map(str), EDGE_NUMBERS, TEXT),
    st.text(max_size=20),
)
def test_path_values(day: str, uid: str, color: str, n: str, rest: str) -> None:
    segments = [quote(value.replace("/", "_") or "x", safe="") for value in (day, uid, color, n)]
    target = "/p/" + "/".join(segments) + "/" + quote(rest or "r")
    assume(len(target) < FuzzProtocol.MAX_URL_SIZE)
    status, body = check(request("GET", target))
    if status == 200:  # (pydantic's lax rules: a date may be a timestamp...)
        assert body[2] == color and body[4] == (rest or "r")


HEADER_VALUES = st.one_of(
    st.sampled_from(NASTY[:60]),
    st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=30),
).map(lambda value: value.strip(" \t").replace("\x00", "").replace("\r", "").replace("\n", ""))
HEADER_NAMES = st.sampled_from(
    ["X-Level", "X-Debug", "X-Ids", "X-Trace", "X-Since", "Accept-Language", "X-Other"]
)
COOKIE_TEXT = st.one_of(
    st.sampled_from(
        ["session=1", "session=x", "theme=red", "theme=blue", "lang=fr", "lang=de", "=;;=", "a"]
    ),
    st.lists(st.tuples(st.sampled_from(["session", "theme", "lang", "x"]), HEADER_VALUES), max_size=4)
    .map(lambda pairs: "; ".join(f"{k}={v}" for k, v in pairs)),
)


@FUZZ
@given(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=6), st.none() | COOKIE_TEXT)
def test_headers_and_cookies(headers: list[tuple[str, str]], cookie: str | None) -> None:
    if cookie is not None:
        headers.append(("Cookie", cookie.replace("\r", "").replace("\n", "")))
    headers = [(k, v.encode("latin-1", "replace").decode("latin-1")) for k, v in headers]
    assume(sum(len(k) + len(v) for k, v in headers) < FuzzProtocol.MAX_HEADERS_SIZE)  # else 431
    check(request("GET", "/h", headers))


FORM_NAMES = ["qty", "urgent", "weight", "price", "size", "day", "color", "note", "logo", "doc", "x"]


@FUZZ
@given(
    st.lists(st.tuples(st.one_of(st.sampled_from(FORM_NAMES), TEXT), TEXT), max_size=8),
    st.integers(0, 3),
    st.data(),
)
def test_urlencoded_forms(pairs: list[tuple[str, str]], how: int, data: st.DataObject) -> None:
    pairs.insert(data.draw(st.integers(0, len(pairs))), ("qty", data.draw(st.one_of(INTS, TEXT))))
    body = urlencode(pairs)
    if how == 1:
        body = data.draw(mutate(body))
    elif how == 2:
        body = "&".join(f"{k}={v}" for k, v in pairs)  # not encoded at all
    elif how == 3:
        body = "&".join(k for k, _ in pairs)  # no "=": unparsable
    content_type = data.draw(
        st.sampled_from(
            ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
             "text/plain", "application/json", ""]
        )
    )  # fmt: skip
    headers = [("Content-Type", content_type)] if content_type else []
    path = data.draw(st.sampled_from(["/form", "/form-optional"]))
    check(request("POST", path, headers, body.encode("utf-8", "surrogatepass")))


@st.composite
def multipart(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.text(st.sampled_from("abcXYZ0129-_'()+,./=?"), min_size=1, max_size=20))
    body = b""
    for index in range(draw(st.integers(1, 5))):
        name = draw(st.one_of(st.sampled_from(FORM_NAMES), TEXT)).replace('"', "")
        if index == 0 and draw(st.integers(0, 3)):
            name = "qty"
        disposition = f'form-data; name="{name}"'
        headers = ""
        if draw(st.booleans()):
            filename = draw(TEXT).replace('"', "")
            disposition += draw(
                st.sampled_from(
                    [f'; filename="{filename}"', f"; filename*=utf-8''{quote(filename)}",
                     "; filename*=bad''%ff", '; filename=""']
                )
            )  # fmt: skip
            headers = "Content-Type: " + draw(st.sampled_from(["text/plain", "image/png", "x", ""])) + "\r\n"
        content = draw(st.one_of(INTS.map(str.encode), TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")), st.binary(max_size=60)))
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n".encode("utf-8", "surrogatepass")
        body += content + b"\r\n"
    # (The valid choice first: hypothesis shrinks towards it.)
    if draw(st.integers(0, 4)) != 1:
        body += f"--{boundary}--\r\n".encode()
    if draw(st.integers(0, 3)) == 3:
        body = draw(mutate(body.decode("latin-1"))).encode("utf-8", "surrogatepass")
    content_type = draw(
        st.sampled_from(
            [f'multipart/form-data; boundary="{boundary}"', f'multipart/form-data; boundary="{boundary}"',
             f'multipart/form-data; boundary="{boundary}"', f'multipart/form-data; boundary="{boundary}"',
             f"multipart/form-data; boundary={boundary}", "multipart/form-data",
             "multipart/form-data; boundary=", "multipart/mixed; boundary=x"]
        )
    )  # fmt: skip
    return content_type, body


@FUZZ
@given(multipart(), st.sampled_from(["/form", "/form-optional"]))
def test_multipart_bodies(form: tuple[str, bytes], path: str) -> None:
    content_type, body = form
    check(request("POST", path, [("Content-Type", content_type)], body))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "qty", "price", "x", "y", "name", "level"]) | st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    """Order-shaped JSON: valid fields, a few of them wrong or missing."""
    valid = {
        "id": st.uuids().map(str),
        "qty": st.integers(1, 1000),
        "price": st.decimals(min_value=0, max_value=999999, places=2).map(str),
        "color": st.sampled_from(["red", "green", "1"]),
        "mode": st.sampled_from(["fast", "slow"]),
        "when": st.datetimes().map(datetime.isoformat),
        "day": st.dates().map(date.isoformat),
        "tags": st.lists(st.text(max_size=5), max_size=5),
        "address": st.fixed_dictionaries({"city": st.text(min_size=1, max_size=20), "zip": st.from_regex(r"^\d{5}$", fullmatch=True)}),
        "ratio": st.floats(0, 1),
    }  # fmt: skip
    order = {key: draw(strategy) for key, strategy in valid.items()}
    for key in draw(st.lists(st.sampled_from(list(order)), max_size=2)):
        order[key] = draw(st.one_of(JSON_VALUES, st.sampled_from(NASTY)))
    for key in draw(st.lists(st.sampled_from(list(order)), max_size=2)):
        order.pop(key, None)
    return order


JSON_TYPES = [
    "application/json", "application/json; charset=utf-8", "application/vnd.api+json",
    "text/plain", "", "application/x-www-form-urlencoded", "APPLICATION/JSON",
]  # fmt: skip


@FUZZ
@given(
    st.sampled_from(["/order", "/order-lazy", "/maybe", "/points", "/config"]),
    st.one_of(orders(), JSON_VALUES, st.lists(st.fixed_dictionaries({"x": JSON_VALUES, "y": st.integers()}), max_size=3)),
    st.integers(0, 4),
    st.sampled_from(JSON_TYPES),
    st.data(),
)
def test_json_bodies(path: str, value: Any, how: int, content_type: str, data: st.DataObject) -> None:
    body = json.dumps(value)
    if how == 1:
        body = data.draw(mutate(body))
    elif how == 2:
        body = data.draw(st.sampled_from(NASTY))
    method = "PUT" if path == "/points" else "POST"
    headers = [("Content-Type", content_type)] if content_type else []
    check(request(method, path + data.draw(st.sampled_from(["", "?dry=1", "?dry=maybe"])), headers, body.encode("utf-8", "surrogatepass")))


WS_HANDSHAKE = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


@FUZZ
@given(
    st.one_of(st.integers().map(str), TEXT.map(lambda text: text.replace("/", "_") or "0")),
    st.lists(st.tuples(st.sampled_from(["name", "page", "per-page", "x"]), TEXT), max_size=4),
    st.none() | st.one_of(st.sampled_from(["1", "2"]), HEADER_VALUES),
)
def test_websocket_handshakes(room: str, pairs: list[tuple[str, str]], level: str | None) -> None:
    """Validated before the upgrade: a 101, or the typed 400 (never a 1011)."""
    headers = list(WS_HANDSHAKE)
    if level is not None:
        headers.append(("X-Level", level.encode("latin-1", "replace").decode("latin-1")))
    target = f"/ws/{quote(room, safe='')}?{urlencode(pairs)}"
    assume(len(target) < FuzzProtocol.MAX_URL_SIZE)  # else a 414, from the core
    status, _ = check(request("GET", target, headers), upgrade=True)
    if status == 101:
        assert int(room) is not None


# Valid input, generated from the types: a 200 giving back the values.

SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10)


@FUZZ
@given(
    id=st.integers(-(10**12), 10**12),
    n=st.integers(),
    flag=st.sampled_from(["t", "TRUE", "yes", "1", "On", "f", "False", "no", "0", "OFF"]),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    price=st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6),
    uid=st.uuids(),
    color=st.sampled_from(Color),
    level=st.sampled_from(Level),
    mode=st.sampled_from(["a", "b", "3"]),
    day=st.dates(),
    tags=st.lists(st.integers(), max_size=4),
    names=st.lists(SAFE_TEXT, max_size=3),
    small=st.integers(1, 100),
    count=st.one_of(st.integers(), st.just("all")),
    page=st.integers(1, 10**6),
)
def test_valid_query_values_round_trip(
    id: int, n: int, flag: str, ratio: float, price: Decimal, uid: UUID, color: Color,
    level: Level, mode: str, day: date, tags: list[int], names: list[str], small: int,
    count: int | str, page: int,
) -> None:  # fmt: skip
    pairs: list[tuple[str, Any]] = [
        ("n", n), ("flag", flag), ("ratio", repr(ratio)), ("price", price), ("uid", uid),
        ("color", color.value), ("level", level.value), ("mode", mode), ("day", day),
        ("small", small), ("count", count), ("page", page),
        *(("tags", tag) for tag in tags), *(("name", name) for name in names),
    ]  # fmt: skip
    status, body = check(request("GET", f"/q/{id}?{urlencode(pairs)}"))
    assert status == 200, body
    assert body["id"] == id and body["n"] == n and body["page"] == [page, 10]
    assert body["flag"] is (flag.lower() in ("t", "true", "yes", "1", "on"))
    assert body["ratio"] == ratio
    assert Decimal(str(body["price"])) == price
    assert body["uid"] == str(uid) and body["day"] == day.isoformat()
    assert body["color"] == color.value and body["level"] == level.value
    assert body["mode"] == (3 if mode == "3" else mode)
    assert body["tags"] == tags and body["names"] == names
    assert body["small"] == small and body["count"] == count


@FUZZ
@given(
    qty=st.integers(1, 1000),
    price=st.decimals(min_value=0, max_value=999999, places=2),
    color=st.sampled_from(Color),
    day=st.dates(),
    tags=st.lists(st.text(max_size=5), max_size=5),
    ratio=st.floats(0, 1),
    uid=st.uuids(),
)
def test_valid_orders_round_trip(
    qty: int, price: Decimal, color: Color, day: date, tags: list[str], ratio: float, uid: UUID
) -> None:
    order = {
        "id": str(uid), "qty": qty, "price": str(price), "color": color.value,
        "day": day.isoformat(), "tags": tags, "ratio": ratio,
    }  # fmt: skip
    status, body = check(request("POST", "/order", [("Content-Type", "application/json")], json.dumps(order).encode()))
    assert status == 200, body
    assert Order.model_validate(body) == Order.model_validate(order)


@FUZZ
@given(
    fields=st.lists(st.tuples(st.sampled_from(["size", "note"]), st.integers(0, 10**6).map(str)), max_size=4),
    # No '"' nor '\\' (a quoted-string's escapes) in these well-formed names.
    files=st.lists(st.tuples(SAFE_TEXT.map(lambda name: name.replace('"', "").replace("\\", "") or "f"), st.binary(max_size=100)), max_size=3),
    qty=st.integers(),
)
def test_valid_multipart_round_trip(
    fields: list[tuple[str, str]], files: list[tuple[str, bytes]], qty: int
) -> None:
    boundary = "fuzzboundary"
    body = b""
    for name, value in [("qty", str(qty)), *fields]:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for filename, content in files:
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="doc"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    status, result = check(
        request("POST", "/form", [("Content-Type", f"multipart/form-data; boundary={boundary}")], body)
    )
    notes = [value for name, value in fields if name == "note"]
    if notes and len(notes[0]) > 30:
        assert status == 400
        return
    assert status == 200, result
    assert result["qty"] == qty
    assert result["sizes"] == [int(value) for name, value in fields if name == "size"]
    assert result["docs"] == [[filename, len(content)] for filename, content in files]


# The README's app (docs/typed.md, README.md), fuzzed as a user would hit it.

README_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def readme_request(method: str, target: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1", "replace") + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


class ShopItem(BaseModel):
    name: str
    price: float
    tags: list[str] = []


def make_readme_app() -> TypedRoll:
    app = TypedRoll()

    @app.route("/shops/{shop_id}/items", methods=["POST"], status=201)
    async def add_item(
        shop_id: int,
        item: ShopItem,
        token: Annotated[str, Header(alias="X-Token")],
        dry_run: bool = False,
    ) -> ShopItem:
        return item

    @app.route("/search")
    async def search(
        q: str = "",
        page: int = 1,
        sizes: Annotated[list[int], Query(alias="size")] = [],  # noqa: B006
        since: date | None = None,
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


README_APP = make_readme_app()


def status_of(raw: bytes) -> int:
    """The status of the one reply of README_APP (0 for none): a 2xx or a 4xx."""
    replies = read_responses(asyncio.run(drive(README_APP, [raw])).data)
    assert len(replies) <= 1
    if not replies:
        return 0
    status = replies[0].status
    assert 200 <= status < 300 or 400 <= status < 500, (status, replies[0].body, raw)
    return status


README_SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.sampled_from(["asc", "desc", "true", "false", "", "nan", "inf", "1e999", "-0"]),
)


@README_FUZZ
@given(st.lists(st.tuples(st.sampled_from(["q", "page", "size", "since", "order", "ratio", "x"]), README_SCALARS), max_size=8))
def test_readme_app_query(pairs: list[tuple[str, str]]) -> None:
    status = status_of(readme_request("GET", "/search?" + urlencode(pairs), {"Host": "x"}))
    assert status in (200, 400)


README_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["name", "price", "tags", "x"]), children, max_size=4),
    max_leaves=12,
)


ITEMS = st.fixed_dictionaries(
    {"name": st.text(max_size=10), "price": st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=3))},
    optional={"tags": st.lists(st.text(max_size=5), max_size=3), "x": README_JSON},
)


@README_FUZZ
@given(
    st.one_of(st.integers().map(str), st.text(max_size=8)),
    st.one_of(ITEMS, ITEMS, README_JSON),
    st.one_of(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10), st.none()),
    st.sampled_from(["application/json", "application/json", "text/plain", "", "application/x-www-form-urlencoded"]),
    st.sampled_from(["", "true", "0", "off", "maybe"]),
)
def test_readme_app_body(shop: str, value: Any, token: str | None, content_type: str, dry_run: str) -> None:
    headers = {"Host": "x", "Content-Type": content_type}
    if token is not None:
        headers["X-Token"] = token
    target = "/shops/" + quote(shop, safe="") + "/items" + (f"?dry_run={dry_run}" if dry_run else "")
    status = status_of(readme_request("POST", target, headers, json.dumps(value).encode()))
    assert status in (201, 400, 404)


@README_FUZZ
@given(st.one_of(st.binary(max_size=80), st.lists(st.tuples(st.sampled_from(["name", "age", "x"]), README_SCALARS), max_size=5).map(lambda p: urlencode(p).encode())))
def test_readme_app_form(body: bytes) -> None:
    headers = {"Host": "x", "Content-Type": "application/x-www-form-urlencoded"}
    assert status_of(readme_request("POST", "/form", headers, body)) in (200, 400, 413)


@pytest.fixture(autouse=True)
def _no_error_logs(caplog: pytest.LogCaptureFixture) -> Any:
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
