"""Ours, plain core handlers: `async def h(request, response, **vars)`."""

from __future__ import annotations

from pydantic import ValidationError

from common import MINIMAL, Item, serve_roll, summary
from roll import HttpError, Request, Response, Roll

app = Roll()


@app.route("/minimal")
async def minimal(request: Request, response: Response) -> None:
    response.json = MINIMAL


@app.route("/parameter/{parameter}")
async def parameter(request: Request, response: Response, parameter: str) -> None:
    response.json = {"parameter": parameter}


@app.route("/query")
async def query(request: Request, response: Response) -> None:
    response.json = {"query": request.query.get("q")}


@app.route("/full/{category}/{item}")
async def full(request: Request, response: Response, category: str, item: str) -> None:
    response.cookies.set("seen", "1")
    response.json = {
        "category": category,
        "item": item,
        "sort": request.query.get("sort"),
        "session": request.cookies.get("session"),
    }


@app.route("/typed/{shop_id}")
async def typed(request: Request, response: Response, shop_id: str) -> None:
    try:
        shop = int(shop_id)
    except ValueError:
        raise HttpError(400, "shop_id must be an integer")
    response.json = {
        "shop_id": shop,
        "page": request.query.int("page"),
        "flag": request.query.bool("flag", False),
    }


@app.route("/json", methods=["POST"])
async def json_body(request: Request, response: Response) -> None:
    try:
        item = Item.model_validate(request.json)
    except ValidationError as error:
        raise HttpError(400, error.json())
    response.json = summary(item)


if __name__ == "__main__":
    serve_roll(app)
