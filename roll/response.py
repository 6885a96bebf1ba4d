"""The outgoing response: status, headers, cookies and a body the protocol writes."""

from __future__ import annotations

from json import JSONEncoder
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from http import HTTPStatus
from typing import Any, Protocol

from .compiled import mypyc_attr
from .cookies import Cookies
from .http import STATUSES, to_status

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# A module name for it: `HTTPStatus.OK` goes through the enum's class
# attribute lookup, slow on Python 3.11, and every response starts with it.
OK = HTTPStatus.OK


# `json.dumps` with its defaults, minus the encoder it builds on every call
# (CPython always has the C one): `response.json` gives its bytes exactly
# (Roll apps may compare them).
_encode_chunks = c_make_encoder(
    {}, JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True
)


class ResponseApp(Protocol):
    """What a response needs of the app (`roll.Roll` is one): the class it builds."""

    @property
    def Cookies(self) -> type[Cookies]: ...


# Apps subclass it (`Roll.Response = MyResponse`): allowed when compiled.
@mypyc_attr(allow_interpreted_subclasses=True)
class Response:
    """Fill it in a handler; the protocol serialises it."""

    __slots__ = ("app", "protocol", "_status", "headers", "body", "_cookies")

    def __init__(self, app: ResponseApp | None, protocol: object | None = None) -> None:
        self.app = app
        self.protocol = protocol
        self._status = OK
        self.headers: dict[str, str] = {}
        self.body: Any = b""
        self._cookies: Cookies | None = None

    def __repr__(self) -> str:
        return f"<Response {self._status.value}>"

    @property
    def status(self) -> HTTPStatus:
        return self._status

    @status.setter
    def status(self, code: int | HTTPStatus) -> None:
        try:
            self._status = STATUSES[code]
        except (KeyError, TypeError):
            self._status = to_status(code)  # raises ValueError with a message

    @property
    def cookies(self) -> Cookies:
        if self._cookies is None:
            self._cookies = self.app.Cookies() if self.app is not None else Cookies()
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Cookies) -> None:
        self._cookies = cookies

    @property
    def has_cookies(self) -> bool:
        return bool(self._cookies)

    # (The decorators, not `json = property(get, set)`, which mypyc does not compile.)
    @property
    def json(self) -> Any:
        raise AttributeError("response.json is write-only")

    @json.setter
    def json(self, value: Any) -> None:
        self.headers["Content-Type"] = JSON_CONTENT_TYPE
        if isinstance(value, str):  # the C encoder only takes containers and scalars
            self.body = encode_basestring_ascii(value)
        else:
            self.body = "".join(_encode_chunks(value, 0))

    @property
    def redirect(self) -> tuple[str, HTTPStatus] | None:
        location = self.headers.get("Location")
        return (location, self._status) if location is not None else None

    @redirect.setter
    def redirect(self, to: tuple[str, int | HTTPStatus]) -> None:
        location, status = to
        self.headers["Location"] = location
        self.status = status


def add_vary(headers: dict[str, str], field: str) -> None:
    """Add `field` to the response's Vary header (caches key the response on it)."""
    current = headers.get("Vary")
    if not current:
        headers["Vary"] = field
    elif field.lower() not in {name.strip().lower() for name in current.split(",")}:
        headers["Vary"] = f"{current}, {field}"
