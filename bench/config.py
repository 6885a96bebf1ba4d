"""What is benchmarked: frameworks (with pinned versions) and endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
APPS_DIR = BENCH_DIR / "apps"
VENVS_DIR = BENCH_DIR / ".venvs"
RESULTS_DIR = BENCH_DIR / "results"
DOCS_PAGE = REPO_ROOT / "docs" / "performance.md"

HOST = "127.0.0.1"  # loopback only, never anything else
BASE_PORT = 18_100

# Pins shared by every environment that uses them, so that the comparison is
# fair: same event loop, same HTTP parser, same validation library.
UVLOOP = "uvloop==0.23.0"
HTTPTOOLS = "httptools==0.9.0"
UVICORN = "uvicorn==0.54.0"
PYDANTIC = "pydantic==2.14.3"
UVICORN_STACK = (UVICORN, HTTPTOOLS, UVLOOP, PYDANTIC)


@dataclass(frozen=True)
class Framework:
    """A server under test, in its own virtualenv."""

    name: str  # short identifier; the app is bench/apps/<name>_app.py
    label: str  # shown in tables and charts
    requirements: tuple[str, ...]
    editable_repo: bool = False  # `pip install -e <repo root>` first
    endpoints: tuple[str, ...] | None = None  # None: every endpoint
    ours: bool = False
    venv_name: str | None = None  # share another framework's venv
    # Not in the default run: asked for by name (the compiled build needs `make test-mypyc`).
    optional: bool = False

    @property
    def venv(self) -> Path:
        return VENVS_DIR / (self.venv_name or self.name)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def script(self) -> Path:
        return APPS_DIR / f"{self.name}_app.py"

    def serves(self, endpoint: str) -> bool:
        return self.endpoints is None or endpoint in self.endpoints


REFERENCE = "roll_core"  # every figure is a ratio to this one

FRAMEWORKS: tuple[Framework, ...] = (
    Framework("roll_core", "roll (core)", (UVLOOP, PYDANTIC), editable_repo=True, ours=True),
    Framework("roll_typed", "roll (typed)", (UVLOOP, PYDANTIC), editable_repo=True, ours=True),
    # Ours again, on the optional mypyc build of `make test-mypyc` (build/mypyc).
    Framework("roll_core_mypyc", "roll (core, mypyc)", (UVLOOP, PYDANTIC), ours=True,
              venv_name="roll_core", optional=True),  # fmt: skip
    Framework("roll_typed_mypyc", "roll (typed, mypyc)", (UVLOOP, PYDANTIC), ours=True,
              venv_name="roll_typed", optional=True),  # fmt: skip
    Framework("raw", "raw asyncio.Protocol", (UVLOOP,), endpoints=("minimal",)),
    Framework("blacksheep", "BlackSheep", ("blacksheep==2.6.4", *UVICORN_STACK)),
    Framework("starlette", "Starlette", ("starlette==1.10.0", *UVICORN_STACK)),
    Framework("litestar", "Litestar", ("litestar==2.25.0", *UVICORN_STACK)),
    Framework("fastapi", "FastAPI", ("fastapi==0.165.0", *UVICORN_STACK)),
    Framework("sanic", "Sanic", ("sanic==25.12.1", UVLOOP, PYDANTIC)),
)

TOOLS = Framework("tools", "tools", ("matplotlib==3.11.2", "py-spy==0.4.3"))


def framework(name: str) -> Framework:
    for fw in FRAMEWORKS:
        if fw.name == name:
            return fw
    raise KeyError(f"unknown framework {name!r}; known: {', '.join(f.name for f in FRAMEWORKS)}")


# ---------------------------------------------------------------- endpoints

JSON_BODY: dict[str, object] = {
    "name": "Ergonomic mechanical keyboard",
    "description": "A split keyboard with tactile switches, hot-swappable sockets and a wrist rest.",
    "price": 149.5,
    "quantity": 3,
    "tags": ["keyboard", "ergonomic", "mechanical", "split"],
    "in_stock": True,
    "dimensions": {"width": 36.5, "depth": 14.2, "height": 3.1},
}
JSON_BODY_BYTES = json.dumps(JSON_BODY, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Check:
    """A request that must get a 4xx answer (the endpoint validates)."""

    path: str
    method: str = "GET"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # request target sent by wrk and by the checks
    expected: object  # the JSON the body must decode to
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    set_cookie: str | None = None  # a Set-Cookie header must start with this
    invalid: tuple[Check, ...] = ()


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("minimal", "GET", "/minimal", {"message": "Hello, World!"}),
    Endpoint("parameter", "GET", "/parameter/roll", {"parameter": "roll"}),
    Endpoint("query", "GET", "/query?q=roll", {"query": "roll"}),
    Endpoint(
        "full",
        "GET",
        "/full/books/123?sort=asc",
        {"category": "books", "item": "123", "sort": "asc", "session": "abc123"},
        headers={"Cookie": "session=abc123"},
        set_cookie="seen=1",
    ),
    Endpoint(
        "typed",
        "GET",
        "/typed/42?page=3&flag=true",
        {"shop_id": 42, "page": 3, "flag": True},
        invalid=(Check("/typed/42?page=three&flag=true"), Check("/typed/42?flag=true")),
    ),
    Endpoint(
        "json",
        "POST",
        "/json",
        {
            "name": "Ergonomic mechanical keyboard",
            "total": 448.5,
            "tags": 4,
            "volume": 1606.73,
        },
        body=JSON_BODY_BYTES,
        headers={"Content-Type": "application/json"},
        invalid=(
            Check(
                "/json",
                "POST",
                json.dumps({**JSON_BODY, "price": "cheap"}).encode(),
                {"Content-Type": "application/json"},
            ),
        ),
    ),
)


def endpoint(name: str) -> Endpoint:
    for ep in ENDPOINTS:
        if ep.name == name:
            return ep
    raise KeyError(f"unknown endpoint {name!r}; known: {', '.join(e.name for e in ENDPOINTS)}")
