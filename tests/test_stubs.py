"""Our stubs must describe the real API of the dependencies they type."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_stubs_match_runtime() -> None:
    packages = sorted(path.name for path in (ROOT / "stubs").iterdir() if path.is_dir())
    assert packages, "no stubs found"
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--ignore-missing-stub", *packages],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(ROOT / "stubs")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
