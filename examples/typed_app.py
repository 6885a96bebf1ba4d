"""A typed Roll app: every parameter source of `roll.typed` in one small shop.

Run it with `make run` (or `python -m examples.typed_app`) (http://127.0.0.1:3579), then try:

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

from roll import HttpError, Response
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
)

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


async def current_user(
    authorization: Annotated[str, Header()] = "",
    session: Annotated[str, Cookie()] = "",
) -> User:
    """The user, from a bearer token or a session cookie."""
    token = authorization.removeprefix("Bearer ").strip() or session
    if not token:
        raise HttpError(HTTPStatus.UNAUTHORIZED, "Log in first")
    return User(token)


def pagination(
    page: Annotated[int, Field(ge=1)] = 1,
    per_page: Annotated[int, Query(alias="per-page"), Field(ge=1, le=100)] = 20,
) -> slice:
    start = (page - 1) * per_page
    return slice(start, start + per_page)


# Routes.


@app.route("/shops/{shop_id}/items")
class ShopItems:
    async def on_get(
        self,
        shop_id: int,  # URL placeholder
        db: Database,  # app-level provider
        window: Annotated[slice, Depends(pagination)],  # dependency (query values)
        sort: Literal["name", "price"] = "name",  # query value
        tag: list[str] = [],  # repeated query key: ?tag=a&tag=b
    ) -> list[StoredItem]:
        items = [item for item in db.items.values() if item.shop_id == shop_id]
        if tag:
            items = [item for item in items if set(tag) & set(item.tags)]
        items.sort(key=lambda item: getattr(item, sort))
        return items[window]

    async def on_post(
        self,
        shop_id: int,
        item: Item,  # JSON body, validated from the raw bytes
        db: Database,
        user: Annotated[User, Depends(current_user)],
        response: Response,
        dry_run: bool = False,
    ) -> StoredItem:
        response.status = HTTPStatus.CREATED
        response.headers["X-Created-By"] = user.name
        if dry_run:
            return StoredItem(id=0, shop_id=shop_id, **item.model_dump())
        return db.add(shop_id, item)


@app.route("/items/{item_id:digit}")
async def get_item(item_id: int, db: Database) -> StoredItem:
    try:
        return db.items[item_id]
    except KeyError:
        raise HttpError(HTTPStatus.NOT_FOUND, f"No item {item_id}") from None


@app.route("/items/{item_id:digit}/name")
async def item_name(item_id: int, db: Database, upper: bool = False) -> str:
    item = await get_item(item_id, db)
    return item.name.upper() if upper else item.name  # str -> text/plain


@app.route("/shops/{shop_id}/logo", methods=["POST"], status=201)
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


@app.route("/contact", methods=["POST"])
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


@app.route("/export.csv")
async def export(db: Database) -> bytes:  # bytes -> raw body
    lines = ["id,name,price", *(f"{i.id},{i.name},{i.price}" for i in db.items.values())]
    return "\n".join(lines).encode()


@app.route("/legacy/{name}")
async def legacy(request, response, name):  # type: ignore[no-untyped-def]
    """A plain Roll handler: registered untouched."""
    response.body = f"Hello {name}"


@app.route("/ws/shops/{shop_id}", protocol="websocket")
async def shop_feed(ws: WebSocket, shop_id: int, name: Annotated[str, Query()] = "anon") -> None:
    await ws.send(f"{name} watches shop {shop_id}")
    async for message in ws:
        await ws.send(f"{name}@{shop_id}: {message!r}")


if __name__ == "__main__":
    simple_server(app)  # http://127.0.0.1:3579, Ctrl-C stops it gracefully
