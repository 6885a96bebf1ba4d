"""Pure HTTP/1.1 byte work for the protocol: which bytes, never when.

No I/O and no state, as h11's readers and writers: each function takes what
the parser gave (or what the app answered) and returns bytes, a value, or the
`HttpError` it deserves. `HTTPProtocol` decides when to call them and where
the bytes go. Tested bytes in, bytes out in tests/test_wire.py.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Iterable, Mapping
from urllib.parse import unquote_to_bytes

from .http import HttpError

if TYPE_CHECKING:
    from .request import Request

# Writing.

STATUS_LINES: dict[int, bytes] = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
    for status in HTTPStatus
}
# Statuses whose response never has a body (RFC 9110 §6.4.1), besides 1xx.
BODYLESS_STATUSES = frozenset((204, 304))
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# What a response whose head cannot be written (a line break in a header) becomes.
INVALID_HEAD = STATUS_LINES[500] + b"Content-Length: 21\r\n\r\nInternal Server Error"
LAST_CHUNK = b"0\r\n\r\n"


def serialize_head(status_line: bytes, headers: Mapping[str, object], cookies: Iterable[Any] = ()) -> bytes:
    """Status line, headers and `Set-Cookie` lines, then the blank line.

    ValueError on a line break in any of them: it would split the response.
    A value may be other than a str (Roll apps set ints): it is formatted.
    (Hence `object`: code compiled by mypyc checks a `str` at run time.)
    """
    # A loop, not a list comprehension: on 3.11 that is one more function call.
    lines = []
    for name, value in headers.items():
        lines.append(f"{name}: {value}\r\n")
    if cookies:  # (most responses have none)
        for cookie in cookies:
            lines.append(f"Set-Cookie: {cookie}\r\n")
    text = "".join(lines)
    # Each line ends with one CRLF: any other CR or LF would split the response.
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        raise ValueError("Line break in a response header")
    return status_line + text.encode() + b"\r\n"


def body_bytes(body: Any) -> bytes | None:
    """A response body as the bytes to send; None for a stream (it has `__aiter__`).

    `str` is UTF-8, anything else that is not bytes is `str(body)`, as Roll does.
    """
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "__aiter__"):
        return None
    return str(body).encode()


def item_bytes(item: Any) -> bytes:
    """One item a streamed body yields, as bytes (`str(item)` for what is not bytes)."""
    return item if isinstance(item, bytes) else str(item).encode()


def frame_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1); never call it with b"" (the end)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def body_length(body: Any) -> int | None:
    """The Content-Length a GET would send for `body`; None for a streamed body."""
    data = body_bytes(body)
    return None if data is None else len(data)


def head_answered_by_get(request: Request) -> bool:
    """A HEAD request that the route's GET handler answered (no HEAD handler of its own)."""
    payload = request.route.payload
    return bool(payload) and "HEAD" not in payload  # type: ignore[operator]


# Reading.


# Common request header names as clients spell them, with the upper-case key
# `request.headers` uses: a lookup instead of a decode and an upper() per
# header (browsers send a dozen). Fixed: what clients send never adds to it.
_COMMON_HEADERS = (
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection",
    "Content-Length", "Content-Type", "Cookie", "Referer", "Origin", "Authorization",
    "Cache-Control", "Pragma", "Upgrade-Insecure-Requests", "If-None-Match",
    "If-Modified-Since", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP", "X-Request-ID",
    "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User", "Sec-CH-UA",
    "Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "DNT", "Priority", "Expect", "Range",
    "Transfer-Encoding", "Upgrade", "Forwarded", "TE",
)
HEADER_KEYS: dict[bytes, str] = {
    spelling.encode(): name.upper()
    for name in _COMMON_HEADERS
    for spelling in (name, name.lower(), name.upper())
}


def split_target(target: bytes) -> tuple[str, str]:
    """The path (percent-decoded) and the query string of a request target.

    An absolute-form target (`http://host/path?q`) loses its scheme and host;
    a fragment, which a client should not send, is dropped. UnicodeDecodeError
    when either is not UTF-8.
    """
    text = target.decode()
    # (On `str`: on CPython 3.11, `b"%" in data` first tries the needle as an
    # int and raises, then drops, a TypeError: ~1,800 instructions each.)
    if text[:1] == "/" and "%" not in text and "#" not in text:  # most requests
        path, _, query = text.partition("?")
        return path, query
    if text[:1] != "/" and "://" in text:  # absolute-form: drop scheme and host
        target = b"/" + target.split(b"://", 1)[1].partition(b"/")[2]
    raw_path, _, raw_query = target.partition(b"?")
    raw_path = raw_path.partition(b"#")[0]
    return unquote_to_bytes(raw_path).decode(), raw_query.partition(b"#")[0].decode()


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
    if not separator or scheme.find(b"/") >= 0:
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
