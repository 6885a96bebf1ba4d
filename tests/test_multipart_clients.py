"""Multipart bodies as real clients send them (curl, aiohttp, raw latin-1 bytes), to a live server."""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from roll import Request, Response, Roll
from roll.testing import LiveClient


@pytest.fixture
def app() -> Roll:
    app = Roll()

    @app.route("/upload", methods=["POST"])
    async def upload(request: Request, response: Response) -> None:
        files: dict[str, Any] = {
            name: [[f.filename, f.content_type.decode(), f.read().decode("latin-1")] for f in uploads]
            for name, uploads in request.files.items()
        }
        response.json = {"form": request.form, "files": files}

    return app


async def test_curl_text_field_with_a_type_is_a_field(liveclient: LiveClient, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("file content")
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-F", "a=b;type=text/plain", "-F", "plain=value",
        "-F", f"doc=@{tmp_path / 'notes.txt'}", f"{liveclient.url}/upload",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert json.loads(out) == {
        "form": {"a": ["b"], "plain": ["value"]},
        "files": {"doc": [["notes.txt", "text/plain", "file content"]]},
    }


async def test_aiohttp_form_fields_are_fields(liveclient: LiveClient) -> None:
    form = aiohttp.FormData()
    form.add_field("name", "Zoé")  # aiohttp sends Content-Type: text/plain; charset=utf-8
    form.add_field("typed", "{}", content_type="application/json")
    form.add_field("upload", b"\x89PNG", filename="report.png", content_type="image/png")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{liveclient.url}/upload", data=form) as response:
            assert response.status == 200
            body = await response.json()
    assert body == {
        "form": {"name": ["Zoé"], "typed": ["{}"]},
        "files": {"upload": [["report.png", "image/png", "\x89PNG"]]},
    }


def multipart(disposition: bytes, extra: bytes = b"") -> bytes:
    return (
        b"--xx\r\nContent-Disposition: form-data; " + disposition + b"\r\n" + extra + b"\r\n"
        b"content\r\n--xx--\r\n"
    )


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        (b"name=\"f\"; filename*=iso-8859-1''caf\xe9-cr\xe8me.txt", "café-crème.txt"),
        (b"name=\"f\"; filename*=iso-8859-1''caf%E9.txt", "café.txt"),
        (b'name="f"; filename="caf\xe9.txt"', "café.txt"),  # raw latin-1, no charset said
        (b'name="f"; filename="caf\xc3\xa9.txt"', "café.txt"),  # raw UTF-8, as browsers send
        (b"name=\"f\"; filename*=utf-8''caf\xc3\xa9.txt", "café.txt"),
        (b"name=\"f\"; filename*=iso-8859-1''\xa0x.txt", "\xa0x.txt"),  # NBSP is no separator
        (b'name="f"; filename="say %22hi%22.txt"', 'say "hi".txt'),  # HTML's quoting of a quote
    ],
)
async def test_header_bytes_decoded_with_their_charset(
    liveclient: LiveClient, disposition: bytes, filename: str
) -> None:
    response = await liveclient.query(
        "POST", "/upload", headers={"Content-Type": "multipart/form-data; boundary=xx"},
        body=multipart(disposition, b"Content-Type: text/plain\r\n"),
    )
    assert response.status == HTTPStatus.OK, response.body
    assert json.loads(response.body)["files"] == {"f": [[filename, "text/plain", "content"]]}


async def test_latin1_field_name(liveclient: LiveClient) -> None:
    response = await liveclient.query(
        "POST", "/upload", headers={"Content-Type": "multipart/form-data; boundary=xx"},
        body=multipart(b'name="caf\xe9"'),
    )
    assert json.loads(response.body) == {"form": {"café": ["content"]}, "files": {}}


@pytest.mark.parametrize(
    "disposition",
    [b"name=\"f\"; filename*=utf-8''caf\xe9.txt", b"name=\"f\"; filename*=nope''x.txt"],
)
async def test_undecodable_with_the_declared_charset_is_400(
    liveclient: LiveClient, disposition: bytes
) -> None:
    response = await liveclient.query(
        "POST", "/upload", headers={"Content-Type": "multipart/form-data; boundary=xx"},
        body=multipart(disposition),
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.body == b"Unparsable multipart body"


@pytest.mark.parametrize("body", [b"--xx--\r\n", b"--xx--", b"preamble\r\n--xx--\r\n"])
async def test_body_without_any_part_is_unparsable(app: Roll, liveclient: LiveClient, body: bytes) -> None:
    @app.route("/form", methods=["POST"])
    async def form(request: Request, response: Response) -> None:
        response.json = request.form

    response = await liveclient.query(
        "POST", "/form", headers={"Content-Type": "multipart/form-data; boundary=xx"}, body=body
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.body == b"Unparsable multipart body"
