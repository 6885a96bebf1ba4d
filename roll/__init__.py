"""Roll: a pico asyncio web framework.

The modules of `roll/` form a straight stack, `LAYERS` below, bottom first.
A module imports only modules of the layers below its own: never one of its
own layer or above, not even under `TYPE_CHECKING` or inside a function. What
a lower module needs from a higher one, it declares as a small
`typing.Protocol` the higher one satisfies (`request.RequestApp`,
`protocol.App`, `protocol.Upgraded`...). The typed layer sits above the whole
core. `tests/test_layering.py` walks the imports of every module against
this order; a new module gets its place here.
"""

LAYERS: tuple[tuple[str, ...], ...] = (
    ("roll.http", "roll.cookies", "roll.proxy", "roll.body", "roll.identity", "roll.decorator",
     "roll.compiled"),
    ("roll.multidict",),
    ("roll.multipart",),
    ("roll.request", "roll.response"),
    ("roll.files", "roll.wire", "roll.websocket_sansio"),
    ("roll.sending",),
    ("roll.reading",),
    ("roll.protocol",),
    ("roll.websocket",),
    ("roll.app",),
    ("roll.testing.driver", "roll.testing.reader"),
    ("roll.testing.client",),
    ("roll.server", "roll.testing", "roll.compress", "roll.cors"),
    ("roll.extensions", "roll.worker", "roll.reload"),
    ("roll.broadcast.base",),
    ("roll.broadcast.memory", "roll.broadcast.redis"),
    ("roll.broadcast", "roll.__main__"),
    ("roll",),
    # The typed layer: plan data (`plan`) below both the run time (extractors,
    # dependencies, endpoint, guards) and the analysis (models, sources,
    # analysis), which the run time never imports.
    ("roll.typed.markers", "roll.typed.files", "roll.typed.errors", "roll.typed.sse",
     "roll.typed.openapi_schemas", "roll.typed.openapi_docs"),
    ("roll.typed.typeinfo", "roll.typed.returns", "roll.typed.websocket", "roll.typed.security"),
    ("roll.typed.converters", "roll.typed.contract"),
    ("roll.typed.plan",),
    ("roll.typed.extractors", "roll.typed.dependencies", "roll.typed.provides",
     "roll.typed.checks", "roll.typed.openapi_operations"),
    ("roll.typed.models", "roll.typed.endpoint", "roll.typed.router", "roll.typed.openapi"),
    ("roll.typed.sources", "roll.typed.guards"),
    ("roll.typed.analysis",),
    ("roll.typed.overrides",),
    ("roll.typed.app",),
    ("roll.typed",),
)

from .app import Roll
from .cookies import Cookies
from .http import HTTP_METHODS, HttpError
from .multidict import Files, Form, Multidict, Query
from .multipart import Multipart
from .protocol import HTTPProtocol
from .request import Request, Route
from .response import Response
from .websocket import ConnectionClosed, WSProtocol

__all__ = [
    "HTTP_METHODS",
    "ConnectionClosed",
    "Cookies",
    "Files",
    "Form",
    "HTTPProtocol",
    "HttpError",
    "Multidict",
    "Multipart",
    "Query",
    "Request",
    "Response",
    "Roll",
    "Route",
    "WSProtocol",
]
