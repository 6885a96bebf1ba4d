"""The writing half of a connection: one response's bytes on the transport, in time.

`Sender` is the base of `HTTPProtocol`: it turns a `Response` into the bytes
`roll.wire` makes (head, body, chunks) and writes them, waiting for the
transport when its buffer is full (`drained`), and for a streamed body's
next item. Reading requests is `roll.reading`'s; when to answer, the
protocol's.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from .compiled import mypyc_attr
from .request import Request
from .response import Response
from .wire import (
    BODYLESS_STATUSES,
    INVALID_HEAD,
    LAST_CHUNK,
    STATUS_LINES,
    body_bytes,
    body_length,
    frame_chunk,
    head_answered_by_get,
    item_bytes,
    serialize_head,
)

log = logging.getLogger("roll")


# `HTTPProtocol`, which apps subclass, derives from it: allowed when compiled.
@mypyc_attr(allow_interpreted_subclasses=True)
class Sender(asyncio.Protocol):
    """Writes responses; `asyncio.Protocol`'s write flow control."""

    # A client that does not read what we send: closed (aborted) after that.
    SEND_TIMEOUT: ClassVar[float | None] = 30.0

    __slots__ = ("transport", "loop", "keep_alive", "writing_paused", "_drain", "_failed", "_closed", "_streaming")

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.transport: Any = None
        self.loop = loop
        self.keep_alive = True
        # Over the transport's high-water mark: writers wait for `drained()`.
        self.writing_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._failed = False  # what the client still sends is dropped, unread
        self._closed = False  # the connection is lost
        # (task, body) while a streamed body is being written.
        self._streaming: tuple[asyncio.Task[Any], Any] | None = None

    def close(self) -> None:
        """Close once what is written is sent (`HTTPProtocol` lingers when it must)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    async def drained(self) -> None:
        """Until the transport wants more (`resume_writing`); aborts after SEND_TIMEOUT."""
        assert self.loop is not None
        self._drain = self.loop.create_future()
        try:
            if self.SEND_TIMEOUT is None:
                await self._drain
            else:
                try:
                    async with asyncio.timeout(self.SEND_TIMEOUT):
                        await self._drain
                except TimeoutError:
                    self.abort()  # the client does not read: drop it
        finally:
            self._drain = None

    def abort(self) -> None:
        """Close now, dropping what is not sent yet."""
        self.keep_alive = False
        self._failed = True
        if self.transport is not None:
            abort = getattr(self.transport, "abort", None)
            if abort is not None:
                abort()
            else:
                self.transport.close()

    async def _send(self, request: Request | None, response: Response) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            await close_stream(response.body)
            return
        # (The slots, not the properties: two calls less per response.)
        status = response._status
        body = response.body
        headers = response.headers
        chunked = streamed = False
        if status < 200 or status in BODYLESS_STATUSES:
            await close_stream(body)
            body = b""
        elif request is not None and request.method == "HEAD":
            if "Content-Length" not in headers and head_answered_by_get(request):
                length = body_length(body)
                if length is not None:
                    headers["Content-Length"] = str(length)
            await close_stream(body)
            body = b""
        else:
            # bytes and str (`response.json`'s) without a call: the common cases.
            if isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, bytes):
                data = body_bytes(body)
                if data is not None:
                    body = data
                else:
                    streamed = True
                    # A streamed body may bring its own default headers
                    # (an event stream: its Content-Type, no caching).
                    for name, value in getattr(body, "response_headers", {}).items():
                        headers.setdefault(name, value)
                    # A stream of known length (a file) goes as is; else chunked.
                    chunked = "Content-Length" not in headers
                    if chunked:
                        headers.setdefault("Transfer-Encoding", "chunked")
            if not streamed:
                if "Content-Length" not in headers:
                    headers["Content-Length"] = str(len(body))
                response.body = body
        try:
            length = int(headers["Content-Length"]) if streamed and not chunked else 0
            head = serialize_head(
                STATUS_LINES[status], headers, response._cookies.values() if response._cookies else ()
            )
        except ValueError as error:
            log.error("Invalid response headers: %s", error)
            await close_stream(body)
            transport.write(INVALID_HEAD)
            return
        if not streamed:
            transport.write(head + body)
            return
        transport.write(head)
        if chunked:
            await self._write_chunks(body)
        else:
            await self._write_stream(body, length)

    async def _write_chunks(self, body: Any) -> None:
        task = asyncio.current_task()
        self._streaming = (task, body) if task is not None else None
        complete = False
        try:
            async for item in body:
                if self._closed:
                    break
                chunk = item_bytes(item)
                if chunk:
                    self.transport.write(frame_chunk(chunk))
                    if self.writing_paused:
                        await self.drained()
            else:
                self.transport.write(LAST_CHUNK)
                complete = True
        except Exception:
            # The head is out: the only honest signal left is cutting the stream.
            log.exception("Error while streaming a response body")
        except BaseException:
            # Cancelled: the body is closed all the same. (Not in a `finally`:
            # mypyc leaks the exception of a `finally` that awaits, see
            # docs/performance.md, "mypyc".)
            self._streaming = None
            await close_stream(body)
            raise
        self._streaming = None
        await close_stream(body)
        if not complete:
            self.keep_alive = False

    async def _write_stream(self, body: Any, length: int) -> None:
        """A streamed body with a Content-Length: its bytes as they come, no framing."""
        done = False  # sent as announced, or the client left: nothing to report
        try:
            async for item in body:
                if self._closed:
                    done = True
                    break
                chunk = item_bytes(item)
                if len(chunk) > length:
                    break  # more than announced: the client would take it for the next response
                length -= len(chunk)
                self.transport.write(chunk)
                if self.writing_paused:
                    await self.drained()
            else:
                done = not length
        except Exception:
            log.exception("Error while streaming a response body")
        except BaseException:
            await close_stream(body)  # (not in a `finally`: see `_write_chunks`)
            raise
        await close_stream(body)
        if done:
            return
        log.error("A streamed body did not match its Content-Length: connection closed")
        self.keep_alive = False
        self.close()  # now: a response pipelined after this one would be out of step


async def close_stream(body: Any) -> None:
    """Close a streamed body (an async generator, a file) we will not read to its end."""
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        await aclose()
