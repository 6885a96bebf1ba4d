from __future__ import annotations

import pytest

from roll import Roll


@pytest.fixture
def app() -> Roll:
    return Roll()
