"""Optional compiled build: `ROLL_MYPYC=1` compiles the hot core modules with mypyc.

Everything else is in pyproject.toml; without ROLL_MYPYC this file adds
nothing, and `pip install .` / `pip install -e .` stay pure Python.

mypyc compiles from the types, so the build needs mypy and roll's
dependencies installed (`pip install -e '.[dev]'`), then, without pip's
isolated build environment, which would have neither:

    ROLL_MYPYC=1 pip install --no-build-isolation --no-deps .

`make test` builds them in place in a copy of the tree (build/mypyc) and
runs the core tests there (Makefile, `test-mypyc`). Why these modules and
what they give: docs/performance.md, "mypyc".
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import setup

# The hot path, in the order of the gain. roll/request.py is left out: mypyc
# does not compile its async generators (`__aiter__`).
COMPILED = (
    "roll/wire.py",
    "roll/sending.py",
    "roll/reading.py",
    "roll/protocol.py",
    "roll/app.py",
    "roll/response.py",
)


def extensions() -> list[Any]:
    if os.environ.get("ROLL_MYPYC") != "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        raise SystemExit(
            "ROLL_MYPYC=1 needs mypy and roll's dependencies installed first, and "
            "`pip install --no-build-isolation` (see setup.py)"
        ) from None
    # mypy.ini: strict, the stubs of stubs/ and the pydantic plugin, as `make mypy`.
    # One shared library, inside the package: roll/core__mypyc.*.so.
    return mypycify(["--config-file", "mypy.ini", *COMPILED], opt_level="3", group_name="roll.core")


if __name__ == "__main__":
    setup(ext_modules=extensions())
