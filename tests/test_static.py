"""Static files and `serve_file`: streamed, validated, ranged; over real sockets, with curl and httpx."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import tracemalloc
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from roll import Request, Response, Roll, extensions
from roll.files import FileBody, byte_range, serve_file
from roll.testing import LiveClient

BIG = 20 * 1024 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4000)  # 1,024,000 bytes
    with open(root / "big.bin", "wb") as big:
        for block in range(BIG // 65536):
            big.write(bytes([block % 251]) * 65536)
    return root


async def curl(*args: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out, err


async def raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    data = await reader.read()
    writer.close()
    return data


# 404s and 400s: never the requested path as HTML


@pytest.mark.parametrize(
    "target",
    ["/static/%3Cscript%3Ealert(1)%3C%2Fscript%3E.html", "/static/%3Cimg%20src=x%20onerror=alert(1)%3E"],
)
async def test_missing_file_is_plain_text_without_the_path(
    app: Roll, liveclient: LiveClient, root: Path, target: str
) -> None:
    extensions.static(app, root=root)
    await app.startup()
    answer = await raw(liveclient.port, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"Content-Type: text/plain; charset=utf-8" in head.split(b"\r\n")
    assert b"X-Content-Type-Options: nosniff" in head.split(b"\r\n")
    assert b"<" not in body and b"script" not in body and b"img" not in body
    assert body == b"Not Found"


async def test_outside_root_is_plain_text_without_the_path(
    app: Roll, liveclient: LiveClient, root: Path
) -> None:
    extensions.static(app, root=root)
    await app.startup()
    answer = await raw(
        liveclient.port, b"GET /static/..%2F%3Cb%3Ex HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"X-Content-Type-Options: nosniff" in head.split(b"\r\n")
    assert b"<b>" not in body


# Streaming with bounded memory


async def test_big_file_with_curl_is_complete(app: Roll, liveclient: LiveClient, root: Path) -> None:
    extensions.static(app, root=root)
    await app.startup()
    code, out, _ = await curl("-D", "-", f"{liveclient.url}/static/big.bin")
    assert code == 0
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % BIG in head.split(b"\r\n")
    assert b"Transfer-Encoding" not in head
    assert hashlib.sha256(body).digest() == hashlib.sha256((root / "big.bin").read_bytes()).digest()


async def test_slow_readers_hold_a_chunk_not_the_file(
    app: Roll, liveclient: LiveClient, root: Path
) -> None:
    """Three clients that stop reading: the server keeps a chunk or two each, not 20 MB."""
    extensions.static(app, root=root)
    await app.startup()
    expected = hashlib.sha256((root / "big.bin").read_bytes()).digest()
    tracemalloc.start()
    try:
        clients = []
        for _ in range(3):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            sock.connect(("127.0.0.1", liveclient.port))
            sock.setblocking(False)
            sock.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            clients.append(sock)
        # The server writes what the sockets take, then waits with the rest buffered.
        for _ in range(500):
            await asyncio.sleep(0.02)
            buffered = [c.transport.get_write_buffer_size() for c in app.connections]
            if len(buffered) == 3 and all(buffered):
                break
        assert len(buffered) == 3 and all(buffered)
        assert max(buffered) < 1024 * 1024
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 8 * 1024 * 1024  # the file is 20 MB; three copies would be 60
        # Now read: every byte arrives, in order.
        loop = asyncio.get_running_loop()
        for sock in clients:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await loop.sock_recv(sock, 65536)
            head, _, body = data.partition(b"\r\n\r\n")
            digest = hashlib.sha256(body)
            received = len(body)
            while received < BIG:
                chunk = await loop.sock_recv(sock, 1024 * 1024)
                assert chunk
                digest.update(chunk)
                received += len(chunk)
            assert received == BIG and digest.digest() == expected
            sock.close()
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 8 * 1024 * 1024
    finally:
        tracemalloc.stop()


async def test_head_does_not_read_the_file(app: Roll, liveclient: LiveClient, root: Path) -> None:
    extensions.static(app, root=root)
    await app.startup()
    tracemalloc.start()
    try:
        answer = await raw(liveclient.port, b"HEAD /static/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Length: %d\r\n" % BIG in answer
    assert answer.endswith(b"\r\n\r\n")  # no body
    assert peak < 1024 * 1024


# Validators, 304, ranges


async def test_validators_and_304(app: Roll, liveclient: LiveClient, root: Path) -> None:
    extensions.static(app, root=root, default_index="index.html")
    await app.startup()
    async with httpx.AsyncClient(base_url=liveclient.url) as http:
        first = await http.get("/static/")
        assert first.status_code == 200 and first.text == "<h1>home</h1>"
        assert first.headers["content-type"] == "text/html"
        etag, last_modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('"') and first.headers["accept-ranges"] == "bytes"
        assert last_modified == formatdate((root / "index.html").stat().st_mtime, usegmt=True)

        again = await http.get("/static/", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "content-length" not in again.headers
        weak = await http.get("/static/", headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        since = await http.get("/static/", headers={"If-Modified-Since": last_modified})
        assert since.status_code == 304
        head = await http.head("/static/", headers={"If-None-Match": etag})
        assert head.status_code == 304

        stale = await http.get("/static/", headers={"If-None-Match": '"other"'})
        assert stale.status_code == 200 and stale.text == "<h1>home</h1>"
        older = await http.get("/static/", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        assert older.status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
        both = await http.get(
            "/static/", headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}
        )
        assert both.status_code == 200
        bad_date = await http.get("/static/", headers={"If-Modified-Since": "yesterday"})
        assert bad_date.status_code == 200

        (root / "index.html").write_text("<h1>new home</h1>")
        os.utime(root / "index.html", (1, 1))
        changed = await http.get("/static/", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_ranges_with_curl(app: Roll, liveclient: LiveClient, root: Path) -> None:
    extensions.static(app, root=root)
    await app.startup()
    data = (root / "data.bin").read_bytes()
    url = f"{liveclient.url}/static/data.bin"

    code, out, _ = await curl("-D", "-", "-r", "100-299", url)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206 Partial Content")
    assert b"Content-Range: bytes 100-299/1024000" in head.split(b"\r\n")
    assert b"Content-Length: 200" in head.split(b"\r\n")
    assert body == data[100:300]

    code, out, _ = await curl("-r", "-1000", url)  # the last 1000 bytes
    assert out == data[-1000:]
    code, out, _ = await curl("-r", "1000-", url)  # from byte 1000, streamed (over SMALL_FILE)
    assert out == data[1000:]
    code, out, _ = await curl("-r", "1023990-2000000", url)  # clipped to the end
    assert out == data[1023990:]

    code, out, _ = await curl("-D", "-", "-r", "2000000-", url)
    assert out.startswith(b"HTTP/1.1 416 Requested Range Not Satisfiable")
    assert b"Content-Range: bytes */1024000\r\n" in out

    code, out, _ = await curl("-D", "-", "-r", "0-9,20-29", url)  # several ranges: the whole file
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and body == data


async def test_if_range(app: Roll, liveclient: LiveClient, root: Path) -> None:
    extensions.static(app, root=root)
    await app.startup()
    data = (root / "data.bin").read_bytes()
    async with httpx.AsyncClient(base_url=liveclient.url) as http:
        etag = (await http.head("/static/data.bin")).headers["etag"]
        same = await http.get("/static/data.bin", headers={"Range": "bytes=0-9", "If-Range": etag})
        assert same.status_code == 206 and same.content == data[:10]
        other = await http.get("/static/data.bin", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
        assert other.status_code == 200 and other.content == data
        # A HEAD ignores Range: same headers as the whole GET.
        head = await http.head("/static/data.bin", headers={"Range": "bytes=0-9"})
        assert head.status_code == 200 and head.headers["content-length"] == str(len(data))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 1)),
        ("bytes=5-", (5, 5)),
        ("bytes=-3", (7, 3)),
        ("bytes=-30", (0, 10)),
        ("BYTES=2-4", (2, 3)),
        ("bytes=10-", (-1, -1)),
        ("bytes=-0", (-1, -1)),
        ("bytes=4-2", None),
        ("bytes=a-b", None),
        ("bytes=-", None),
        ("items=0-1", None),
        ("bytes=0-1,3-4", None),
    ],
)
def test_byte_range(header: str, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 10) == expected


# serve_file in a handler


async def test_serve_file_download_with_curl(
    app: Roll, liveclient: LiveClient, root: Path, tmp_path: Path
) -> None:
    @app.route("/report/{name}")
    async def report(request: Request, response: Response, name: str) -> None:
        serve_file(request, response, root / "data.bin", content_type="application/pdf",
                   filename=f"rapport {name}.pdf")

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-O", "-J", f"{liveclient.url}/report/%C3%A9t%C3%A9", cwd=downloads
    )
    assert await process.wait() == 0
    saved = list(downloads.iterdir())
    assert [path.name for path in saved] == ["rapport _t_.pdf"]  # curl takes the ASCII fallback
    assert saved[0].read_bytes() == (root / "data.bin").read_bytes()

    async with httpx.AsyncClient(base_url=liveclient.url) as http:
        response = await http.get("/report/plain")
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == 'attachment; filename="rapport plain.pdf"'
        response = await http.get("/report/%C3%A9t%C3%A9")
        assert response.headers["content-disposition"] == (
            "attachment; filename=\"rapport _t_.pdf\"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf"
        )


async def test_serve_file_missing_or_directory_is_404(
    app: Roll, liveclient: LiveClient, root: Path
) -> None:
    @app.route("/file/{name}")
    async def file(request: Request, response: Response, name: str) -> None:
        serve_file(request, response, root / name)

    (root / "dir").mkdir()
    for name in ("nothing", "dir"):
        response = await liveclient.query("GET", f"/file/{name}")
        assert response.status == HTTPStatus.NOT_FOUND
        assert response.body == b"Not Found"
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_file_changed_while_streaming_cuts_the_connection(
    app: Roll, liveclient: LiveClient, root: Path
) -> None:
    """The headers announced a size and a version: a file replaced since cannot honour them."""

    @app.route("/changing")
    async def changing(request: Request, response: Response) -> None:
        serve_file(request, response, root / "big.bin")
        (root / "big.bin").write_bytes(b"short")

    answer = await raw(liveclient.port, b"GET /changing HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % BIG in head.split(b"\r\n")
    assert len(body) < BIG  # cut, and the connection closed (read() returned)


# The protocol: a streamed body with a Content-Length goes without chunked framing


async def test_stream_with_content_length_is_not_chunked(app: Roll, liveclient: LiveClient) -> None:
    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def parts() -> AsyncIterator[bytes]:
            yield b"hello "
            yield b"world"

        response.headers["Content-Length"] = "11"
        response.body = parts()

    async with httpx.AsyncClient(base_url=liveclient.url) as http:
        for _ in range(2):  # the connection is kept alive and stays in sync
            response = await http.get("/stream")
            assert response.content == b"hello world"
            assert "transfer-encoding" not in response.headers


@pytest.mark.parametrize("parts", [[b"short"], [b"far too long", b"!"]])
async def test_stream_not_matching_its_content_length_closes(
    app: Roll, liveclient: LiveClient, parts: list[bytes]
) -> None:
    @app.route("/stream")
    async def stream(request: Request, response: Response) -> None:
        async def body() -> AsyncIterator[bytes]:
            for part in parts:
                yield part

        response.headers["Content-Length"] = "10"
        response.body = body()

    answer = await raw(liveclient.port, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200") == 1  # closed after the first: nothing out of sync
    assert len(answer.partition(b"\r\n\r\n")[2]) < 10


async def test_file_body_opens_lazily(root: Path) -> None:
    body = FileBody(root / "data.bin", 10, 300_000, chunk_size=100_000)
    assert body._fd is None
    chunks = [chunk async for chunk in body]
    assert [len(chunk) for chunk in chunks] == [100_000, 100_000, 100_000]
    assert b"".join(chunks) == (root / "data.bin").read_bytes()[10:300_010]
    assert body._fd is None  # closed at the end
    unread = FileBody(root / "data.bin", 0, 10)
    await unread.aclose()
    assert unread._fd is None
