"""The `compress` extension: gzip, and brotli or zstd when installed, for responses that gain.

Brotli and zstd come with the `compress` extra (`pip install roll-typed[compress]`:
the `brotli` and `zstandard` packages); without them, gzip only.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Protocol

from .response import add_vary

if TYPE_CHECKING:
    from .app import Roll
    from .request import Request
    from .response import Response

try:
    import brotli

    HAS_BROTLI = True
except ImportError:  # pragma: no cover - the compress extra is not installed
    HAS_BROTLI = False
try:
    import zstandard

    HAS_ZSTD = True
except ImportError:  # pragma: no cover - the compress extra is not installed
    HAS_ZSTD = False

__all__ = ["compress", "compressible", "choose_encoding", "ENCODERS"]

# Fast settings: responses are compressed as they go out, not ahead of time.
GZIP_LEVEL = 6
BROTLI_QUALITY = 4
ZSTD_LEVEL = 3
# Bodies and chunks bigger than that are compressed in a thread, off the loop.
THREAD_SIZE = 128 * 1024

# Statuses whose body is not the whole representation, or empty.
LEFT_ALONE = frozenset((204, 206, 304))

COMPRESSIBLE_TYPES = frozenset(
    (
        "application/json",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/wasm",
        "application/x-ndjson",
        "image/svg+xml",
        "image/x-icon",
        "image/bmp",
        "font/ttf",
        "font/otf",
    )
)


def compressible(content_type: str) -> bool:
    """Text, JSON, JavaScript, XML, SVG...: not images, video or archives (compressed already)."""
    media = content_type.partition(";")[0].strip().lower()
    return (
        media.startswith("text/")
        or media in COMPRESSIBLE_TYPES
        or media.endswith("+json")
        or media.endswith("+xml")
    )


class Encoder(Protocol):
    """A streaming compressor: each `chunk()` returns what can be sent of it at once."""

    def chunk(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class Gzip:
    def __init__(self) -> None:
        self._stream = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing

    def chunk(self, data: bytes) -> bytes:
        return self._stream.compress(data) + self._stream.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._stream.flush()

    @staticmethod
    def whole(data: bytes) -> bytes:
        stream = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        return stream.compress(data) + stream.flush()


class Brotli:
    def __init__(self) -> None:
        self._stream = brotli.Compressor(quality=BROTLI_QUALITY)

    def chunk(self, data: bytes) -> bytes:
        return self._stream.process(data) + self._stream.flush()

    def finish(self) -> bytes:
        return self._stream.finish()

    @staticmethod
    def whole(data: bytes) -> bytes:
        return brotli.compress(data, quality=BROTLI_QUALITY)


class Zstd:
    def __init__(self) -> None:
        self._stream = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()

    def chunk(self, data: bytes) -> bytes:
        out: bytes = self._stream.compress(data) + self._stream.flush(
            zstandard.COMPRESSOBJ_FLUSH_BLOCK
        )
        return out

    def finish(self) -> bytes:
        out: bytes = self._stream.flush()
        return out

    @staticmethod
    def whole(data: bytes) -> bytes:
        out: bytes = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
        return out


# Content-Encoding → encoder, in order of preference at equal q-value.
ENCODERS: dict[str, Any] = {}
if HAS_BROTLI:
    ENCODERS["br"] = Brotli
if HAS_ZSTD:
    ENCODERS["zstd"] = Zstd
ENCODERS["gzip"] = Gzip


def choose_encoding(accept_encoding: str, available: list[str]) -> str | None:
    """The encoding to use for this Accept-Encoding (RFC 9110 §12.5.3), or None.

    Highest q-value first, the order of `available` among equals; `q=0`
    refuses an encoding, `*` stands for those not named.
    """
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
                if not 0.0 <= weight <= 1.0:  # NaN included
                    weight = 0.0
        weights["gzip" if name == "x-gzip" else name] = weight
    star = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for encoding in available:
        weight = weights.get(encoding, star)
        if weight > best_weight:
            best, best_weight = encoding, weight
    return best


async def _run(function: Callable[[bytes], bytes], data: bytes) -> bytes:
    if len(data) > THREAD_SIZE:
        return await asyncio.to_thread(function, data)
    return function(data)


async def compressed(body: Any, encoder: Encoder) -> AsyncIterator[bytes]:
    """The chunks of a streamed body, compressed as they come (each one sent at once)."""
    try:
        async for item in body:
            data = item if isinstance(item, bytes) else str(item).encode()
            if data:
                out = await _run(encoder.chunk, data)
                if out:
                    yield out
        tail = encoder.finish()
        if tail:
            yield tail
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()


def compress(app: Roll, minimum_size: int = 500) -> None:
    """Compress responses of at least `minimum_size` bytes for clients that accept it.

    Only compressible types (text, JSON, JavaScript, XML, SVG...), and not
    responses already encoded (Content-Encoding set), partial (206), empty
    (204, 304) or to HEAD. Streamed bodies are compressed chunk by chunk
    (and sent chunked). Sets Content-Encoding and `Vary: Accept-Encoding`.
    """
    available = list(ENCODERS)

    @app.listen("response")
    async def compress_response(request: Request, response: Response) -> None:
        headers = response.headers
        if (
            request.method == "HEAD"
            or response.status in LEFT_ALONE
            or response.status < 200
            or "Content-Encoding" in headers
        ):
            return
        content_type = headers.get("Content-Type")
        if not content_type or not compressible(content_type):
            return
        body = response.body
        streamed = not isinstance(body, (bytes, str)) and hasattr(body, "__aiter__")
        if streamed:
            length = headers.get("Content-Length", "")
            if length.isdigit() and int(length) < minimum_size:
                return
        else:
            body = body.encode() if isinstance(body, str) else body
            body = body if isinstance(body, bytes) else str(body).encode()
            if len(body) < minimum_size:
                return
        add_vary(headers, "Accept-Encoding")
        encoding = choose_encoding(request.headers.get("ACCEPT-ENCODING", ""), available)
        if encoding is None:
            return
        encoder = ENCODERS[encoding]
        if streamed:
            response.body = compressed(body, encoder())
            headers.pop("Content-Length", None)
        else:
            data = await _run(encoder.whole, body)
            if len(data) >= len(body):
                return  # incompressible: send it as it is
            response.body = data
            if "Content-Length" in headers:
                headers["Content-Length"] = str(len(data))
        headers["Content-Encoding"] = encoding
        headers.pop("Accept-Ranges", None)  # ranges of the encoded bytes are not offered
        etag = headers.get("ETag")
        if etag and not etag.startswith("W/"):
            headers["ETag"] = "W/" + etag  # not the same bytes as the identity response
