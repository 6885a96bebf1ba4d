"""HTTP vocabulary shared by the whole core: the error to raise, the method names, the route options."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Sequence, TypedDict

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



class RouteOptions(TypedDict, total=False):
    """The options a route's payload (`request.route.payload`) holds beside its handlers.

    `Roll.add_route` always sets `protocol` and `lazy_body`; the others are
    extras given to `app.route(...)`, read where noted. An app may add extras
    of its own: they land in the payload too. The autoroutes payload stays a
    plain dict (the handlers are its method keys): readers `cast` it to this.
    """

    protocol: str  # "http" or "websocket" (Roll.__call__, HTTPProtocol)
    lazy_body: bool  # the handler reads the body itself (Roll.__call__)
    timeout: float | None  # seconds for the handler (Roll.__call__)
    max_body_size: int | None  # bytes of request body (HTTPProtocol)
    subprotocols: Sequence[str] | None  # websocket subprotocols allowed (WSProtocol)
    accepts: Sequence[str] | None  # media types served (extensions.content_negociation)
    name: str  # the route's name for url_for (extensions.named_url)
    status: int  # the success status of a typed handler (roll.typed)
    tags: Sequence[str]  # the route's tags (roll.typed.Router, the OpenAPI document)
    dependencies: Sequence[Any]  # Depends(...) run before a typed handler (roll.typed)
    # What the OpenAPI document says of the route (roll.typed.openapi).
    summary: str
    description: str
    operation_id: str
    deprecated: bool
    include_in_schema: bool
    responses: dict[int, Any]


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
