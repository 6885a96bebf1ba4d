"""A typed Roll app: every parameter source of `roll.typed` in one small shop.

Run it with `make run` (or `python -m examples.typed_app`), open http://127.0.0.1:3579/
(the docs page, from its OpenAPI document at /openapi.json), then try:

    curl 'http://127.0.0.1:3579/shops/1/items?page=1&sort=price'
    curl -X POST -H 'Content-Type: application/json' -H 'Authorization: Bearer ann' \\
         -d '{"name": "hat", "price": 12.5}' http://127.0.0.1:3579/shops/1/items
    curl 'http://127.0.0.1:3579/shops/1/items?page=0&sort=size'     # a 400 listing both problems
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from http import HTTPStatus
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from roll import HttpError, Request, Response
from roll.extensions import simple_server
from roll.typed import (
    Cookie,
    Depends,
    File,
    Form,
    Header,
    Query,
    TypedRoll,
    UploadFile,
    WebSocket,
    openapi,
)
from roll.typed.security import APIKeyCookie, APIKeyHeader, HTTPBearer

app = TypedRoll()


# Models: a pydantic model is read from the JSON body and returned as JSON.


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    price: float = Field(ge=0)
    tags: list[str] = []


class StoredItem(Item):
    id: int
    shop_id: int


class Priority(Enum):
    LOW = "low"
    HIGH = "high"


@dataclass
class Receipt:
    email: str
    priority: Priority
    urgent: bool
    received: date


# An app-level singleton: made at first use, closed at shutdown.


@dataclass
class Database:
    items: dict[int, StoredItem] = field(default_factory=dict)
    logos: dict[int, tuple[str, int]] = field(default_factory=dict)
    open: bool = True

    def add(self, shop_id: int, item: Item) -> StoredItem:
        stored = StoredItem(id=len(self.items) + 1, shop_id=shop_id, **item.model_dump())
        self.items[stored.id] = stored
        return stored


async def database() -> AsyncIterator[Database]:
    db = Database()
    yield db
    db.open = False


app.provide(Database, database, singleton=True)


# Per-request dependencies, themselves resolved from the request.


@dataclass
class User:
    name: str


# Security schemes: providers for Depends(), documented in the OpenAPI document.
bearer = HTTPBearer(auto_error=False)  # None when missing: the cookie may do
session_cookie = APIKeyCookie(name="session", auto_error=False)
api_key = APIKeyHeader(name="X-API-Key")  # a 401 when missing


async def current_user(
    token: Annotated[str | None, Depends(bearer)],
    session: Annotated[str | None, Depends(session_cookie)],
) -> User:
    """The user, from a bearer token or a session cookie."""
    name = token or session
    if not name:
        raise bearer.unauthorized("Log in first")  # a 401 with `WWW-Authenticate: Bearer`
    return User(name)


def pagination(
    page: Annotated[int, Field(ge=1)] = 1,
    per_page: Annotated[int, Query(alias="per-page"), Field(ge=1, le=100)] = 20,
) -> slice:
    start = (page - 1) * per_page
    return slice(start, start + per_page)


# Routes.


@app.route("/shops/{shop_id}/items", tags=["items"])
async def list_items(
    shop_id: int,  # URL placeholder
    db: Database,  # app-level provider
    window: Annotated[slice, Depends(pagination)],  # dependency (query values)
    sort: Literal["name", "price"] = "name",  # query value
    tag: list[str] = [],  # repeated query key: ?tag=a&tag=b
) -> list[StoredItem]:
    """The items of a shop, a page at a time."""
    items = [item for item in db.items.values() if item.shop_id == shop_id]
    if tag:
        items = [item for item in items if set(tag) & set(item.tags)]
    items.sort(key=lambda item: getattr(item, sort))
    return items[window]


@app.route("/shops/{shop_id}/items", methods=["POST"], status=201, tags=["items"])
async def add_item(
    shop_id: int,
    item: Item,  # JSON body, validated from the raw bytes
    db: Database,
    user: Annotated[User, Depends(current_user)],
    response: Response,
    dry_run: bool = False,
) -> StoredItem:
    """Add an item to a shop (`dry_run`: check it, store nothing)."""
    response.headers["X-Created-By"] = user.name
    if dry_run:
        return StoredItem(id=0, shop_id=shop_id, **item.model_dump())
    return db.add(shop_id, item)


def find(db: Database, item_id: int) -> StoredItem:
    try:
        return db.items[item_id]
    except KeyError:
        raise HttpError(HTTPStatus.NOT_FOUND, f"No item {item_id}") from None


@app.route("/items/{item_id:digit}", tags=["items"], responses={404: "No such item"})
class ItemView:
    """One item (a class-based view: one operation per method)."""

    async def on_get(self, item_id: int, db: Database) -> StoredItem:
        return find(db, item_id)

    async def on_delete(
        self, item_id: int, db: Database, user: Annotated[User, Depends(current_user)]
    ) -> StoredItem:
        """Remove an item; gives it back."""
        return db.items.pop(find(db, item_id).id)


@app.route("/items/{item_id:digit}/name", tags=["items"], responses={404: "No such item"})
async def item_name(item_id: int, db: Database, upper: bool = False) -> str:
    name = find(db, item_id).name
    return name.upper() if upper else name  # str -> text/plain


@app.route("/shops/{shop_id}/logo", methods=["POST"], status=201, tags=["shops"])
async def upload_logo(
    shop_id: int,
    logo: UploadFile,  # an uploaded file
    caption: Annotated[str, Form()],  # a form field of the same multipart body
    db: Database,
    user: Annotated[User, Depends(current_user)],
    thumbnail: Annotated[UploadFile | None, File()] = None,
) -> dict[str, object]:
    db.logos[shop_id] = (logo.filename, logo.size)
    return {
        "shop_id": shop_id,
        "filename": logo.filename,
        "content_type": logo.content_type,
        "size": logo.size,
        "caption": caption,
        "thumbnail": thumbnail.filename if thumbnail else None,
        "by": user.name,
    }


@app.route("/contact", methods=["POST"], summary="Send us a message")
async def contact(
    email: Annotated[str, Form(), Field(pattern=r"^[^@\s]+@[^@\s]+$")],
    priority: Annotated[Priority, Form()] = Priority.LOW,
    urgent: Annotated[bool, Form()] = False,
    when: Annotated[date | None, Form()] = None,
) -> Receipt:  # a dataclass -> JSON
    return Receipt(email, priority, urgent, when or date.today())


@app.route("/whoami")
async def whoami(
    user: Annotated[User, Depends(current_user)],
    request_id: Annotated[str, Header(alias="X-Request-Id")] = "-",
    theme: Annotated[Literal["light", "dark"], Cookie()] = "light",
) -> dict[str, str]:
    return {"name": user.name, "request_id": request_id, "theme": theme}


CSV = {"description": "The items, as CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}


@app.route("/export.csv", responses={200: CSV})
async def export(db: Database, response: Response) -> bytes:  # bytes -> raw body
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    lines = ["id,name,price", *(f"{i.id},{i.name},{i.price}" for i in db.items.values())]
    return "\n".join(lines).encode()


class Stats(BaseModel):
    items: int
    logos: int


@app.route("/stats", responses={403: "Wrong API key"}, operation_id="stats")
async def stats(key: Annotated[str, Depends(api_key)], db: Database) -> Stats:
    """For the staff, with their API key (`X-API-Key: staff`)."""
    if key != "staff":
        raise HttpError(HTTPStatus.FORBIDDEN, "Wrong API key")
    return Stats(items=len(db.items), logos=len(db.logos))


@app.route("/legacy/{name}")
async def legacy(request, response, name):  # type: ignore[no-untyped-def]
    """A plain Roll handler: registered untouched."""
    response.body = f"Hello {name}"


@app.route("/ws/shops/{shop_id}", protocol="websocket")
async def shop_feed(ws: WebSocket, shop_id: int, name: Annotated[str, Query()] = "anon") -> None:
    await ws.send(f"{name} watches shop {shop_id}")
    async for message in ws:
        await ws.send(f"{name}@{shop_id}: {message!r}")


@app.route("/", include_in_schema=False)
async def home(request: Request, response: Response) -> None:
    """A newcomer opening the app lands on its docs page."""
    response.redirect = ("/docs", HTTPStatus.FOUND)


# The OpenAPI document at /openapi.json, the docs page (Swagger UI) at /docs.
openapi(app, title="Roll typed shop", version="1.0.0", description="`examples/typed_app.py`")


if __name__ == "__main__":
    simple_server(app)  # http://127.0.0.1:3579, Ctrl-C stops it gracefully
