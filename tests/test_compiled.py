"""The optional compiled build (setup.py, `ROLL_MYPYC=1`): it must not show.

`make test-mypyc` runs the core tests again with the hot modules compiled
by mypyc (with `ROLL_MYPYC=1` set). The first test makes sure that those
modules are the compiled ones there, not silently the pure ones; the others
pin what mypyc got wrong once, and pass on both builds.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import runpy
import sys
from collections.abc import AsyncIterator
from http import HTTPStatus
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from roll import Request, Response, Roll
from roll.testing import open_protocol

ROOT = Path(__file__).resolve().parent.parent
COMPILED: tuple[str, ...] = runpy.run_path(str(ROOT / "setup.py"), run_name="setup")["COMPILED"]


@pytest.mark.skipif(os.environ.get("ROLL_MYPYC") != "1", reason="the pure build")
def test_the_hot_modules_are_compiled() -> None:
    for path in COMPILED:
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert str(module.__file__).endswith(tuple(EXTENSION_SUFFIXES)), module.__file__


async def test_a_cancelled_stream_leaves_no_exception_behind(app: Roll) -> None:
    # mypyc (2.4): a compiled coroutine whose `finally` awaits left the
    # exception going through it (here, the cancellation of the request's
    # task when the client left mid-stream) as `sys.exc_info()` for whatever
    # ran next; a later request on another connection raised it again.
    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def endless() -> AsyncIterator[bytes]:
            while True:
                yield b"x"
                await asyncio.sleep(0)

        response.body = endless()

    @app.route("/upload", methods=["POST"])
    async def upload(request: Request, response: Response) -> None:
        response.body = request.body

    protocol = open_protocol(app)
    protocol.data_received(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(0.01)
    protocol.connection_lost(None)  # cancels the task writing the stream
    assert protocol.task is not None
    with pytest.raises(asyncio.CancelledError):
        await protocol.task
    assert sys.exc_info() == (None, None, None)

    protocol = open_protocol(app)
    protocol.data_received(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    protocol.connection_lost(None)
    assert protocol.task is not None
    await asyncio.wait_for(protocol.task, 1)  # not the first one's CancelledError
    assert protocol.response.status == HTTPStatus.BAD_REQUEST
