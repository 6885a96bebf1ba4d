"""`extensions.cors`: lists and callables of origins, credentials, preflights; over a real socket."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest

from roll import Request, Response, Roll, extensions
from roll.testing import LiveClient

PREFLIGHT = {"Access-Control-Request-Method": "PUT"}


@pytest.fixture
def app() -> Roll:
    app = Roll()

    @app.route("/items", methods=["GET", "PUT"])
    async def items(request: Request, response: Response) -> None:
        response.body = "items"

    return app


@pytest.fixture
async def http(liveclient: LiveClient) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=liveclient.url) as client:
        yield client


async def test_list_of_origins_echoes_the_matching_one(app: Roll, http: httpx.AsyncClient) -> None:
    extensions.cors(app, origin=["https://a.example", "https://b.example"])
    response = await http.get("/items", headers={"Origin": "https://b.example"})
    assert response.text == "items"
    assert response.headers["access-control-allow-origin"] == "https://b.example"
    assert response.headers["vary"] == "Origin"

    other = await http.get("/items", headers={"Origin": "https://evil.example"})
    assert other.text == "items"
    assert not [name for name in other.headers if name.startswith("access-control-")]
    assert other.headers["vary"] == "Origin"  # a cache must not serve b's answer to evil

    without = await http.get("/items")
    assert "access-control-allow-origin" not in without.headers


async def test_callable_origin(app: Roll, http: httpx.AsyncClient) -> None:
    extensions.cors(app, origin=lambda origin: origin.endswith(".example.org"), methods=["PUT"])
    response = await http.get("/items", headers={"Origin": "https://app.example.org"})
    assert response.headers["access-control-allow-origin"] == "https://app.example.org"
    assert response.headers["access-control-allow-methods"] == "PUT"
    response = await http.get("/items", headers={"Origin": "https://example.com"})
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers


async def test_credentials_never_with_star(app: Roll, http: httpx.AsyncClient) -> None:
    extensions.cors(app, credentials=True)
    response = await http.get("/items", headers={"Origin": "https://a.example"})
    assert response.headers["access-control-allow-origin"] == "https://a.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"
    response = await http.get("/items")  # not a cross-origin request: no origin to allow
    assert "access-control-allow-origin" not in response.headers


async def test_star_without_credentials_is_unchanged(app: Roll, http: httpx.AsyncClient) -> None:
    extensions.cors(app)
    response = await http.get("/items", headers={"Origin": "https://a.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers


async def test_vary_is_added_to_an_existing_one(app: Roll, http: httpx.AsyncClient) -> None:
    @app.route("/varied")
    async def varied(request: Request, response: Response) -> None:
        response.headers["Vary"] = "Cookie"

    extensions.cors(app, origin=["https://a.example"])
    response = await http.get("/varied", headers={"Origin": "https://a.example"})
    assert response.headers["vary"] == "Cookie, Origin"


async def test_preflight_answers_the_method_and_headers_asked(
    app: Roll, http: httpx.AsyncClient
) -> None:
    extensions.cors(
        app, origin=["https://a.example"], methods=["GET", "PUT"],
        headers=["Content-Type", "X-Token"], max_age=600,
    )
    response = await http.options(
        "/items",
        headers={"Origin": "https://a.example", **PREFLIGHT,
                 "Access-Control-Request-Headers": "x-token, content-type"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://a.example"
    assert response.headers["access-control-allow-methods"] == "PUT"
    assert response.headers["access-control-allow-headers"] == "x-token,content-type"
    assert response.headers["access-control-max-age"] == "600"
    assert "Origin" in response.headers["vary"]

    refused = await http.options(
        "/items",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE",
                 "Access-Control-Request-Headers": "x-other"},
    )
    assert refused.status_code == 204
    assert "access-control-allow-methods" not in refused.headers
    assert "access-control-allow-headers" not in refused.headers

    stranger = await http.options("/items", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert not [name for name in stranger.headers if name.startswith("access-control-")]


async def test_preflight_with_any_header(app: Roll, http: httpx.AsyncClient) -> None:
    extensions.cors(app, methods="*", headers="*", credentials=True)
    response = await http.options(
        "/items",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "PATCH",
                 "Access-Control-Request-Headers": "X-Anything"},
    )
    assert response.headers["access-control-allow-origin"] == "https://a.example"
    assert response.headers["access-control-allow-methods"] == "PATCH"
    # With credentials, a browser takes "*" literally: the headers asked are echoed.
    assert response.headers["access-control-allow-headers"] == "X-Anything"
    assert "access-control-max-age" not in response.headers


async def test_route_with_its_own_options_handler_answers_it(
    app: Roll, http: httpx.AsyncClient
) -> None:
    @app.route("/own", methods=["OPTIONS"])
    async def own(request: Request, response: Response) -> None:
        response.body = "mine"

    extensions.cors(app, methods=["PUT"])
    response = await http.options("/own", headers={"Origin": "https://a.example", **PREFLIGHT})
    assert response.status_code == 200 and response.text == "mine"
    assert response.headers["access-control-allow-methods"] == "PUT"


async def test_plain_options_is_not_a_preflight(app: Roll, http: httpx.AsyncClient) -> None:
    extensions.cors(app, methods=["PUT"])
    response = await http.options("/items")  # no Origin nor Access-Control-Request-Method
    assert response.status_code == 405
    assert response.headers["access-control-allow-methods"] == "PUT"
