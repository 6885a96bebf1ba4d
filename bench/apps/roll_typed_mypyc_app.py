"""The typed bench app on the compiled build (`make test-mypyc` makes build/mypyc)."""

from __future__ import annotations

import sys
from pathlib import Path

COMPILED_TREE = Path(__file__).resolve().parents[2] / "build" / "mypyc"
if not (COMPILED_TREE / "roll").is_dir():
    raise SystemExit(f"no compiled build in {COMPILED_TREE}: run `make test-mypyc` first")
sys.path.insert(0, str(COMPILED_TREE))  # its `roll` first: the compiled modules

import roll.wire  # noqa: E402

if not roll.wire.__file__ or not roll.wire.__file__.endswith(".so"):
    raise SystemExit(f"roll.wire is not compiled: {roll.wire.__file__}")

from common import serve_roll  # noqa: E402
from roll_typed_app import app  # noqa: E402

if __name__ == "__main__":
    serve_roll(app)
