"""Every ```python block of README.md and docs/*.md runs, as a reader would run it.

The blocks of one file run in order in one shared namespace (a module of its
own, so pydantic and `get_type_hints` resolve names defined by earlier
blocks), inside the test's running event loop, with top-level `await`
allowed. A block shows what it expects with `assert`. Non-Python snippets use
```sh / ```text fences and are not run. There is no skip list: a block that
cannot run is a wrong example.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
import traceback
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# An opening fence (possibly indented, in a list) up to its closing fence.
FENCE = re.compile(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line of the block's first code line, dedented code) of each ```python block."""
    return [
        (text.count("\n", 0, match.start(2)) + 1, textwrap.dedent(match.group(2)))
        for match in FENCE.finditer(text)
    ]


def test_python_blocks_are_found_with_their_lines() -> None:
    text = "# Title\n\n```python\nx = 1\n```\n\ntext\n\n- item\n  ```python\n  y = 2\n  ```\n```sh\nls\n```\n"
    assert python_blocks(text) == [(4, "x = 1\n"), (11, "y = 2\n")]


async def run_block(namespace: dict[str, object], page: Path, line: int, code: str) -> None:
    # Padded so that tracebacks give the page's own line numbers.
    source = "\n" * (line - 1) + code
    compiled = compile(source, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)  # noqa: S307 - the docs are ours
    if inspect.iscoroutine(result):
        await result


def page_traceback(error: BaseException, page: Path) -> str:
    """The traceback from the page's own frames on (the runner's are noise)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != str(page):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


@pytest.mark.parametrize(
    "page",
    [page for page in PAGES if python_blocks(page.read_text())],
    ids=lambda page: str(page.relative_to(ROOT)),
)
async def test_page_examples_run(page: Path) -> None:
    name = f"docs_{page.stem}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        for line, code in python_blocks(page.read_text()):
            failure = None
            try:
                await run_block(module.__dict__, page, line, code)
            except Exception as error:
                failure = page_traceback(error, page)
            if failure is not None:
                where = f"{page.relative_to(ROOT)}, the python block at line {line}"
                pytest.fail(f"{where} failed:\n{failure}", pytrace=False)
    finally:
        del sys.modules[name]
