"""FastAPI on uvicorn (httptools + uvloop), written the idiomatic way."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Cookie, FastAPI, Response

from common import MINIMAL, Item, serve_asgi, summary

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/minimal")
async def minimal() -> dict[str, str]:
    return MINIMAL


@app.get("/parameter/{parameter}")
async def parameter(parameter: str) -> dict[str, str]:
    return {"parameter": parameter}


@app.get("/query")
async def query(q: str) -> dict[str, str]:
    return {"query": q}


@app.get("/full/{category}/{item}")
async def full(
    category: str,
    item: str,
    sort: str,
    response: Response,
    session: Annotated[str | None, Cookie()] = None,
) -> dict[str, Any]:
    response.set_cookie("seen", "1")
    return {"category": category, "item": item, "sort": sort, "session": session}


@app.get("/typed/{shop_id}")
async def typed(shop_id: int, page: int, flag: bool = False) -> dict[str, Any]:
    return {"shop_id": shop_id, "page": page, "flag": flag}


@app.post("/json")
async def json_body(item: Item) -> dict[str, Any]:
    return summary(item)


if __name__ == "__main__":
    serve_asgi(app)
