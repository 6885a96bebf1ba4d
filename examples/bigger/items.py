# examples/bigger/items.py: the item routes, with no app in sight.
from http import HTTPStatus
from typing import Annotated

from pydantic import BaseModel

from roll import HttpError
from roll.typed import Depends, Header, Query, Router


class Item(BaseModel):
    name: str
    price: float


class Store:
    """Where items live; `main.py` provides it (a test overrides it)."""

    def __init__(self, items: dict[int, Item]) -> None:
        self.items = items


class Page(BaseModel):
    page: int = 1
    size: int = 10


def verify_key(x_key: Annotated[str, Header()] = "") -> None:
    if x_key != "secret":
        raise HttpError(HTTPStatus.FORBIDDEN, "Bad key")


router = Router("/items", tags=["items"])


@router.route("")
async def list_items(store: Store, paging: Annotated[Page, Query()]) -> list[Item]:
    start = (paging.page - 1) * paging.size
    return list(store.items.values())[start : start + paging.size]


@router.route("/{item_id}")
async def show_item(item_id: int, store: Store) -> Item:
    if item_id not in store.items:
        raise HttpError(HTTPStatus.NOT_FOUND, f"No item {item_id}")
    return store.items[item_id]


@router.route("/{item_id}", methods=["PUT"], dependencies=[Depends(verify_key)])
async def put_item(item_id: int, item: Item, store: Store) -> Item:
    store.items[item_id] = item
    return item
