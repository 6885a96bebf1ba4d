"""Roll: a pico asyncio web framework."""

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
