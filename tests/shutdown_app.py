"""The app `tests/test_shutdown.py` loads with keep-alive clients, then stops with SIGTERM.

It counts the requests the server began to read (the parser's first byte of
a request) and writes the count to $ROLL_TEST_EVENTS/begun-<pid> when it
stops: a request begun and not answered is a lost request.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

from roll import HTTPProtocol, Request, Response, Roll

begun = 0


class CountingProtocol(HTTPProtocol):
    __slots__ = ()

    def on_message_begin(self) -> None:
        global begun
        begun += 1
        super().on_message_begin()


app = Roll()
app.HttpProtocol = CountingProtocol


@app.listen("shutdown")
async def report() -> None:
    folder = os.environ.get("ROLL_TEST_EVENTS")
    if folder:
        (Path(folder) / f"begun-{os.getpid()}").write_text(str(begun))


@app.route("/work")
async def work(request: Request, response: Response) -> None:
    await asyncio.sleep(random.random() * 0.01)
    response.body = b"x" * 2000


@app.route("/big")
async def big(request: Request, response: Response) -> None:
    response.body = b"x" * (1024 * 1024)
