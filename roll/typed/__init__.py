"""roll.typed: handlers with typed, validated parameters, resolved at registration.

app = TypedRoll()

@app.route("/shops/{shop_id}/items", methods=["POST"], status=201)
async def add_item(shop_id: int, item: Item, dry_run: bool = False) -> Item:
    ...
"""

from .app import TypedRoll, is_plain
from .errors import InvalidRequest, Problem, RouteDefinitionError
from .files import UploadFile
from .markers import Body, Cookie, Depends, File, Form, Header, Json, Path, Query
from .openapi import openapi, openapi_schema
from .router import Router
from .sse import EventStream, ServerSentEvent
from .websocket import WebSocket

__all__ = [
    "Body",
    "Cookie",
    "Depends",
    "EventStream",
    "File",
    "Form",
    "Header",
    "InvalidRequest",
    "Json",
    "Path",
    "Problem",
    "Query",
    "RouteDefinitionError",
    "Router",
    "ServerSentEvent",
    "TypedRoll",
    "UploadFile",
    "WebSocket",
    "is_plain",
    "openapi",
    "openapi_schema",
]
