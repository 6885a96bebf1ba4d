"""The example app's OpenAPI document, checked by outside tools against a live server.

- openapi-spec-validator validates the document;
- a snapshot (tests/typed/openapi_example.json) shows every change to it. After an
  intended change, regenerate it with:

      .venv/bin/python -m roll openapi examples.typed_app:app > tests/typed/openapi_example.json

- schemathesis fuzzes the live server (seeded, bounded) with its checks for server
  errors, status codes, content types, response schemas and headers;
- headless Chromium opens the docs page and renders every operation, loading
  nothing from another host.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import browser_dom
from openapi_spec_validator import validate

from examples.typed_app import app as example_app
from roll.typed import openapi_schema

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).with_name("openapi_example.json")
REGENERATE = (
    ".venv/bin/python -m roll openapi examples.typed_app:app > tests/typed/openapi_example.json"
)
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)

def example_document() -> dict[str, Any]:
    return openapi_schema(
        example_app, title="Roll typed shop", version="1.0.0", description="`examples/typed_app.py`"
    )


def test_the_document_is_valid_openapi() -> None:
    validate(example_document())


def test_the_document_matches_the_snapshot() -> None:
    expected = SNAPSHOT.read_text()
    actual = json.dumps(example_document(), indent=2, ensure_ascii=False) + "\n"
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), "snapshot", "document"
            )
        )
        pytest.fail(f"The OpenAPI document changed; if intended, run:\n    {REGENERATE}\n{diff}")


def test_the_cli_prints_the_snapshot() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "roll", "openapi", "examples.typed_app:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert printed == SNAPSHOT.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The example app served by `python -m roll` on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "roll", "examples.typed_app:app", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the example server did not start: {process.stderr}")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


# With credentials the handlers are reached; without, every 401 (and its
# WWW-Authenticate header) is checked against the document.
CREDENTIALS = ["-H", "Authorization: Bearer ann", "-H", "X-API-Key: staff"]


@pytest.mark.parametrize("credentials", [CREDENTIALS, []], ids=["credentials", "anonymous"])
def test_schemathesis_finds_no_failure(server: str, tmp_path: Path, credentials: list[str]) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server}/openapi.json",
        "--checks", CHECKS,
        "--seed", "20261202",
        "--max-examples", "25",
        "--workers", "1",
        "--generation-database", "none",
        "--no-color",
        "--request-timeout", "5",
        *credentials,
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=55, env=os.environ.copy()
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None, output
    generated, passed = map(int, summary.groups())
    assert generated == passed > 100, output
    assert "Tested: 11" in output, output  # every operation of the example


# Chromium's own services (network time, component updates, accounts), which it
# calls whatever the page: not the page's requests.
BROWSER_SERVICES = re.compile(r"^\S+ (?:https?://)?[^/\s]*\b(?:google\.com|googleapis\.com|gvt1\.com)[:/\s]")


def browser_service(request_line: str) -> bool:
    return bool(BROWSER_SERVICES.match(request_line))


class ProxyLog:
    """A proxy that answers nothing and records what the browser asked it
    for: with it set, every request to a host other than loopback lands here."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        self.requests.append(line.decode(errors="replace").strip())
        writer.close()


async def test_the_docs_page_renders_every_operation(server: str, tmp_path: Path) -> None:
    proxy = ProxyLog()
    proxy_server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy_port = proxy_server.sockets[0].getsockname()[1]
    async with proxy_server:
        dom, _ = await browser_dom(
            f"{server}/",  # redirected to /docs
            tmp_path / "profile",
            f"--proxy-server=http://127.0.0.1:{proxy_port}",
            budget=15000,
        )
    document = json.loads(SNAPSHOT.read_text())
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    rendered = re.findall(r'class="opblock-summary-method">([A-Z]+)<', dom)
    assert len(rendered) == len(operations), dom[:2000]
    for path, method, operation in operations:
        assert f'data-path="{path}"' in dom, path
        assert re.search(rf'href="#/[^"/]+/{re.escape(operation["operationId"])}"', dom), operation
    # Everything the page loads is the app's own.
    for url in re.findall(r'(?:src|href)="([^"]*)"', dom):
        assert url.startswith(("/", "#")), url
    assert [line for line in proxy.requests if not browser_service(line)] == []
