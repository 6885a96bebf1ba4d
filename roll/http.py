"""HTTP vocabulary shared by the whole core: the error to raise and the method names."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

HTTP_METHODS = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "TRACE",
    "OPTIONS",
    "CONNECT",
    "PATCH",
]

# Looked up on every response: a dict beats calling the enum.
STATUSES: dict[int, HTTPStatus] = {status.value: status for status in HTTPStatus}


def to_status(code: int | HTTPStatus) -> HTTPStatus:
    try:
        return STATUSES[code]
    except (KeyError, TypeError):
        raise ValueError(f"{code!r} is not a valid HTTP status") from None


class HttpError(Exception):
    """Raise it to answer with `status` and `message` as the body.

    A `str` message is sent as `text/plain; charset=utf-8`, a dict or a list
    as JSON. `headers` are added to the response (`WWW-Authenticate` on a 401,
    `Retry-After` on a 503, `Allow` on a 405...).
    """

    status: HTTPStatus
    message: Any
    headers: dict[str, str] | None = None  # class default: subclasses may skip __init__

    def __init__(
        self,
        http_code: int | HTTPStatus,
        message: Any = None,
        context: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = to_status(http_code)
        self.message = message or self.status.phrase
        self.context = context
        self.headers = headers
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)


TEXT_PLAIN = "text/plain; charset=utf-8"


def render_error(response: Any, error: HttpError) -> None:
    """Set `response` (status, headers, body) from `error`.

    A dict or list message goes through `response.json`; anything else is
    the body as text, `text/plain` unless a Content-Type was set before the
    error (the typed layer sets the JSON one for its JSON text messages).
    """
    response.status = error.status
    message = error.message
    if isinstance(message, (dict, list)):
        response.json = message
    else:
        response.body = message
        response.headers.setdefault("Content-Type", TEXT_PLAIN)
    if error.headers:
        response.headers.update(error.headers)
