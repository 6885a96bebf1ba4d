"""No module of roll/ imports a module of its own layer or above (`roll.LAYERS`).

Every import counts: at module level, inside a function, under
`TYPE_CHECKING`. There is no exception list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import roll

ROLL = Path(roll.__file__).resolve().parent
RANK = {module: rank for rank, layer in enumerate(roll.LAYERS) for module in layer}


def module_name(path: Path) -> str:
    parts = ("roll", *path.relative_to(ROLL).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROLL.rglob("*.py"))}


def is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def imported(module: str, source: str) -> set[str]:
    """The modules of roll that `source` (the text of `module`) imports."""
    package = module if is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = ".".join(filter(None, [base if node.level else "", node.module or ""]))
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    return {name for name in found if name == "roll" or name.startswith("roll.")}


def test_imports_are_resolved() -> None:
    source = (
        "from . import errors, Thing\n"  # a submodule, and a name of the package
        "from .app import TypedRoll\n"
        "from roll import Request\n"
        "import roll.http\n"
        "if TYPE_CHECKING:\n    from .plan import Plan\n"
        "def later():\n    from ..server import run\n"
        "import asyncio\n"
    )
    assert imported("roll.typed.dependencies", source) == {
        "roll.typed.errors",
        "roll.typed",
        "roll.typed.app",
        "roll",
        "roll.http",
        "roll.typed.plan",
        "roll.server",
    }


def upward(sources: dict[str, str]) -> list[str]:
    """Each import of a module of the same layer or above, as a line to read."""
    return [
        f"{module} (layer {RANK[module]}) imports {target} (layer {RANK.get(target, '?')})"
        for module, source in sources.items()
        for target in sorted(imported(module, source))
        if RANK.get(target, len(RANK)) >= RANK[module]
    ]


def test_an_upward_import_is_caught() -> None:
    assert upward({"roll.request": "if TYPE_CHECKING:\n    from .app import Roll\n"}) == [
        f"roll.request (layer {RANK['roll.request']}) imports roll.app (layer {RANK['roll.app']})"
    ]
    assert upward({"roll.request": "from .response import Response\n"}) != []  # same layer
    assert upward({"roll.request": "from .multipart import parse_multipart\n"}) == []


def test_every_module_has_a_layer() -> None:
    assert sorted(set(MODULES) - set(RANK)) == [], "give these modules a place in roll.LAYERS"
    assert sorted(set(RANK) - set(MODULES)) == [], "roll.LAYERS names modules that do not exist"


def test_no_module_imports_its_layer_or_above() -> None:
    assert upward({module: path.read_text() for module, path in MODULES.items()}) == []


# The typed layer's three parts: plan data, its analysis, the per-request run time.
TYPED_DATA = "roll.typed.plan"
TYPED_ANALYSIS = ("roll.typed.analysis", "roll.typed.sources", "roll.typed.models")
TYPED_RUN_TIME = (
    "roll.typed.extractors",
    "roll.typed.dependencies",
    "roll.typed.endpoint",
    "roll.typed.guards",
)


def reached(module: str) -> set[str]:
    """Every module of roll that importing `module` imports, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for target in imported(current, MODULES[current].read_text()) - seen:
            if target in MODULES:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_run_time_never_imports_the_analysis() -> None:
    for module in TYPED_RUN_TIME:
        assert reached(module) & set(TYPED_ANALYSIS) == set(), module


def test_the_plan_data_imports_no_run_time_nor_analysis() -> None:
    assert reached(TYPED_DATA) & {*TYPED_RUN_TIME, *TYPED_ANALYSIS} == set()
