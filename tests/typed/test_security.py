"""Security schemes: each reads its credential; missing or malformed is a 401 with a challenge."""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from roll.testing import Client, LiveClient
from roll.typed import Depends, RouteDefinitionError, TypedRoll, WebSocket
from roll.typed.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
)

bearer = HTTPBearer()
basic = HTTPBasic(realm="shop")
header_key = APIKeyHeader(name="X-API-Key")
query_key = APIKeyQuery(name="key")
cookie_key = APIKeyCookie(name="session")
oauth = OAuth2PasswordBearer(token_url="/token")
optional = HTTPBearer(auto_error=False)


def basic_header(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def credential_route(app: TypedRoll, path: str, scheme: Any) -> None:
    """`path` answers the credential that `scheme` reads."""

    @app.route(path)
    async def credential(value: Annotated[str, Depends(scheme)]) -> str:
        return value


@pytest.fixture
def app() -> TypedRoll:
    app = TypedRoll()
    credential_route(app, "/bearer", bearer)
    credential_route(app, "/header", header_key)
    credential_route(app, "/query", query_key)
    credential_route(app, "/cookie", cookie_key)
    credential_route(app, "/oauth", oauth)

    @app.route("/basic")
    async def with_basic(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> str:
        return f"{credentials.username}|{credentials.password}"

    @app.route("/optional")
    async def with_optional(token: Annotated[str | None, Depends(optional)]) -> str:
        return token or "anonymous"

    def user(token: Annotated[str, Depends(bearer)]) -> str:
        return token.upper()

    @app.route("/nested/{item_id}")
    async def nested(item_id: int, name: Annotated[str, Depends(user)]) -> str:
        return f"{name}:{item_id}"

    @app.route("/ws", protocol="websocket")
    async def feed(ws: WebSocket, token: Annotated[str, Depends(bearer)]) -> None:
        await ws.send(token)

    return app


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/bearer", {"Authorization": "Bearer abc"}, b"abc"),
        ("/bearer", {"Authorization": "bearer  abc "}, b"abc"),
        ("/basic", basic_header("ann:s3:cr3t"), b"ann|s3:cr3t"),
        ("/basic", basic_header("ann:"), b"ann|"),
        ("/header", {"X-API-Key": "k1"}, b"k1"),
        ("/query?key=k2", {}, b"k2"),
        ("/cookie", {"Cookie": "session=k3"}, b"k3"),
        ("/oauth", {"Authorization": "Bearer t"}, b"t"),
        ("/optional", {"Authorization": "Bearer t"}, b"t"),
        ("/optional", {}, b"anonymous"),
        ("/optional", {"Authorization": "Basic xyz"}, b"anonymous"),
        ("/nested/3", {"Authorization": "Bearer ann"}, b"ANN:3"),
    ],
)
async def test_credentials_are_given(
    client: Client, path: str, headers: dict[str, str], expected: bytes
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status == HTTPStatus.OK, response.body
    assert response.body == expected


@pytest.mark.parametrize(
    ("path", "headers", "challenge"),
    [
        ("/bearer", {}, "Bearer"),
        ("/bearer", {"Authorization": "Bearer "}, "Bearer"),
        ("/bearer", {"Authorization": "Basic abc"}, "Bearer"),
        ("/basic", {}, 'Basic realm="shop", charset="UTF-8"'),
        ("/basic", {"Authorization": "Basic not-base64!"}, 'Basic realm="shop", charset="UTF-8"'),
        ("/basic", basic_header("no colon"), 'Basic realm="shop", charset="UTF-8"'),
        ("/basic", {"Authorization": "Basic " + base64.b64encode(b"\xff:\xfe").decode()},
         'Basic realm="shop", charset="UTF-8"'),  # fmt: skip
        ("/header", {}, 'APIKey in="header", name="X-API-Key"'),
        ("/header", {"X-API-Key": ""}, 'APIKey in="header", name="X-API-Key"'),
        ("/query", {}, 'APIKey in="query", name="key"'),
        ("/query?key=", {}, 'APIKey in="query", name="key"'),
        ("/cookie", {"Cookie": "other=1"}, 'APIKey in="cookie", name="session"'),
        ("/oauth", {}, "Bearer"),
        ("/nested/3", {}, "Bearer"),
    ],
)
async def test_missing_or_malformed_is_a_401_with_a_challenge(
    client: Client, path: str, headers: dict[str, str], challenge: str
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == challenge


async def test_input_problems_are_still_a_400(client: Client) -> None:
    response = await client.get("/nested/x", headers={"Authorization": "Bearer ann"})
    assert response.status == HTTPStatus.BAD_REQUEST


async def test_over_a_socket(liveclient: LiveClient) -> None:
    response = await liveclient.query("GET", "/bearer")
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.body == b"Not authenticated"


async def test_websocket_refused_before_the_handshake(liveclient: LiveClient) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{liveclient.wsl}/ws"):
            pass
    assert info.value.response.status_code == HTTPStatus.UNAUTHORIZED
    assert info.value.response.headers["WWW-Authenticate"] == "Bearer"
    async with connect(f"{liveclient.wsl}/ws", additional_headers={"Authorization": "Bearer t"}) as ws:
        assert await ws.recv() == "t"


async def test_a_handler_may_raise_the_schemes_401(client: Client, app: TypedRoll) -> None:
    @app.route("/custom")
    async def custom(token: Annotated[str | None, Depends(optional)]) -> str:
        if token != "good":
            raise optional.unauthorized("Bad token")
        return token

    response = await client.get("/custom", headers={"Authorization": "Bearer bad"})
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.body == b"Bad token"


async def test_headers_of_an_error_raised_without_dependencies(
    client: Client, app: TypedRoll
) -> None:
    # A handler without dependencies runs compiled straight-line code: same headers.
    @app.route("/direct")
    async def direct(page: int = 1) -> None:
        raise bearer.unauthorized()

    response = await client.get("/direct")
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_repr_and_names() -> None:
    assert repr(bearer) == "<HTTPBearer 'HTTPBearer'>"
    assert HTTPBearer(scheme_name="jwt").scheme_name == "jwt"
    described: Any = APIKeyHeader(name="X", description="Staff keys").document()
    assert described == {"type": "apiKey", "in": "header", "name": "X", "description": "Staff keys"}


def test_a_scheme_declares_what_it_gives_to_the_registration_check() -> None:
    app = TypedRoll()
    required = APIKeyHeader(name="X-Key")
    optional = APIKeyHeader(name="X-Key", auto_error=False)

    async def needs(key: Annotated[str, Depends(required)]) -> None: ...

    async def may(key: Annotated[str | None, Depends(optional)]) -> None: ...

    app.route("/needs")(needs)
    app.route("/may")(may)

    async def wrong(key: Annotated[str, Depends(optional)]) -> None: ...

    with pytest.raises(RouteDefinitionError, match=r"returns str \| None, which is not str"):
        app.route("/wrong")(wrong)
