"""The docs page: Swagger UI, every asset served by the app itself.

The assets come from the `swagger-ui-bundle-v2` package (the `openapi`
extra: `pip install 'roll-typed[openapi]'`), read from disk once, at first
request. The page loads nothing from another host: its scripts and styles
are under the docs path, the document is the app's, and Swagger UI's
online validator badge is off.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from roll import HttpError

INSTALL = "pip install 'roll-typed[openapi]'"
MIN_MAJOR = 5  # Swagger UI renders OpenAPI 3.1 from version 5 on

# Served asset -> Content-Type (what the page and Swagger UI's OAuth2 redirect load).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
    "oauth2-redirect.html": "text/html; charset=utf-8",
    "oauth2-redirect.js": "text/javascript; charset=utf-8",
}
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
JS_CONTENT_TYPE = "text/javascript; charset=utf-8"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({{
  url: {document},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  oauth2RedirectUrl: window.location.origin + {redirect}
}});
"""


def swagger_ui_dir() -> Path:
    """The directory of Swagger UI's files; ImportError (with the install
    command) when the package is missing or too old for OpenAPI 3.1."""
    try:
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]
    except ImportError:
        raise ImportError(
            f"The OpenAPI docs page serves Swagger UI from the swagger-ui-bundle-v2 package: "
            f"{INSTALL} (or pass docs=None)"
        ) from None
    directory = Path(str(swagger_ui_path))
    version = directory.name.removeprefix("swagger-ui-")
    major = version.split(".")[0]
    if not major.isdigit() or int(major) < MIN_MAJOR:
        raise ImportError(
            f"Swagger UI {version} cannot render OpenAPI 3.1 (version {MIN_MAJOR} or later"
            f" needed): pip uninstall swagger-ui-bundle; {INSTALL}"
        )
    missing = [name for name in ASSETS if not (directory / name).is_file()]
    if missing:
        raise ImportError(f"Swagger UI files missing in {directory}: {', '.join(missing)}")
    return directory


@dataclass
class DocsPage:
    """The page at `base`, its `init.js` and Swagger UI's assets under `base/`."""

    base: str
    document_url: str
    title: str
    directory: Path = field(default_factory=swagger_ui_dir)  # fails at once if missing
    cache: dict[str, bytes] = field(default_factory=dict)

    def register(self, app: Any) -> None:
        app.add_route(self.base, {"GET": self.page}, include_in_schema=False)
        app.add_route(f"{self.base}/{{asset}}", {"GET": self.asset}, include_in_schema=False)

    async def page(self, request: Any, response: Any) -> None:
        response.headers["Content-Type"] = HTML_CONTENT_TYPE
        response.body = PAGE.format(title=html.escape(self.title), base=html.escape(self.base))

    async def asset(self, request: Any, response: Any, asset: str) -> None:
        if asset == "init.js":
            redirect = f"{self.base}/oauth2-redirect.html"
            response.headers["Content-Type"] = JS_CONTENT_TYPE
            response.body = INIT.format(document=script(self.document_url), redirect=script(redirect))
            return
        content_type = ASSETS.get(asset)
        if content_type is None:
            raise HttpError(HTTPStatus.NOT_FOUND, request.path)
        body = self.cache.get(asset)
        if body is None:
            body = self.cache[asset] = (self.directory / asset).read_bytes()
        response.headers["Content-Type"] = content_type
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.body = body


def script(value: str) -> str:
    """A JavaScript string literal."""
    return json.dumps(value).replace("</", "<\\/")
