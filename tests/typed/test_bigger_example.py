"""examples/bigger: the two-module app of docs/typed.md ("Bigger applications")."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest

from examples.bigger import items, main
from roll.testing import Client, LiveClient
from roll.typed import TypedRoll

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def app() -> TypedRoll:
    return main.app


@pytest.mark.parametrize("module", ["items", "main"])
def test_the_docs_show_the_files(module: str) -> None:
    source = (ROOT / "examples" / "bigger" / f"{module}.py").read_text()
    assert f"```python\n{source}```" in (ROOT / "docs" / "typed.md").read_text()


async def test_the_app(client: Client) -> None:
    assert (await client.get("/api/items")).json() == [{"name": "tea", "price": 2.5}]
    refused = await client.put("/api/items/1", {"name": "tea", "price": 3})
    assert refused.status == HTTPStatus.FORBIDDEN
    with main.app.override(items.Store, lambda: items.Store({})):
        assert (await client.get("/api/items/1")).status == HTTPStatus.NOT_FOUND


async def test_the_app_over_a_socket(liveclient: LiveClient) -> None:
    headers = {"X-Key": "secret", "Content-Type": "application/json"}
    body = b'{"name": "cake", "price": 4}'
    answer = await liveclient.query("PUT", "/api/items/9", headers=headers, body=body)
    assert answer.json() == {"name": "cake", "price": 4.0}
    assert (await liveclient.query("GET", "/api/items/9")).json() == {"name": "cake", "price": 4.0}
