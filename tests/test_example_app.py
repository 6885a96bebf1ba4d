from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from examples.app import app as example_app
from roll import Roll
from roll.testing import Client, LiveClient


@pytest.fixture
def app() -> Roll:
    example_app["notes"].clear()
    return example_app


async def test_home(client: Client) -> None:
    response = await client.get("/")
    assert response.status == HTTPStatus.OK
    assert b"Hello from Roll" in response.body


async def test_hello_with_query_bool(client: Client) -> None:
    assert (await client.get("/hello/you")).body == b"Hello you!"
    assert (await client.get("/hello/you?loud=yes")).body == b"HELLO YOU!"
    bad = await client.get("/hello/you?loud=maybe")
    assert bad.status == HTTPStatus.BAD_REQUEST
    assert b"loud" in bad.body


async def test_notes_roundtrip(client: Client) -> None:
    created = await client.post("/notes", {"text": "buy milk"})
    assert created.status == HTTPStatus.CREATED
    assert json.loads(created.body) == {"id": 1, "text": "buy milk"}
    listed = await client.get("/notes")
    assert json.loads(listed.body) == [{"id": 1, "text": "buy milk"}]
    one = await client.get("/notes/1")
    assert json.loads(one.body) == {"id": 1, "text": "buy milk"}
    deleted = await client.delete("/notes/1")
    assert deleted.status == HTTPStatus.NO_CONTENT
    assert (await client.get("/notes/1")).status == HTTPStatus.NOT_FOUND


async def test_note_needs_text(client: Client) -> None:
    response = await client.post("/notes", {"text": ""})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert (await client.post("/notes", body=b"{not json")).status == HTTPStatus.BAD_REQUEST


async def test_form_note(client: Client) -> None:
    client.content_type = "application/x-www-form-urlencoded"
    response = await client.post("/notes", {"text": "from a form"})
    assert json.loads(response.body)["text"] == "from a form"


async def test_streamed_count_over_socket(liveclient: LiveClient) -> None:
    response = await liveclient.query("GET", "/count?to=3")
    assert response.status == HTTPStatus.OK
    assert response.body == b"0\n1\n2\n"
    assert response.chunks == [b"0\n", b"1\n", b"2\n"]
