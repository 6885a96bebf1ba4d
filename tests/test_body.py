"""roll.body.BodyStream, and that only a request with a body gets one."""

from __future__ import annotations

import asyncio

import pytest

from roll import Request, Response, Roll
from roll.body import BodyStream
from roll.testing import open_protocol


async def test_feed_take_and_back_pressure() -> None:
    stream = BodyStream(high_water=4)
    assert stream.feed(b"abc") is False
    assert stream.feed(b"de") is True  # 5 bytes waiting > 4: the reader should pause
    assert stream.buffered == 5
    assert stream.pop() == b"abc"
    assert stream.buffered == 2
    stream.loading = True  # read whole: no pause
    assert stream.feed(b"fghij") is False
    assert stream.take() == b"defghij"
    assert (stream.buffered, list(stream.chunks)) == (0, [])


async def test_wait_wakes_on_chunk_end_and_error() -> None:
    stream = BodyStream(high_water=1024)
    waiting = asyncio.ensure_future(stream.wait())
    await asyncio.sleep(0)
    stream.feed(b"x")
    await asyncio.wait_for(waiting, 1)
    waiting = asyncio.ensure_future(stream.wait())
    await asyncio.sleep(0)
    stream.finish()
    await asyncio.wait_for(waiting, 1)
    assert stream.complete
    stream.fail(ValueError())  # complete: nothing fails any more
    assert stream.error is None


async def test_discard_drops_what_comes() -> None:
    stream = BodyStream(high_water=1024)
    stream.feed(b"x")
    stream.discard()
    assert stream.feed(b"y") is False
    assert (stream.buffered, list(stream.chunks)) == (0, [])


async def test_only_a_request_with_a_body_has_a_stream(app: Roll) -> None:
    @app.route("/", methods=["GET", "POST"], lazy_body=True)
    async def handler(request: Request, response: Response) -> None:
        response.body = await request.read()

    for raw, has_stream in [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab", True),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", True),
    ]:
        protocol = open_protocol(app)
        protocol.data_received(raw)
        assert (protocol.request.body_stream is not None) is has_stream, raw
        assert protocol.task is not None
        await protocol.task
        assert protocol.response.status == 200


@pytest.mark.parametrize("body", [b"", b"abc"])
async def test_a_request_never_fed_reads_as_empty_or_loaded(body: bytes) -> None:
    request = Request(None, None)
    await request.load_body()
    assert request.body == b""
    assert request._chunk == b"" and request.buffered == 0
    request.body = body
    assert [chunk async for chunk in request] == ([body] if body else [])
