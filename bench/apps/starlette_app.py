"""Starlette on uvicorn (httptools + uvloop), hand-written handlers."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common import MINIMAL, Item, parse_bool, serve_asgi, summary


async def minimal(request: Request) -> JSONResponse:
    return JSONResponse(MINIMAL)


async def parameter(request: Request) -> JSONResponse:
    return JSONResponse({"parameter": request.path_params["parameter"]})


async def query(request: Request) -> JSONResponse:
    q = request.query_params.get("q")
    if q is None:
        raise HTTPException(400, "missing q")
    return JSONResponse({"query": q})


async def full(request: Request) -> JSONResponse:
    response = JSONResponse(
        {
            "category": request.path_params["category"],
            "item": request.path_params["item"],
            "sort": request.query_params.get("sort"),
            "session": request.cookies.get("session"),
        }
    )
    response.set_cookie("seen", "1")
    return response


async def typed(request: Request) -> JSONResponse:
    params = request.query_params
    try:
        page = int(params["page"])
        flag = parse_bool(params.get("flag", "false"))
    except (KeyError, ValueError) as error:
        raise HTTPException(400, str(error))
    return JSONResponse({"shop_id": request.path_params["shop_id"], "page": page, "flag": flag})


async def json_body(request: Request) -> JSONResponse:
    try:
        item = Item.model_validate(await request.json())
    except ValidationError as error:
        raise HTTPException(400, error.json())
    return JSONResponse(summary(item))


app = Starlette(
    routes=[
        Route("/minimal", minimal),
        Route("/parameter/{parameter}", parameter),
        Route("/query", query),
        Route("/full/{category}/{item}", full),
        Route("/typed/{shop_id:int}", typed),
        Route("/json", json_body, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    serve_asgi(app)
