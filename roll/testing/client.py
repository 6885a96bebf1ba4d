"""The test clients: `Client` in memory (through the driver), `LiveClient` over a socket."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from http import HTTPStatus
from typing import Any, Iterable
from urllib.parse import quote, urlencode
from uuid import uuid4

from ..app import Roll
from ..protocol import HTTPProtocol
from ..response import JSON_CONTENT_TYPE, Response
from .driver import open_protocol
from .reader import Asserting, WireResponse, read_body, read_response


def encode_multipart(
    data: dict[str, Any] | list[tuple[str, Any]], files: dict[str, Any]
) -> tuple[bytes, str]:
    boundary = uuid4().hex
    parts: list[bytes] = []
    items = data.items() if isinstance(data, dict) else data
    for name, value in items:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, spec in files.items():
        content, filename = spec[0], spec[1]
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode()
        mime = spec[2] if len(spec) > 2 else (
            mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        parts.append(
            (
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"; filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def encode_body(
    data: Any, content_type: str, files: dict[str, Any] | None
) -> tuple[bytes, str]:
    if files:
        return encode_multipart(data or {}, files)
    if isinstance(data, bytes):
        return data, content_type
    if isinstance(data, str):
        return data.encode(), content_type
    if not data:
        return b"", content_type
    if content_type.startswith("application/x-www-form-urlencoded"):
        return urlencode(data, doseq=True).encode(), content_type
    if content_type.startswith("multipart/form-data"):
        return encode_multipart(data, {})
    return json.dumps(data).encode(), content_type


class ClientResponse(Asserting):
    """The in-memory client's answer: `status` (HTTPStatus), `headers`
    (as the app set them), `body` (bytes, as sent), `json()`, `text`, and
    `cookies`; anything else is read from `response`, the app's Response."""

    def __init__(self, response: Response) -> None:
        self.response = response
        self.status: HTTPStatus = response.status
        self.headers: dict[str, str] = response.headers
        self.body: bytes = response.body

    def __getattr__(self, name: str) -> Any:
        if name == "response":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.response, name)

    def __repr__(self) -> str:
        return f"<ClientResponse {self.status.value} {self.body[:60]!r}>"


class Client:
    """In-memory client: each request goes through a fresh protocol and transport."""

    content_type = JSON_CONTENT_TYPE

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.protocol: HTTPProtocol | None = None

    async def request(
        self,
        path: str,
        method: str = "GET",
        body: Any = b"",
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        files: dict[str, Any] | None = None,
    ) -> ClientResponse:
        headers = dict(headers or {})
        body, content_type = encode_body(body, content_type or self.content_type, files)
        if body or method in ("POST", "PUT", "PATCH"):
            headers.setdefault("Content-Type", content_type)
        headers["Content-Length"] = str(len(body))
        headers.setdefault("Host", "127.0.0.1")
        target = quote(path, safe="/?=&%:+,;@!$'()*~")
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        protocol = self.protocol = open_protocol(self.app)
        protocol.data_received(head.encode() + b"\r\n" + body)
        if protocol.upgraded is not None and protocol.task is not None:
            # A websocket: this client speaks none, and its session would only end
            # with the handler. Return the handshake answer; the session is cancelled.
            task = protocol.task
            while not task.done() and not protocol.transport.data:
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.wait([task])
        elif protocol.task is not None:
            await protocol.task
        response = protocol.response
        if not isinstance(response.body, bytes):
            response.body = read_body(protocol.transport.data)
        return ClientResponse(response)

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="GET", **kwargs)

    async def head(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="HEAD", **kwargs)

    async def options(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="OPTIONS", **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="DELETE", **kwargs)

    async def connect(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request(path, method="CONNECT", **kwargs)

    async def post(self, path: str, data: Any = None, **kwargs: Any) -> ClientResponse:
        return await self._with_body("POST", path, data, kwargs)

    async def put(self, path: str, data: Any = None, **kwargs: Any) -> ClientResponse:
        return await self._with_body("PUT", path, data, kwargs)

    async def patch(self, path: str, data: Any = None, **kwargs: Any) -> ClientResponse:
        return await self._with_body("PATCH", path, data, kwargs)

    async def _with_body(
        self, method: str, path: str, data: Any, kwargs: dict[str, Any]
    ) -> ClientResponse:
        body = kwargs.pop("body", None)
        return await self.request(
            path, method=method, body=data if data is not None else (body or b""), **kwargs
        )


class LiveClient:
    """Runs the app on a real socket and queries it over TCP."""

    def __init__(self, app: Roll) -> None:
        self.app = app
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.url = ""
        self.wsl = ""

    async def start(self) -> None:
        self.app.loop = asyncio.get_running_loop()
        self.server = await self.app.loop.create_server(self.app.factory, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.wsl = f"ws://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            close_clients = getattr(self.server, "close_clients", None)
            if close_clients is not None:  # Python 3.13+ waits for open connections
                close_clients()
            await self.server.wait_closed()

    async def query(
        self,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> WireResponse:
        headers = dict(headers or {})
        headers.setdefault("Host", f"127.0.0.1:{self.port}")
        headers.setdefault("Connection", "close")
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            chunks: Iterable[Any] | None = None
            if isinstance(body, str):
                body = body.encode()
            if isinstance(body, (bytes, bytearray)):
                headers.setdefault("Content-Length", str(len(body)))
            elif body is not None:
                chunks, body = body, None
                headers["Transfer-Encoding"] = "chunked"
            head = f"{method} {quote(uri, safe='/?=&%:+,;@!$()*~')} HTTP/1.1\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            writer.write(head.encode() + b"\r\n" + (body or b""))
            if chunks is not None:
                for chunk in chunks:
                    data = chunk if isinstance(chunk, bytes) else str(chunk).encode()
                    writer.write(b"%x\r\n%b\r\n" % (len(data), data))
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            return await read_response(reader)
        finally:
            writer.close()



__all__ = ["Client", "ClientResponse", "LiveClient", "encode_body", "encode_multipart"]
