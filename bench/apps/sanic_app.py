"""Sanic with its own server (uvloop), one process, hand-written handlers."""

from __future__ import annotations

from pydantic import ValidationError
from sanic import Request, Sanic
from sanic.exceptions import BadRequest
from sanic.response import HTTPResponse, json

from common import MINIMAL, Item, address, parse_bool, summary

app = Sanic("bench")
app.config.ACCESS_LOG = False


@app.get("/minimal")
async def minimal(request: Request) -> HTTPResponse:
    return json(MINIMAL)


@app.get("/parameter/<parameter:str>")
async def parameter(request: Request, parameter: str) -> HTTPResponse:
    return json({"parameter": parameter})


@app.get("/query")
async def query(request: Request) -> HTTPResponse:
    q = request.args.get("q")
    if q is None:
        raise BadRequest("missing q")
    return json({"query": q})


@app.get("/full/<category:str>/<item:str>")
async def full(request: Request, category: str, item: str) -> HTTPResponse:
    response = json(
        {
            "category": category,
            "item": item,
            "sort": request.args.get("sort"),
            "session": request.cookies.get("session"),
        }
    )
    response.add_cookie("seen", "1", path="/", secure=False, samesite=None)
    return response


@app.get("/typed/<shop_id:int>")
async def typed(request: Request, shop_id: int) -> HTTPResponse:
    try:
        page = int(request.args["page"][0])
        flag = parse_bool(request.args.get("flag", "false"))
    except (KeyError, ValueError) as error:
        raise BadRequest(str(error))
    return json({"shop_id": shop_id, "page": page, "flag": flag})


@app.post("/json")
async def json_body(request: Request) -> HTTPResponse:
    try:
        item = Item.model_validate(request.json)
    except ValidationError as error:
        raise BadRequest(error.json())
    return json(summary(item))


if __name__ == "__main__":
    host, port = address()
    app.run(host=host, port=port, single_process=True, access_log=False, debug=False, motd=False)
