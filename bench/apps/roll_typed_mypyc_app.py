"""The typed bench app on the compiled build (`make test-mypyc` makes build/mypyc)."""

from __future__ import annotations

from common import serve_roll, use_compiled_roll

use_compiled_roll()  # before roll_typed_app imports roll

from roll_typed_app import app  # noqa: E402

if __name__ == "__main__":
    serve_roll(app)
