"""Shared by every benchmark app: payloads, the pydantic model, CLI, runners.

Each app runs in its own virtualenv with `bench/apps` as its script directory,
so this module is imported as plain `common`. Framework imports stay inside
the functions that need them.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from pydantic import BaseModel, Field

MINIMAL: dict[str, str] = {"message": "Hello, World!"}


class Dimensions(BaseModel):
    width: float = Field(gt=0)
    depth: float = Field(gt=0)
    height: float = Field(gt=0)


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str
    price: float = Field(gt=0)
    quantity: int = Field(ge=1)
    tags: list[str]
    in_stock: bool
    dimensions: Dimensions


def summary(item: Item) -> dict[str, Any]:
    """The computed answer of the `json` endpoint."""
    dims = item.dimensions
    return {
        "name": item.name,
        "total": item.price * item.quantity,
        "tags": len(item.tags),
        "volume": round(dims.width * dims.depth * dims.height, 2),
    }


TRUE = frozenset({"1", "true", "t", "on", "yes", "y"})
FALSE = frozenset({"0", "false", "f", "off", "no", "n"})


def parse_bool(value: str) -> bool:
    """Query flag parsing for the hand-written apps (raises ValueError)."""
    lowered = value.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def address() -> tuple[str, int]:
    """`python app.py HOST PORT`."""
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} HOST PORT")
    return sys.argv[1], int(sys.argv[2])


def serve_asgi(app: Any) -> None:
    """Run an ASGI app the same way for every ASGI framework."""
    import uvicorn

    host, port = address()
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        workers=None,
    )


def use_compiled_roll() -> None:
    """Import `roll` from the compiled build of `make test-mypyc` (build/mypyc), or exit.

    Call it before anything imports roll: its tree goes first on sys.path.
    """
    from pathlib import Path

    tree = Path(__file__).resolve().parents[2] / "build" / "mypyc"
    if not (tree / "roll").is_dir():
        raise SystemExit(f"no compiled build in {tree}: run `make test-mypyc` first")
    sys.path.insert(0, str(tree))
    import roll.wire

    if not roll.wire.__file__ or not roll.wire.__file__.endswith(".so"):
        raise SystemExit(f"roll.wire is not compiled: {roll.wire.__file__}")


def serve_roll(app: Any) -> None:
    """Run a Roll app: `loop.create_server(app.factory, ...)` on uvloop."""
    import uvloop

    host, port = address()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        app.loop = loop
        await app.startup()
        factory = getattr(app, "factory", None)
        if factory is None:  # older cores: build the protocol by hand

            def factory() -> Any:
                return app.HttpProtocol(app)

        server = await loop.create_server(factory, host, port, backlog=2048)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            server.close()
            await app.shutdown()

    uvloop.run(main())
