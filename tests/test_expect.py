"""`Expect: 100-continue` over a real socket, and with curl (which sends it above 1 MiB)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from hardening_helpers import connect, get, read_reply, read_until_closed

from roll import Request, Response, Roll
from roll.testing import LiveClient, read_responses

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@pytest.fixture
def app() -> Roll:
    app = Roll()
    app["started"] = asyncio.Event()
    app["go"] = asyncio.Event()

    @app.route("/upload", methods=["POST"], max_body_size=16 * 1024 * 1024)
    async def upload(request: Request, response: Response) -> None:
        response.body = str(len(request.body))

    @app.route("/lazy", methods=["POST"], lazy_body=True)
    async def lazy(request: Request, response: Response) -> None:
        app["started"].set()
        await app["go"].wait()
        response.body = str(len(await request.read()))

    @app.route("/refuse", methods=["POST"], lazy_body=True)
    async def refuse(request: Request, response: Response) -> None:
        response.status = 403
        response.body = "no"

    @app.route("/slow")
    async def slow(request: Request, response: Response) -> None:
        await asyncio.sleep(0.3)
        response.body = "slow"

    return app


def post(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
        f"Expect: 100-continue\r\n{extra}\r\n"
    ).encode()


async def read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(size), 5)


async def test_100_continue_then_the_body(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(post("/upload", 5))
        assert await read_exactly(reader, len(CONTINUE)) == CONTINUE
        writer.write(b"hello")
        reply = await read_reply(reader)
        assert (reply.status, reply.body) == (200, b"5")
        writer.write(get("/slow"))  # the connection is still usable
        assert (await read_reply(reader)).body == b"slow"
    finally:
        writer.close()


async def test_lazy_body_gets_100_when_the_handler_reads(app: Roll, liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(post("/lazy", 3))
        await asyncio.wait_for(app["started"].wait(), 5)
        with pytest.raises(TimeoutError):  # not before the handler reads
            await asyncio.wait_for(reader.read(1), 0.2)
        app["go"].set()
        assert await read_exactly(reader, len(CONTINUE)) == CONTINUE
        writer.write(b"abc")
        assert (await read_reply(reader)).body == b"3"
    finally:
        writer.close()


@pytest.mark.parametrize(
    "head, status",
    [
        (post("/missing", 10), 404),
        (post("/slow", 10), 405),
        (post("/refuse", 10), 403),
        (post("/upload", 20 * 1024 * 1024), 413),
    ],
    ids=["404", "405", "handler does not read", "413"],
)
async def test_final_status_at_once_without_the_body(
    liveclient: LiveClient, head: bytes, status: int
) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(head)  # and never the body
        raw = await read_until_closed(reader, timeout=2)
    finally:
        writer.close()
    assert not raw.startswith(b"HTTP/1.1 100")
    [reply] = read_responses(raw)
    assert reply.status == status
    if status != 413:
        assert reply.headers["Connection"] == "close"


async def test_100_waits_for_the_responses_before_it(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(get("/slow") + post("/upload", 2))
        first = await asyncio.wait_for(reader.readuntil(b"slow"), 5)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        assert await read_exactly(reader, len(CONTINUE)) == CONTINUE
        writer.write(b"ok")
        assert (await read_reply(reader)).body == b"2"
    finally:
        writer.close()


async def test_http_1_0_expect_is_ignored(liveclient: LiveClient) -> None:
    reader, writer = await connect(liveclient.port)
    try:
        writer.write(
            b"POST /upload HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok"
        )
        raw = await read_until_closed(reader)
    finally:
        writer.close()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert raw.endswith(b"\r\n\r\n2")


async def curl_upload(url: str, path: Path, *extra: str) -> tuple[float, bytes, bytes]:
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-v", "--data-binary", f"@{path}", *extra, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err
    return time.perf_counter() - start, out, err


async def test_curl_upload_does_not_stall(liveclient: LiveClient, tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"x" * (2 * 1024 * 1024))  # curl sends Expect above 1 MiB
    elapsed, out, err = await curl_upload(f"{liveclient.url}/upload", path)
    assert b"Expect: 100-continue" in err
    assert b"< HTTP/1.1 100 Continue" in err
    assert out == str(2 * 1024 * 1024).encode()
    # Before: curl waited its 1 s for a 100 that never came.
    assert elapsed < 0.9, elapsed
