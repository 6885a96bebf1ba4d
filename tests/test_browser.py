"""What a browser (headless Chromium) makes of our CORS headers and static 404s."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from browser import browser_dom

from roll import Request, Response, Roll, extensions
from roll.testing import LiveClient

PAGE = """<!doctype html><body>pending<script>
fetch("%s/items", {method: "PUT", credentials: "include", headers: {"X-Token": "t"}})
  .then(response => response.text())
  .then(text => { document.body.textContent = "ok:" + text; })
  .catch(error => { document.body.textContent = "blocked"; });
</script></body>"""


async def chromium(url: str, profile: Path) -> str:
    """The DOM of `url` once its scripts ran (and their fetches came back)."""
    dom, _ = await browser_dom(url, profile, budget=5000)
    return dom


@pytest.fixture
async def api() -> AsyncIterator[LiveClient]:
    """The cross-origin API: another port, so another origin."""
    app = Roll()

    @app.route("/items", methods=["GET", "PUT"])
    async def items(request: Request, response: Response) -> None:
        response.body = "items"

    live = LiveClient(app)
    await live.start()
    yield live
    await live.stop()


@pytest.fixture
def app() -> Roll:
    return Roll()


def serve_page(app: Roll, api: LiveClient) -> None:
    @app.route("/")
    async def page(request: Request, response: Response) -> None:
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        response.body = PAGE % api.url


@pytest.mark.parametrize(
    ("options", "result"),
    [
        ({"credentials": True, "methods": ["PUT"], "headers": ["X-Token"]}, "ok:items"),  # * echoed
        ({"origin": "PAGE", "credentials": True, "methods": ["PUT"], "headers": ["X-Token"]}, "ok:items"),
        ({"origin": ["PAGE"], "credentials": True, "methods": ["PUT"], "headers": "*"}, "ok:items"),
        ({"origin": ["http://elsewhere.example"], "credentials": True, "methods": ["PUT"],
          "headers": ["X-Token"]}, "blocked"),
        ({"origin": ["PAGE"], "credentials": True, "methods": ["GET"], "headers": ["X-Token"]}, "blocked"),
        ({"origin": ["PAGE"], "credentials": True, "methods": ["PUT"]}, "blocked"),  # X-Token not allowed
    ],
)
async def test_credentialed_preflighted_fetch(
    app: Roll, liveclient: LiveClient, api: LiveClient, tmp_path: Path, options: dict[str, Any], result: str
) -> None:
    serve_page(app, api)
    origin = options.get("origin")
    if origin == "PAGE":
        options["origin"] = liveclient.url
    elif isinstance(origin, list):
        options["origin"] = [liveclient.url if item == "PAGE" else item for item in origin]
    extensions.cors(api.app, **options)
    dom = await chromium(liveclient.url + "/", tmp_path / "profile")
    assert f"<body>{result}</body>" in dom


async def test_static_404_is_not_run_as_html(
    app: Roll, liveclient: LiveClient, tmp_path: Path
) -> None:
    extensions.static(app, root=tmp_path)
    await app.startup()
    payload = "%3Cscript%3Edocument.write('PWNED')%3C/script%3E"
    dom = await chromium(f"{liveclient.url}/static/{payload}", tmp_path / "profile")
    assert "PWNED" not in dom
    assert "Not Found" in dom
