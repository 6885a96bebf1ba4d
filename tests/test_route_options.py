"""Route options are declared once, in `roll.http.RouteOptions`: every key read is there."""

from __future__ import annotations

import ast
from pathlib import Path

import roll
from roll.http import HTTP_METHODS, RouteOptions

ROLL = Path(roll.__file__).resolve().parent
# The names under which the modules hold a route's options.
HOLDERS = {"payload", "extras"}


def holder(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in HOLDERS


def keys_read(source: str) -> set[str]:
    """String keys read from a payload: `p["k"]`, `p.get("k")`, `"k" in p`."""
    keys = set()
    for node in ast.walk(ast.parse(source)):
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and holder(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if isinstance(target, ast.Call) and target.args:  # cast(RouteOptions, p).get(...)
                target = target.args[-1]
            if node.func.attr == "get" and holder(target) and node.args:
                key = node.args[0]
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In):
            if holder(node.comparators[0]):
                key = node.left
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys.add(key.value)
    return keys


def test_keys_are_found() -> None:
    source = (
        'payload["protocol"]\nrequest.route.payload.get("timeout", 1)\n'
        '"max_body_size" in payload\ncast(RouteOptions, extras).get("name")\n'
        'payload.get(method)\nother["x"]\n'
    )
    assert keys_read(source) == {"protocol", "timeout", "max_body_size", "name"}


def test_every_option_read_is_declared() -> None:
    declared = RouteOptions.__optional_keys__ | RouteOptions.__required_keys__
    read = {
        f"{path.relative_to(ROLL.parent)}: {key}"
        for path in sorted(ROLL.rglob("*.py"))
        for key in keys_read(path.read_text())
        if key not in declared and key not in HTTP_METHODS  # a method's handler
    }
    assert read == set(), "declare these in roll.http.RouteOptions"
    everything = set().union(*(keys_read(path.read_text()) for path in ROLL.rglob("*.py")))
    assert declared <= everything, "declared options that nothing reads"
