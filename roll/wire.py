"""Pure HTTP/1.1 byte work for the protocol: framing and request-target checks.

No I/O and no state: each function looks at what the parser gave and says
what it means (or which `HttpError` it deserves).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .http import HttpError

if TYPE_CHECKING:
    from .request import Request

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def head_answered_by_get(request: Request) -> bool:
    """A HEAD request that the route's GET handler answered (no HEAD handler of its own)."""
    payload = request.route.payload
    return bool(payload) and "HEAD" not in payload  # type: ignore[operator]


def body_length(body: Any) -> int | None:
    """The Content-Length a GET would send for `body`; None for a streamed body."""
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    if hasattr(body, "__aiter__"):
        return None
    return len(str(body).encode())


def check_transfer_coding(value: str, version: str) -> None:
    """Only a single final `chunked` is understood: anything else is refused, never guessed.

    RFC 9112 §6.1: a request whose last coding is not chunked, or an HTTP/1.0
    request with Transfer-Encoding at all, cannot be framed (400); a coding
    applied before chunked (`gzip, chunked`) is one we do not implement (501).
    """
    if version == "1.0":
        raise HttpError(HTTPStatus.BAD_REQUEST, "Transfer-Encoding on an HTTP/1.0 request")
    if value.lower() == "chunked":
        return
    codings = [coding.strip(" \t").lower() for coding in value.split(",")]
    if codings[-1] != "chunked" or codings.count("chunked") > 1:
        raise HttpError(HTTPStatus.BAD_REQUEST, "Invalid Transfer-Encoding")
    raise HttpError(HTTPStatus.NOT_IMPLEMENTED, "Transfer-Encoding not supported (only chunked)")


def absolute_authority(target: bytes) -> str | None:
    """The host of an absolute-form target (`http://host:port/path`), else None."""
    scheme, separator, rest = target.partition(b"://")
    if not separator or b"/" in scheme:
        return None
    end = len(rest)
    for delimiter in (b"/", b"?", b"#"):
        found = rest.find(delimiter)
        if found != -1 and found < end:
            end = found
    authority = rest[:end].rpartition(b"@")[2]  # drop a userinfo
    if not authority:
        raise HttpError(HTTPStatus.BAD_REQUEST, "Absolute URL without a host")
    return authority.decode("latin-1")


def ignores_upgrade(request: Request) -> bool:
    """An `Upgrade` to answer as a plain request (h2c from `curl --http2`, say).

    Not on a websocket route, not a websocket upgrade, and no body: llhttp
    stops parsing after the head of an upgrade request, so a body would be
    left unframed. Those are refused (501) instead.
    """
    payload = request.route.payload
    if payload and payload["protocol"] == "websocket":
        return False
    headers = request.headers
    if headers.get("UPGRADE", "").lower() == "websocket":
        return False  # a websocket client is told plainly (501), as Roll does
    return "TRANSFER-ENCODING" not in headers and headers.get("CONTENT-LENGTH", "0") == "0"
