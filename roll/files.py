"""Files as responses: streamed in chunks, with validators, 304, and single ranges.

`serve_file(request, response, path)` fills the response from a file; the
`static` extension is built on it. A file is never held whole in memory: past
`SMALL_FILE` bytes the body is a `FileBody`, which the protocol writes chunk by
chunk with back-pressure (the next chunk is read once the client took the
previous one), so serving a big file to a slow client costs a chunk or two.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import stat as stat_module
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from .http import HttpError

if TYPE_CHECKING:
    from .request import Request
    from .response import Response

__all__ = ["CHUNK_SIZE", "SMALL_FILE", "FileBody", "serve_file", "content_type_of", "plain_error"]

# Bytes read (in a thread) and written at a time when streaming a file.
CHUNK_SIZE = 256 * 1024
# Files (or ranges) up to this size are read at once, on the loop.
SMALL_FILE = 64 * 1024

PLAIN_TEXT = "text/plain; charset=utf-8"
RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)


class FileBody:
    """An async iterator over the bytes `[offset, offset + length)` of a file.

    The file is opened on the first read, so a body that is never iterated
    (HEAD, a response replaced by an error) costs no file descriptor. It
    closes itself at the end; `aclose()` (which the protocol calls) closes
    it earlier.
    """

    __slots__ = ("path", "offset", "remaining", "identity", "chunk_size", "_fd")

    def __init__(
        self,
        path: str | Path,
        offset: int,
        length: int,
        identity: tuple[int, int] | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.path = path
        self.offset = offset
        self.remaining = length
        # (mtime_ns, size) at the time the headers were made: a file changed
        # since then cannot honour them, and the connection is cut instead.
        self.identity = identity
        self.chunk_size = chunk_size
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"<FileBody {str(self.path)!r} offset={self.offset} remaining={self.remaining}>"

    def __aiter__(self) -> FileBody:
        return self

    async def __anext__(self) -> bytes:
        if self.remaining <= 0:
            await self.aclose()
            raise StopAsyncIteration
        fd = self._fd if self._fd is not None else self._open()
        size = min(self.chunk_size, self.remaining)
        data = await asyncio.get_running_loop().run_in_executor(
            None, os.pread, fd, size, self.offset
        )
        if not data:
            await self.aclose()
            raise OSError(f"{self.path} is shorter than announced")
        self.offset += len(data)
        self.remaining -= len(data)
        return data

    def _open(self) -> int:
        fd = self._fd = os.open(self.path, os.O_RDONLY)
        if self.identity is not None:
            info = os.fstat(fd)
            if (info.st_mtime_ns, info.st_size) != self.identity:
                raise OSError(f"{self.path} changed since its headers were sent")
        return fd

    async def aclose(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def content_type_of(name: str) -> str:
    """The Content-Type for a file name, from its extension."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def plain_error(response: Response, status: HTTPStatus = HTTPStatus.NOT_FOUND) -> HttpError:
    """The error to raise for a missing file (or a bad path): plain text, never the path.

    The path comes from the client: echoed in a body a browser could sniff as
    HTML, it would be a reflected XSS.
    """
    response.headers["Content-Type"] = PLAIN_TEXT
    response.headers["X-Content-Type-Options"] = "nosniff"
    return HttpError(status)


def serve_file(
    request: Request,
    response: Response,
    path: str | Path,
    content_type: str | None = None,
    filename: str | None = None,
) -> None:
    """Answer with the file at `path` (a 404 when it is not a regular file).

    Sets Content-Type (from the extension unless given), Content-Length,
    Last-Modified, ETag and Accept-Ranges; answers 304 to a matching
    If-None-Match / If-Modified-Since, 206 to a single satisfiable `Range`
    (416 when unsatisfiable; several ranges get the whole file), and HEAD
    without reading the file. With `filename`, the client is asked to
    download it under that name (Content-Disposition: attachment).
    """
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        raise plain_error(response) from None
    if not stat_module.S_ISREG(info.st_mode):
        raise plain_error(response)
    size = info.st_size
    etag = f'"{info.st_mtime_ns:x}-{size:x}"'
    last_modified = formatdate(info.st_mtime, usegmt=True)
    headers = response.headers
    headers["Content-Type"] = content_type or content_type_of(os.fspath(path))
    headers["Last-Modified"] = last_modified
    headers["ETag"] = etag
    headers["Accept-Ranges"] = "bytes"
    if filename is not None:
        headers["Content-Disposition"] = attachment(filename)
    method = request.method
    if method in ("GET", "HEAD") and not_modified(request.headers, etag, int(info.st_mtime)):
        response.status = HTTPStatus.NOT_MODIFIED
        response.body = b""
        return
    offset, length = 0, size
    ranges = request.headers.get("RANGE") if method == "GET" else None
    if ranges is not None and if_range_holds(request.headers, etag, last_modified):
        wanted = byte_range(ranges, size)
        if wanted == UNSATISFIABLE:
            response.status = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
            headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Type"] = PLAIN_TEXT
            response.body = b""
            return
        if wanted is not None:
            offset, length = wanted
            response.status = HTTPStatus.PARTIAL_CONTENT
            headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{size}"
    headers["Content-Length"] = str(length)
    if method == "HEAD":
        response.body = b""
    elif length <= SMALL_FILE:
        response.body = read_small(path, offset, length)
        headers["Content-Length"] = str(len(response.body))
    else:
        response.body = FileBody(path, offset, length, (info.st_mtime_ns, size))


def read_small(path: str | Path, offset: int, length: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


# Validators and ranges (RFC 9110 §13 and §14).

UNSATISFIABLE = (-1, -1)


def not_modified(headers: dict[str, str], etag: str, mtime: int) -> bool:
    """Does the client's cached copy still match (If-None-Match, else If-Modified-Since)?"""
    if_none_match = headers.get("IF-NONE-MATCH")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        return _opaque(etag) in {_opaque(tag) for tag in if_none_match.split(",")}
    if_modified_since = headers.get("IF-MODIFIED-SINCE")
    if if_modified_since is not None:
        try:
            return mtime <= parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False  # an invalid date is ignored
    return False


def _opaque(tag: str) -> str:
    """The tag without its weakness, for the weak comparison of If-None-Match."""
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def if_range_holds(headers: dict[str, str], etag: str, last_modified: str) -> bool:
    """True unless an If-Range names another version (then the whole file is sent)."""
    if_range = headers.get("IF-RANGE")
    if if_range is None:
        return True
    if_range = if_range.strip()
    return if_range == etag or if_range == last_modified  # strong comparison only


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """`(offset, length)` of a single `bytes=` range, UNSATISFIABLE, or None to ignore it.

    Several ranges, another unit or an invalid syntax: None, the whole file is sent.
    """
    match = RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return max(size - suffix, 0), min(suffix, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    end = min(end, size - 1)
    return start, end - start + 1


def attachment(filename: str) -> str:
    """Content-Disposition asking to save as `filename` (RFC 6266: ASCII, then UTF-8)."""
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\' else "_" for char in filename
    )
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
