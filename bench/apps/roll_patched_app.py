"""The plain-core app with some of bench.micro's patches applied (BENCH_PATCHES=json,eager).

Used by `python -m bench.whatif` to price a proposed core change on a real
server before anyone writes it. Never part of the comparison tables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for bench.micro

from bench.micro import PATCHES  # noqa: E402

for name in filter(None, os.environ.get("BENCH_PATCHES", "").split(",")):
    PATCHES[name]()

from common import serve_roll  # noqa: E402
from roll_core_app import app  # noqa: E402

if __name__ == "__main__":
    serve_roll(app)
