from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def events() -> list[Any]:
    """What the handlers and providers of a test record, in order."""
    return []


@pytest.fixture(params=["compiled", "general"])
def endpoint_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on both endpoint paths: as registered (the compiled
    endpoint wherever the plan allows it), then with every HTTP endpoint
    the general one (`roll.typed.endpoint.FORCE_GENERAL`). Apply it to a
    module with `pytestmark = pytest.mark.usefixtures("endpoint_path")`."""
    import roll.typed.endpoint

    path: str = request.param
    monkeypatch.setattr(roll.typed.endpoint, "FORCE_GENERAL", path == "general")
    return path
