"""BlackSheep on uvicorn (httptools + uvloop), written the idiomatic way."""

from __future__ import annotations

from typing import Any

from blacksheep import Application, FromJSON, Request, Response, get, json, post
from blacksheep.cookies import Cookie

from common import MINIMAL, Item, serve_asgi, summary

app = Application()


@get("/minimal")
async def minimal() -> Response:
    return json(MINIMAL)


@get("/parameter/{parameter}")
async def parameter(parameter: str) -> Response:
    return json({"parameter": parameter})


@get("/query")
async def query(q: str) -> Response:
    return json({"query": q})


@get("/full/{category}/{item}")
async def full(request: Request, category: str, item: str, sort: str) -> Response:
    response = json(
        {
            "category": category,
            "item": item,
            "sort": sort,
            "session": request.cookies.get("session"),
        }
    )
    response.set_cookie(Cookie("seen", "1", path="/"))
    return response


@get("/typed/{shop_id}")
async def typed(shop_id: int, page: int, flag: bool = False) -> Response:
    return json({"shop_id": shop_id, "page": page, "flag": flag})


@post("/json")
async def json_body(item: FromJSON[Item]) -> Response:
    result: dict[str, Any] = summary(item.value)
    return json(result)


if __name__ == "__main__":
    serve_asgi(app)
