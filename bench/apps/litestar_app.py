"""Litestar on uvicorn (httptools + uvloop), written the idiomatic way."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Litestar, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import Parameter

from common import MINIMAL, Item, serve_asgi, summary


@get("/minimal")
async def minimal() -> dict[str, str]:
    return MINIMAL


@get("/parameter/{parameter:str}")
async def parameter(parameter: str) -> dict[str, str]:
    return {"parameter": parameter}


@get("/query")
async def query(q: str) -> dict[str, str]:
    return {"query": q}


@get("/full/{category:str}/{item:str}")
async def full(
    category: str,
    item: str,
    sort: str,
    session: Annotated[str | None, Parameter(cookie="session")] = None,
) -> Response[dict[str, Any]]:
    return Response(
        {"category": category, "item": item, "sort": sort, "session": session},
        cookies=[Cookie(key="seen", value="1")],
    )


@get("/typed/{shop_id:int}")
async def typed(shop_id: int, page: int, flag: bool = False) -> dict[str, Any]:
    return {"shop_id": shop_id, "page": page, "flag": flag}


@post("/json", status_code=200)
async def json_body(data: Item) -> dict[str, Any]:
    return summary(data)


app = Litestar([minimal, parameter, query, full, typed, json_body], debug=False)

if __name__ == "__main__":
    serve_asgi(app)
