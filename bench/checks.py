"""Correctness checks run before timing: a wrong answer is a failure."""

from __future__ import annotations

import http.client
import json
import math

from .config import HOST, Check, Endpoint


class CheckFailed(Exception):
    pass


def same(got: object, expected: object) -> bool:
    """JSON equality, with a tolerance on floats and bool/int kept apart."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return got is expected
    if isinstance(expected, float) or isinstance(got, float):
        return isinstance(got, (int, float)) and isinstance(expected, (int, float)) and math.isclose(got, expected, rel_tol=1e-9)
    if isinstance(expected, dict):
        return isinstance(got, dict) and got.keys() == expected.keys() and all(same(got[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(same, got, expected))
    return type(got) is type(expected) and got == expected


def _request(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def check_endpoint(port: int, endpoint: Endpoint) -> None:
    """Raise CheckFailed unless the endpoint answers as specified."""
    try:
        status, headers, body = _request(port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers)
    except (OSError, http.client.HTTPException) as error:
        raise CheckFailed(f"request failed: {error!r}") from error
    if status != 200:
        raise CheckFailed(f"status {status}, expected 200; body {body[:200]!r}")
    try:
        got = json.loads(body)
    except ValueError as error:
        raise CheckFailed(f"body is not JSON: {body[:200]!r}") from error
    if not same(got, endpoint.expected):
        raise CheckFailed(f"JSON {got!r}, expected {endpoint.expected!r}")
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if "json" not in content_type:
        raise CheckFailed(f"Content-Type {content_type!r} is not JSON")
    if endpoint.set_cookie is not None:
        cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        if not any(c.startswith(endpoint.set_cookie) for c in cookies):
            raise CheckFailed(f"no Set-Cookie {endpoint.set_cookie!r} (got {cookies!r})")
    for invalid in endpoint.invalid:
        _check_rejected(port, invalid)


def _check_rejected(port: int, check: Check) -> None:
    try:
        status, _, body = _request(port, check.method, check.path, check.body, check.headers)
    except (OSError, http.client.HTTPException) as error:
        raise CheckFailed(f"invalid request {check.path} failed: {error!r}") from error
    if not 400 <= status < 500:
        raise CheckFailed(f"invalid request {check.method} {check.path} got {status}, expected 4xx; body {body[:200]!r}")
