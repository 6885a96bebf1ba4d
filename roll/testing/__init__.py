"""Test support: the pytest plugin and the tools under it.

The fixtures, `client` (in memory) and `liveclient` (a real socket), need an
`app` fixture returning the Roll app under test. Under them, for tests that
work at the byte level: `open_protocol` and `drive`, the one in-memory
driver (a connection on a fake `Transport`, `roll.testing.driver`), and
`read_responses` / `read_response`, the one response reader
(`WireResponse`s, from bytes or from a socket, `roll.testing.reader`). The
clients are `roll.testing.client`'s. This module is the pytest plugin
(the `pytest11` entry point `roll`) and exports all of their names.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, AsyncIterator, Iterator

from ..app import Roll
from .client import Client, ClientResponse, LiveClient, encode_body, encode_multipart
from .driver import Transport, drive, open_protocol
from .reader import Asserting, ResponseReader, WireResponse, read_body, read_response, read_responses

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - no fixtures then; the driver and reader still work
    pytest_asyncio = None  # type: ignore[assignment]


ASYNC_MARKERS = frozenset(("asyncio", "anyio", "trio"))


if pytest_asyncio is not None:
    import pytest  # pytest-asyncio is there, so pytest is

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> Iterator[None]:
        """Run `async def test_...` with pytest-asyncio with no configuration.

        pytest-asyncio's default (strict) mode skips an unmarked coroutine test
        with "async def functions are not natively supported"; a project would
        need `asyncio_mode = auto`. A coroutine test marked for no async plugin
        gets the `asyncio` mark here, before it is collected (in auto mode the
        mark changes nothing)."""
        if (
            pytest_asyncio is not None
            and inspect.iscoroutinefunction(obj)
            and collector.istestfunction(obj, name)
            and not any(mark.name in ASYNC_MARKERS for mark in getattr(obj, "pytestmark", ()))
            and not any(mark.name in ASYNC_MARKERS for mark in collector.iter_markers())
        ):
            pytest.mark.asyncio(obj)
        yield


    @pytest_asyncio.fixture
    async def client(app: Roll) -> AsyncIterator[Client]:
        app.loop = asyncio.get_running_loop()
        await app.startup()
        yield Client(app)
        await app.shutdown()

    @pytest_asyncio.fixture
    async def liveclient(app: Roll) -> AsyncIterator[LiveClient]:
        live = LiveClient(app)
        await app.startup()
        await live.start()
        yield live
        await live.stop()
        await app.shutdown()


__all__ = [
    "Asserting",
    "Client",
    "ClientResponse",
    "LiveClient",
    "ResponseReader",
    "Transport",
    "WireResponse",
    "drive",
    "encode_body",
    "encode_multipart",
    "open_protocol",
    "read_body",
    "read_response",
    "read_responses",
]
