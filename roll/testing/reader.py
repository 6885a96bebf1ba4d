"""The response reader: what a server wrote, as `WireResponse`s, from bytes or from a socket."""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import httptools


class Asserting:
    """What a response offers a test: `json()` and `text` from `body` (bytes)."""

    body: bytes
    headers: Any

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not JSON)."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body decoded (UTF-8, or the charset of the Content-Type)."""
        return self.body.decode(charset(self.headers.get("Content-Type", "")), errors="replace")

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", ""))


def charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


class WireResponse(Asserting):
    """A response as read from the wire (`read_responses`, `read_response`),
    with `json()` and `text` too."""

    def __init__(self) -> None:
        self.status: HTTPStatus = HTTPStatus.OK
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.body = b""
        self.chunks: list[bytes] | None = None
        self.complete = False
        self.headers_complete = False
        self._parts: list[bytes] = []
        self._chunked = False

    @property
    def received(self) -> bytes:
        """The body bytes received so far (all of `body` once complete)."""
        return b"".join(self._parts)

    # httptools.HttpResponseParser callbacks, passed on by ResponseReader.

    def on_status(self, reason: bytes) -> None:
        self.reason += reason.decode()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode()] = value.decode()

    def on_headers_complete(self) -> None:
        self.headers_complete = True

    def on_body(self, data: bytes) -> None:
        self._parts.append(data)
        if self.chunks is not None:
            self.chunks[-1] += data

    def on_chunk_header(self) -> None:
        if self.chunks is None:
            self.chunks = []
        self.chunks.append(b"")

    def on_chunk_complete(self) -> None:
        if self.chunks and not self.chunks[-1]:
            self.chunks.pop()  # the terminating zero-size chunk

    def on_message_complete(self) -> None:
        self.body = b"".join(self._parts)
        self.complete = True


class ResponseReader:
    """Reads the responses of one connection: feed it bytes as they come."""

    def __init__(self) -> None:
        self.responses: list[WireResponse] = []
        self.parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes) -> None:
        self.parser.feed_data(data)

    @property
    def current(self) -> WireResponse:
        if not self.responses:
            self.responses.append(WireResponse())
        return self.responses[-1]

    def on_message_begin(self) -> None:
        if not self.responses or self.responses[-1].complete:
            self.responses.append(WireResponse())

    def on_status(self, reason: bytes) -> None:
        self.current.on_status(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.on_header(name, value)

    def on_headers_complete(self) -> None:
        self.current.status = HTTPStatus(self.parser.get_status_code())
        self.current.on_headers_complete()

    def on_body(self, data: bytes) -> None:
        self.current.on_body(data)

    def on_chunk_header(self) -> None:
        self.current.on_chunk_header()

    def on_chunk_complete(self) -> None:
        self.current.on_chunk_complete()

    def on_message_complete(self) -> None:
        self.current.on_message_complete()


def read_responses(raw: bytes) -> list[WireResponse]:
    """Every complete response in `raw` (what a server wrote), up to any unparsable byte."""
    reader = ResponseReader()
    try:
        reader.feed(raw)
    except httptools.HttpParserError:
        pass
    return [response for response in reader.responses if response.complete]


def read_body(raw: bytes) -> bytes:
    """The body of a raw HTTP response, chunked or not (what arrived of it if cut short)."""
    reader = ResponseReader()
    reader.feed(raw)
    response = reader.current
    return response.body if response.complete else response.received


async def read_response(reader: asyncio.StreamReader) -> WireResponse:
    """The next response from a socket (all of it, or up to a 101's head)."""
    responses = ResponseReader()
    response = responses.current
    parser = responses.parser
    while not response.complete:
        data = await reader.read(65536)
        if not data:
            parser.feed_data(b"")  # lets a close-delimited body complete
            break
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            break
        except httptools.HttpParserError:
            # A 101 without `Connection: upgrade` makes the parser pause with a plain error.
            if response.headers_complete and parser.get_status_code() == 101:
                break
            raise
        if response.headers_complete and parser.get_status_code() == 101:
            break
    if not response.headers_complete:
        raise ConnectionError("The connection closed before a response head")
    if not response.complete:
        response.body = response.received
    return response



__all__ = ["Asserting", "ResponseReader", "WireResponse", "read_body", "read_response", "read_responses"]
