"""The app the serving tests run in subprocesses (`python -m roll` and gunicorn).

Each process records its startup and shutdown as files in $ROLL_TEST_EVENTS.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from roll import Request, Response, Roll, WSProtocol

app = Roll()


def record(event: str) -> None:
    folder = os.environ.get("ROLL_TEST_EVENTS")
    if folder:
        (Path(folder) / f"{event}-{os.getpid()}").touch()


@app.listen("startup")
async def startup() -> None:
    record("startup")


@app.listen("shutdown")
async def shutdown() -> None:
    record("shutdown")


@app.route("/pid")
async def pid(request: Request, response: Response) -> None:
    response.body = str(os.getpid())


@app.route("/loop")
async def loop(request: Request, response: Response) -> None:
    response.body = type(asyncio.get_running_loop()).__module__.split(".")[0]


@app.route("/slow")
async def slow(request: Request, response: Response) -> None:
    await asyncio.sleep(request.query.float("s", 1.0))
    response.body = "done"


@app.route("/ws", protocol="websocket")
async def websocket(request: Request, ws: WSProtocol) -> None:
    await ws.send("hi")
    await ws.recv()
