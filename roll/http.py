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
    """Raise it to answer with `status` and `message` as the body."""

    status: HTTPStatus
    message: Any

    def __init__(
        self,
        http_code: int | HTTPStatus,
        message: Any = None,
        context: Any = None,
    ) -> None:
        self.status = to_status(http_code)
        self.message = message or self.status.phrase
        self.context = context
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)
