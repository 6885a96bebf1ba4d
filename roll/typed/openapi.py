"""OpenAPI 3.1 from the typed signatures, served by the app with a docs page.

    openapi(app, title="Shop", version="1.0")   # /openapi.json and /docs
    openapi_schema(app, title="Shop", version="1.0")  # the document, a dict
    python -m roll openapi myproject.web:app      # printed, for CI and generators

The document covers every route registered when it is built. `openapi()`
builds it at the first request for it and keeps it, rebuilding it when
routes were registered since.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


from roll.response import JSON_CONTENT_TYPE

from .openapi_docs import DocsPage
from .openapi_operations import SecuritySchemes, build_paths
from .openapi_schemas import Schemas

OPENAPI_VERSION = "3.1.0"
SETTINGS = "roll.typed.openapi"  # the key of `Settings` in the app (a dict)


@dataclass(frozen=True)
class Settings:
    title: str
    version: str
    description: str | None = None
    path: str = "/openapi.json"
    docs: str | None = "/docs"


def openapi_schema(
    app: Any, *, title: str, version: str, description: str | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `app` registered so far."""
    schemas = Schemas()
    schemes = SecuritySchemes()
    paths = build_paths(app, schemas, schemes)
    components: dict[str, Any] = {}
    definitions = schemas.resolve()
    if definitions:
        components["schemas"] = definitions
    if schemes.components:
        components["securitySchemes"] = dict(sorted(schemes.components.items()))
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info, "paths": paths}
    if components:
        document["components"] = components
    return document


class Document:
    """The served document, as JSON bytes, rebuilt only when routes were added."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.routes = -1  # len(app.registry) when it was built
        self.body = b""

    def json(self) -> bytes:
        if self.routes != len(self.app.registry):
            settings = self.settings
            document = openapi_schema(
                self.app,
                title=settings.title,
                version=settings.version,
                description=settings.description,
            )
            self.body = json.dumps(document, ensure_ascii=False).encode()
            self.routes = len(self.app.registry)
        return self.body


def openapi(
    app: Any,
    *,
    title: str,
    version: str,
    description: str | None = None,
    path: str = "/openapi.json",
    docs: str | None = "/docs",
) -> None:
    """Serve the document at `path` and the docs page at `docs` (None: no page).

    The page needs the `openapi` extra (`pip install 'roll-typed[openapi]'`):
    without it this raises ImportError at once, naming the command.
    """
    settings = Settings(title, version, description, path, docs)
    page = DocsPage(docs.rstrip("/") or "/", path, title) if docs is not None else None
    document = Document(app, settings)

    async def openapi_document(request: Any, response: Any) -> None:
        response.headers["Content-Type"] = JSON_CONTENT_TYPE
        response.body = document.json()

    app[SETTINGS] = settings
    app.add_route(path, {"GET": openapi_document}, include_in_schema=False)
    if page is not None:
        page.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m roll openapi module:app`: print the document."""
    from roll.__main__ import load_app

    parser = argparse.ArgumentParser(
        prog="python -m roll openapi", description="Print the OpenAPI document of an app."
    )
    parser.add_argument("app", help="module:attribute of the app, e.g. myproject.web:app")
    parser.add_argument("--title", help="default: the title given to openapi(), or the module")
    parser.add_argument("--version", help="default: the version given to openapi(), or 0.1.0")
    parser.add_argument("--indent", type=int, default=2)
    args = parser.parse_args(argv)
    app = load_app(args.app)
    settings = app.get(SETTINGS)
    if not isinstance(settings, Settings):
        settings = Settings(args.app.partition(":")[0], "0.1.0")
    document = openapi_schema(
        app,
        title=args.title or settings.title,
        version=args.version or settings.version,
        description=settings.description,
    )
    json.dump(document, sys.stdout, indent=args.indent or None, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
