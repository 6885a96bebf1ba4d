"""The pytest plugin in a new project: no pytest configuration at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from roll import Roll
from roll.testing import Client

PROJECT_APP = '''
from roll.typed import TypedRoll

app = TypedRoll()


@app.route("/hello/{name}")
async def hello(name: str, excited: bool = False) -> dict[str, str]:
    return {"hello": name + ("!" if excited else "")}
'''

PROJECT_TESTS = '''
import pytest

from project_app import app as the_app


@pytest.fixture
def app():
    return the_app


async def test_hello(client):
    response = await client.get("/hello/ann?excited=yes")
    assert response.status == 200
    assert response.json() == {"hello": "ann!"}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_live(liveclient):
    response = await liveclient.query("GET", "/hello/bob")
    assert response.json() == {"hello": "bob"}
'''


def test_async_tests_run_without_configuration(tmp_path: Path) -> None:
    (tmp_path / "project_app.py").write_text(PROJECT_APP)
    (tmp_path / "test_project.py").write_text(PROJECT_TESTS)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "not natively supported" not in result.stdout


async def test_client_response_is_easy_to_assert_on() -> None:
    app = Roll()

    @app.route("/json")
    async def as_json(request: object, response: object) -> None:
        response.json = {"a": [1, "é"]}  # type: ignore[attr-defined]

    @app.route("/latin")
    async def latin(request: object, response: object) -> None:
        response.headers["Content-Type"] = "text/plain; charset=latin-1"  # type: ignore[attr-defined]
        response.body = "café".encode("latin-1")  # type: ignore[attr-defined]

    client = Client(app)
    response = await client.get("/json")
    assert response.status == 200
    assert response.json() == {"a": [1, "é"]}
    assert response.body == b'{"a": [1, "\\u00e9"]}'
    assert response.content_type == "application/json; charset=utf-8"
    assert response.response.status == 200  # the app's own Response object
    assert repr(response) == "<ClientResponse 200 b'{\"a\": [1, \"\\\\u00e9\"]}'>"
    decoded = await client.get("/latin")
    assert decoded.text == "café"
    missing = await client.get("/nope")
    assert (missing.status, missing.text) == (404, "/nope")
