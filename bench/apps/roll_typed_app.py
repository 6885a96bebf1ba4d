"""Ours, typed handlers on `roll.typed.TypedRoll`: annotated parameters."""

from __future__ import annotations

from typing import Annotated, Any

from common import MINIMAL, Item, serve_roll, summary
from roll import Response
from roll.typed import Cookie, TypedRoll

app = TypedRoll()


@app.route("/minimal")
async def minimal() -> dict[str, str]:
    return MINIMAL


@app.route("/parameter/{parameter}")
async def parameter(parameter: str) -> dict[str, str]:
    return {"parameter": parameter}


@app.route("/query")
async def query(q: str) -> dict[str, str]:
    return {"query": q}


@app.route("/full/{category}/{item}")
async def full(
    category: str,
    item: str,
    sort: str,
    response: Response,
    session: Annotated[str | None, Cookie()] = None,
) -> dict[str, Any]:
    response.cookies.set("seen", "1")
    return {"category": category, "item": item, "sort": sort, "session": session}


@app.route("/typed/{shop_id}")
async def typed(shop_id: int, page: int, flag: bool = False) -> dict[str, Any]:
    return {"shop_id": shop_id, "page": page, "flag": flag}


@app.route("/json", methods=["POST"])
async def json_body(item: Item) -> dict[str, Any]:
    return summary(item)


if __name__ == "__main__":
    serve_roll(app)
