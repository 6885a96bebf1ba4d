"""mypy --strict sees plain types in typed handlers: no cast, no ignore."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]

WRONG_APP = textwrap.dedent(
    """\
    from typing import Annotated

    from pydantic import BaseModel

    from roll.typed import Header, Query, TypedRoll

    app = TypedRoll()


    class Item(BaseModel):
        name: str


    @app.route("/shops/{shop_id}/items", methods=["POST"])
    async def add_item(
        shop_id: int,
        item: Item,
        page: Annotated[int, Query()] = 1,
        token: Annotated[str, Header()] = "",
    ) -> Item:
        label: str = item.name + token
        return Item(name=label + shop_id)
    """
)
WRONG_LINE = 22  # `shop_id` (an int) used as a str


def run_mypy(path: Path, cache: Path) -> tuple[str, int]:
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "mypy.ini"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--show-error-codes",
            str(path),
        ]
    )
    return stdout + stderr, status


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def test_typed_example_app_passes(cache: Path) -> None:
    output, status = run_mypy(ROOT / "examples" / "typed_app.py", cache)
    assert status == 0, output


def test_wrong_app_fails_on_the_line(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "wrong_app.py"
    path.write_text(WRONG_APP)
    assert WRONG_APP.splitlines()[WRONG_LINE - 1].strip() == "return Item(name=label + shop_id)"
    output, status = run_mypy(path, cache)
    assert status == 1, output
    errors = [line for line in output.splitlines() if ": error:" in line]
    assert len(errors) == 1, output
    assert (
        f'wrong_app.py:{WRONG_LINE}: error: Unsupported operand types for + ("str" and "int")'
        in errors[0]
    )
