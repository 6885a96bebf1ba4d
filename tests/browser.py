"""Headless Chromium for the tests: what a real browser makes of a page.

Chromium comes from tools/debian-packages (`sh tools/system-deps.sh`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from servers import executable

# No background traffic of its own (updates, sync, first-run pages).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


async def browser_dom(
    url: str, profile: Path, *flags: str, budget: int = 10000, timeout: float = 90
) -> tuple[str, str]:
    """The DOM of `url` once its scripts ran (for `budget` ms of virtual
    time), and what Chromium logged."""
    process = await asyncio.create_subprocess_exec(
        executable("chromium"),
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget}",
        *flags,
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return out.decode(), err.decode(errors="replace")
