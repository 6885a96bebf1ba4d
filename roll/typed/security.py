"""Security schemes: providers for `Depends(...)` that read a credential.

    bearer = HTTPBearer()

    @app.route("/me")
    async def me(token: Annotated[str, Depends(bearer)]) -> User: ...

Each scheme reads its credential from the request (a header, the query
string or a cookie); a missing or malformed one is a 401 with the scheme's
`WWW-Authenticate` challenge (or None, with `auto_error=False`). The OpenAPI
document lists every scheme a route uses, directly or through its
dependencies, in `components/securitySchemes` and the operation's `security`.
Checking the credential (is this token valid?) is the application's job: a
provider depending on the scheme.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from roll import HttpError, Request


NOT_AUTHENTICATED = "Not authenticated"


class SecurityScheme:
    """Base class: a credential reader, documented as an OpenAPI security scheme.

    `scheme_name` is its name in `components/securitySchemes` (by default the
    class name); `challenge` the `WWW-Authenticate` value of its 401.
    """

    challenge: str = ""
    # What the scheme gives a parameter (`HTTPBasic`: `HTTPBasicCredentials`).
    credential: Any = str

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.scheme_name = scheme_name or type(self).__name__
        self.description = description
        self.auto_error = auto_error
        # Declared for the registration check (provides.returned): with
        # `auto_error`, None is never given, though `__call__` says `| None`.
        self.value_type: Any = self.credential if auto_error else self.credential | None

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI Security Scheme Object."""
        raise NotImplementedError

    def document(self) -> dict[str, Any]:
        scheme = self.openapi()
        if self.description:
            scheme["description"] = self.description
        return scheme

    def unauthorized(self, message: str = NOT_AUTHENTICATED) -> HttpError:
        return HttpError(
            HTTPStatus.UNAUTHORIZED, message, headers={"WWW-Authenticate": self.challenge}
        )

    def missing(self) -> None:
        """A missing credential: a 401, or None without `auto_error`."""
        if self.auto_error:
            raise self.unauthorized()

    def invalid(self) -> None:
        """A malformed credential: a 401, or None without `auto_error`."""
        if self.auto_error:
            raise self.unauthorized("Invalid authentication credentials")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.scheme_name!r}>"


def authorization(request: Request, scheme: str) -> str | None:
    """The credentials of an `Authorization: <scheme> <credentials>` header;
    None if there is no such header; "" if it is of another scheme or empty."""
    header = request.headers.get("AUTHORIZATION")
    if header is None:
        return None
    given, _, credentials = header.strip().partition(" ")
    if given.lower() != scheme.lower():
        return ""
    return credentials.strip()


class HTTPBearer(SecurityScheme):
    """`Authorization: Bearer <token>`: gives the token (a str)."""

    challenge = "Bearer"

    def __init__(
        self,
        *,
        bearer_format: str | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(scheme_name=scheme_name, description=description, auto_error=auto_error)
        self.bearer_format = bearer_format

    def openapi(self) -> dict[str, Any]:
        scheme = {"type": "http", "scheme": "bearer"}
        if self.bearer_format:
            scheme["bearerFormat"] = self.bearer_format
        return scheme

    def __call__(self, request: Request) -> str | None:
        token = authorization(request, "Bearer")
        if token is None:
            self.missing()
            return None
        if not token:
            self.invalid()
            return None
        return token


class OAuth2PasswordBearer(HTTPBearer):
    """A bearer token obtained from `token_url` with the OAuth2 password flow
    (the docs page's "Authorize" button posts the username and password there)."""

    def __init__(
        self,
        token_url: str,
        *,
        scopes: dict[str, str] | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(scheme_name=scheme_name, description=description, auto_error=auto_error)
        self.token_url = token_url
        self.scopes = dict(scopes or {})

    def openapi(self) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "flows": {"password": {"tokenUrl": self.token_url, "scopes": dict(self.scopes)}},
        }


@dataclass(frozen=True)
class HTTPBasicCredentials:
    username: str
    password: str


class HTTPBasic(SecurityScheme):
    """`Authorization: Basic <base64 of username:password>`: gives
    `HTTPBasicCredentials`."""

    credential = HTTPBasicCredentials

    def __init__(
        self,
        *,
        realm: str = "api",
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(scheme_name=scheme_name, description=description, auto_error=auto_error)
        self.realm = realm
        escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
        self.challenge = f'Basic realm="{escaped}", charset="UTF-8"'

    def openapi(self) -> dict[str, Any]:
        return {"type": "http", "scheme": "basic"}

    def __call__(self, request: Request) -> HTTPBasicCredentials | None:
        encoded = authorization(request, "Basic")
        if encoded is None:
            self.missing()
            return None
        try:
            decoded = b64decode(encoded, validate=True).decode()
        except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            decoded = ""
        username, colon, password = decoded.partition(":")
        if not colon:
            self.invalid()
            return None
        return HTTPBasicCredentials(username, password)


class APIKey(SecurityScheme):
    """An API key read from `location` ("header", "query" or "cookie") by `name`."""

    location = ""

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(scheme_name=scheme_name, description=description, auto_error=auto_error)
        self.name = name
        # There is no registered scheme for API keys: a 401 must still carry a challenge.
        self.challenge = f'APIKey in="{self.location}", name="{name}"'

    def openapi(self) -> dict[str, Any]:
        return {"type": "apiKey", "in": self.location, "name": self.name}

    def read(self, request: Request) -> str | None:
        raise NotImplementedError

    def __call__(self, request: Request) -> str | None:
        key = self.read(request)
        if not key:
            self.missing()
            return None
        return key


class APIKeyHeader(APIKey):
    location = "header"

    def read(self, request: Request) -> str | None:
        value: str | None = request.headers.get(self.name.upper())
        return value.strip() if value is not None else None


class APIKeyQuery(APIKey):
    location = "query"

    def read(self, request: Request) -> str | None:
        values = request.query.list(self.name, None)
        return values[0] if values else None


class APIKeyCookie(APIKey):
    location = "cookie"

    def read(self, request: Request) -> str | None:
        value: str | None = request.cookies.get(self.name)
        return value
