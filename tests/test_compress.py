"""`extensions.compress` with clients that decode: httpx and curl --compressed, over a real socket."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import AsyncIterator

import brotli
import httpx
import pytest
import zstandard

from roll import Request, Response, Roll, extensions
from roll.compress import choose_encoding, compressible
from roll.files import serve_file
from roll.testing import LiveClient

TEXT = "Roll rolls. " * 200  # 2,400 bytes of text


@pytest.fixture
def app(tmp_path: Path) -> Roll:
    app = Roll()
    extensions.compress(app)
    (tmp_path / "page.html").write_text("<p>hello</p>" * 20_000)  # 240 KB, streamed

    @app.route("/text")
    async def text(request: Request, response: Response) -> None:
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.body = TEXT

    @app.route("/json")
    async def data(request: Request, response: Response) -> None:
        response.json = {"items": list(range(500))}

    @app.route("/small")
    async def small(request: Request, response: Response) -> None:
        response.headers["Content-Type"] = "text/plain"
        response.body = "tiny"

    @app.route("/png")
    async def png(request: Request, response: Response) -> None:
        response.headers["Content-Type"] = "image/png"
        response.body = b"\x89PNG" + b"\x00" * 5000

    @app.route("/encoded")
    async def encoded(request: Request, response: Response) -> None:
        response.headers["Content-Type"] = "text/plain"
        response.headers["Content-Encoding"] = "gzip"
        response.body = gzip.compress(TEXT.encode())

    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def lines() -> AsyncIterator[str]:
            for n in range(1000):
                yield f"line {n}\n"

        response.headers["Content-Type"] = "text/plain"
        response.body = lines()

    @app.route("/file")
    async def file(request: Request, response: Response) -> None:
        serve_file(request, response, tmp_path / "page.html")

    return app


@pytest.fixture
async def http(liveclient: LiveClient) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=liveclient.url) as client:
        yield client


@pytest.mark.parametrize(("accept", "encoding"), [
    ("gzip", "gzip"),
    ("gzip, deflate, br, zstd", "br"),  # br preferred at equal q
    ("zstd, gzip;q=0.5", "zstd"),
    ("br;q=0.1, gzip;q=0.9", "gzip"),
    ("*", "br"),
    ("gzip;q=0, *;q=0.2", "br"),
])
async def test_text_is_compressed_as_asked(http: httpx.AsyncClient, accept: str, encoding: str) -> None:
    response = await http.get("/text", headers={"Accept-Encoding": accept})
    assert response.headers["content-encoding"] == encoding
    assert response.text == TEXT  # httpx decoded it
    assert int(response.headers["content-length"]) < len(TEXT) / 10
    assert response.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "*;q=0", "deflate", "gzip;q=nope", ""])
async def test_not_compressed_when_refused(http: httpx.AsyncClient, accept: str) -> None:
    response = await http.get("/text", headers={"Accept-Encoding": accept})
    assert "content-encoding" not in response.headers
    assert response.text == TEXT
    assert response.headers["vary"] == "Accept-Encoding"  # another client could get gzip


async def test_json_with_curl_compressed(liveclient: LiveClient) -> None:
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "--compressed", "-D", "-", f"{liveclient.url}/json", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"\r\nContent-Encoding: " in head
    assert json.loads(body) == {"items": list(range(500))}


@pytest.mark.parametrize("path", ["/small", "/png"])
async def test_small_or_incompressible_types_are_left_alone(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers


async def test_already_encoded_is_left_alone(http: httpx.AsyncClient) -> None:
    response = await http.get("/encoded", headers={"Accept-Encoding": "br, gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == TEXT  # decoded once: not compressed twice


async def test_streamed_body_compressed_chunk_by_chunk(http: httpx.AsyncClient) -> None:
    expected = "".join(f"line {n}\n" for n in range(1000))
    for encoding in ("gzip", "br", "zstd"):
        response = await http.get("/stream", headers={"Accept-Encoding": encoding})
        assert response.headers["content-encoding"] == encoding
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.text == expected


async def test_streamed_chunks_are_sent_as_they_come(app: Roll, liveclient: LiveClient) -> None:
    """A stream (server-sent events) is flushed at each chunk: the client can decode it at once."""
    release = asyncio.Event()

    @app.route("/events")
    async def events(request: Request, response: Response) -> None:
        async def stream() -> AsyncIterator[bytes]:
            yield b"data: first\n\n" * 50
            await release.wait()
            yield b"data: last\n\n"

        response.headers["Content-Type"] = "text/event-stream"
        response.body = stream()

    async with httpx.AsyncClient(base_url=liveclient.url) as http:
        async with http.stream("GET", "/events", headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers["content-encoding"] == "gzip"
            chunks = response.aiter_text()
            first = await asyncio.wait_for(chunks.__anext__(), 2)  # before `last` exists
            assert first.startswith("data: first")
            release.set()
            rest = "".join([chunk async for chunk in chunks])
            assert (first + rest).endswith("data: last\n\n")


async def test_streamed_file_compressed_with_its_length_dropped(http: httpx.AsyncClient, tmp_path: Path) -> None:
    response = await http.get("/file", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers and "accept-ranges" not in response.headers
    assert response.headers["etag"].startswith('W/"')
    assert response.text == (tmp_path / "page.html").read_text()
    # The weak ETag still validates the cached copy.
    again = await http.get("/file", headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_partial_head_and_not_modified_are_left_alone(http: httpx.AsyncClient) -> None:
    ranged = await http.get("/file", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99999"})
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    assert len(ranged.content) == 100_000
    head = await http.head("/text", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in head.headers


async def test_raw_bytes_decode(liveclient: LiveClient) -> None:
    """The encodings themselves, decoded by the reference libraries."""
    for encoding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress),
                             ("zstd", zstandard.ZstdDecompressor().decompress)):
        response = await liveclient.query("GET", "/text", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert response.headers["Content-Length"] == str(len(response.body))
        assert decode(response.body) == TEXT.encode()


def test_choose_encoding() -> None:
    available = ["br", "zstd", "gzip"]
    assert choose_encoding("x-gzip", available) == "gzip"
    assert choose_encoding("GZIP;Q=0.5", available) == "gzip"
    assert choose_encoding("br;q=0, zstd;q=0, gzip;q=0", available) is None
    assert choose_encoding("*;q=0.5, br;q=0", available) == "zstd"
    assert choose_encoding("gzip;q=2", available) is None  # out of range: ignored
    assert choose_encoding(",,;", available) is None


@pytest.mark.parametrize(("content_type", "expected"), [
    ("text/html; charset=utf-8", True), ("application/json", True), ("application/ld+json", True),
    ("image/svg+xml", True), ("application/javascript", True), ("application/atom+xml", True),
    ("image/png", False), ("application/octet-stream", False), ("application/zip", False),
])
def test_compressible(content_type: str, expected: bool) -> None:
    assert compressible(content_type) is expected
