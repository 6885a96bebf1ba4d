"""roll.wire: the protocol's byte work, bytes in, bytes out (no connection, no loop)."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from roll import HttpError
from roll.wire import (
    BODYLESS_STATUSES,
    CONTINUE,
    INVALID_HEAD,
    LAST_CHUNK,
    STATUS_LINES,
    absolute_authority,
    body_bytes,
    body_length,
    check_transfer_coding,
    frame_chunk,
    item_bytes,
    serialize_head,
    split_target,
)


def test_status_lines_are_the_standard_phrases() -> None:
    assert STATUS_LINES[200] == b"HTTP/1.1 200 OK\r\n"
    assert STATUS_LINES[418] == b"HTTP/1.1 418 I'm a Teapot\r\n"
    assert STATUS_LINES[503] == b"HTTP/1.1 503 Service Unavailable\r\n"
    assert BODYLESS_STATUSES == {204, 304}
    assert CONTINUE == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_the_invalid_head_answer_is_a_whole_500() -> None:
    head, _, body = INVALID_HEAD.partition(b"\r\n\r\n")
    assert head == b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21"
    assert len(body) == 21


def test_serialize_head() -> None:
    head = serialize_head(STATUS_LINES[201], {"Content-Length": "2", "X-A": "é"}, ["a=b; Path=/"])
    assert head == (
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: \xc3\xa9\r\nSet-Cookie: a=b; Path=/\r\n\r\n"
    )
    assert serialize_head(STATUS_LINES[204], {}) == b"HTTP/1.1 204 No Content\r\n\r\n"


@pytest.mark.parametrize(
    "headers, cookies",
    [
        ({"X-A": "a\r\nX-Injected: 1"}, []),
        ({"X-A": "a\nb"}, []),
        ({"X-A": "a\rb"}, []),
        ({"X-A\r\nB": "c"}, []),
        ({}, ["a=b\r\nX-Injected: 1"]),
    ],
)
def test_serialize_head_refuses_a_line_break(headers: dict[str, str], cookies: list[str]) -> None:
    with pytest.raises(ValueError, match="Line break"):
        serialize_head(STATUS_LINES[200], headers, cookies)


class Stream:
    def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError


def test_body_bytes() -> None:
    assert body_bytes(b"ab") == b"ab"
    assert body_bytes("é") == b"\xc3\xa9"
    assert body_bytes(12) == b"12"
    assert body_bytes(None) == b"None"  # as Roll: str() of anything else
    assert body_bytes(Stream()) is None
    assert body_length("é") == 2
    assert body_length(Stream()) is None


def test_item_bytes_and_chunk_framing() -> None:
    assert item_bytes(b"x") == b"x"
    assert item_bytes("é") == b"\xc3\xa9"
    assert item_bytes(3.5) == b"3.5"
    assert frame_chunk(b"hello") == b"5\r\nhello\r\n"
    assert frame_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert LAST_CHUNK == b"0\r\n\r\n"


@pytest.mark.parametrize(
    "target, expected",
    [
        (b"/", ("/", "")),
        (b"/a%20b?x=1&y=%C3%A9", ("/a b", "x=1&y=%C3%A9")),  # the query stays encoded
        (b"/a#frag", ("/a", "")),
        (b"/a?x=1#frag", ("/a", "x=1")),
        (b"http://example.com/p?q=1", ("/p", "q=1")),
        (b"http://example.com", ("/", "")),
        (b"*", ("*", "")),
    ],
)
def test_split_target(target: bytes, expected: tuple[str, str]) -> None:
    assert split_target(target) == expected


@pytest.mark.parametrize("target", [b"/%FF", b"/?q=\xff"])
def test_split_target_refuses_what_is_not_utf8(target: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        split_target(target)


def test_split_target_decodes_the_path() -> None:
    assert split_target(b"/foo%2Bbar")[0] == "/foo+bar"
    assert split_target(b"/caf%C3%A9")[0] == "/café"
    assert split_target(b"/caf\xc3\xa9")[0] == "/café"


@pytest.mark.parametrize(
    "target, expected",
    [
        (b"/path", None),
        (b"http://example.com:8080/p", "example.com:8080"),
        (b"http://user:pw@example.com?q", "example.com"),
        (b"/redirect?to=http://x", None),
    ],
)
def test_absolute_authority(target: bytes, expected: str | None) -> None:
    assert absolute_authority(target) == expected


def test_absolute_authority_without_a_host() -> None:
    with pytest.raises(HttpError) as raised:
        absolute_authority(b"http:///path")
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "value, version, status",
    [
        ("chunked", "1.0", 400),
        ("gzip", "1.1", 400),
        ("chunked, chunked", "1.1", 400),
        ("gzip, chunked", "1.1", 501),
    ],
)
def test_check_transfer_coding_refuses(value: str, version: str, status: int) -> None:
    with pytest.raises(HttpError) as raised:
        check_transfer_coding(value, version)
    assert raised.value.status == status


@pytest.mark.parametrize("value", ["chunked", "Chunked", "CHUNKED"])
def test_check_transfer_coding_accepts_chunked(value: str) -> None:
    check_transfer_coding(value, "1.1")  # raises when refused


def test_header_keys_are_what_decoding_gives() -> None:
    """The table of common header names is a shortcut, never a different answer."""
    from roll.wire import HEADER_KEYS

    assert len(HEADER_KEYS) > 50
    for name, key in HEADER_KEYS.items():
        assert key == name.decode("latin-1").upper()
    assert HEADER_KEYS[b"user-agent"] == HEADER_KEYS[b"User-Agent"] == "USER-AGENT"
