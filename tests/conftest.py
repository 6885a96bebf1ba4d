from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from roll import Roll


@pytest.fixture
def app() -> Roll:
    return Roll()


@pytest_asyncio.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Whatever reaches the event loop's exception handler (e.g. 'Task exception was never retrieved')."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    yield errors
    gc.collect()  # a never-retrieved task error is reported when the task is collected
    await asyncio.sleep(0)
    loop.set_exception_handler(previous)
