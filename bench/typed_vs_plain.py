"""Typed handlers against the same endpoints hand-written on the plain core.

    .venv/bin/python -m bench.typed_vs_plain [--seconds 10] [--rounds 20]

Each request goes through the whole server side in process: a protocol
parses the raw bytes (httptools), routes, runs the handler and writes the
response to a fake transport. No socket, so the client costs nothing and the
figures compare the server's work only. Prints requests/s (best of short
interleaved rounds, in CPU time) and the typed/plain ratios for:

- `scalars`: one int URL value, one int query value, one bool query value;
- `json`: a pydantic model from a JSON body, hand-written as
  `Item.model_validate(request.json)`.

`plain` writes its JSON with `response.json = ...` (the core's encoder);
`plain-fast` with `pydantic_core.to_json` like the typed layer, so that
`typed/plain-fast` isolates the cost of the parameter resolution itself.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

from roll import Request, Response, Roll
from roll.testing import Transport, open_protocol
from roll.typed import TypedRoll


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


def plain_app(fast: bool = False) -> Roll:
    app = Roll()

    def send(response: Response, data: Any) -> None:
        if fast:
            response.body = to_json(data)
            response.headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            response.json = data

    @app.route("/shops/{shop_id}/items")
    async def scalars(request: Request, response: Response, shop_id: str) -> None:
        shop = int(shop_id)
        page = request.query.int("page", 1)
        flag = request.query.bool("flag", False)
        send(response, {"shop": shop, "page": page, "flag": flag})

    @app.route("/items", methods=["POST"])
    async def json_body(request: Request, response: Response) -> None:
        item = Item.model_validate(request.json)
        send(response, {"name": item.name, "price": item.price})

    return app


def typed_app() -> Roll:
    app = TypedRoll()

    @app.route("/shops/{shop_id}/items")
    async def scalars(shop_id: int, page: int = 1, flag: bool = False) -> dict[str, Any]:
        return {"shop": shop_id, "page": page, "flag": flag}

    @app.route("/items", methods=["POST"])
    async def json_body(item: Item) -> dict[str, Any]:
        return {"name": item.name, "price": item.price}

    return app


BODY = b'{"name": "a fine hat", "price": 12.5, "tags": ["head", "wool", "winter"]}'
REQUESTS = {
    "scalars": b"GET /shops/42/items?page=3&flag=yes HTTP/1.1\r\nHost: x\r\n\r\n",
    "json": (
        b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    ),
}


async def one(app: Roll, raw: bytes) -> bytes:
    transport = Transport()
    protocol = open_protocol(app, transport)
    protocol.data_received(raw)
    assert protocol.task is not None
    await protocol.task
    return bytes(transport.data)


async def rate(app: Roll, raw: bytes, seconds: float) -> float:
    """Requests per second of this process's CPU time (other processes on
    the machine then matter less than with wall time)."""
    count = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(100):
            await one(app, raw)
        count += 100
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


async def main(seconds: float, rounds: int) -> None:
    apps = {"plain": plain_app(), "plain-fast": plain_app(fast=True), "typed": typed_app()}
    for app in apps.values():
        app.loop = asyncio.get_running_loop()
        await app.startup()
    for name, raw in REQUESTS.items():
        for app in apps.values():
            out = await one(app, raw)
            assert out.startswith(b"HTTP/1.1 200 "), out
        best = dict.fromkeys(apps, 0.0)
        for _ in range(rounds):  # interleaved, so drift hits both alike
            for kind, app in apps.items():
                best[kind] = max(best[kind], await rate(app, raw, seconds / rounds))
        print(
            f"{name:8} plain {best['plain']:7.0f} req/s  plain-fast {best['plain-fast']:7.0f} req/s"
            f"  typed {best['typed']:7.0f} req/s  typed/plain {best['typed'] / best['plain']:.3f}"
            f"  typed/plain-fast {best['typed'] / best['plain-fast']:.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and app")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rounds))
