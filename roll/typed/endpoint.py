"""Endpoints: the plain `(request, response, **vars)` coroutines the core calls.

An endpoint runs its plan (collecting every problem), calls the typed
handler with keyword arguments and renders what it returns. The common case,
a plan without dependencies, runs a flat loop over pre-bound extractors.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, NoReturn

from .dependencies import Scope, resolve
from .errors import JSON_CONTENT_TYPE, Invalid, InvalidRequest, Problem
from .plan import Plan
from .returns import render

Handler = Callable[..., Awaitable[Any]]


def reject(response: Any, problems: list[Problem], websocket: bool = False) -> NoReturn:
    if not websocket:  # `response` is the websocket otherwise
        response.headers["Content-Type"] = JSON_CONTENT_TYPE
    raise InvalidRequest(problems)


def make_endpoint(
    call: Handler,
    plan: Plan,
    *,
    status: int | None = None,
    load_body: bool = False,
    websocket: bool = False,
) -> Handler:
    """`call` is the typed handler (a function or a bound method)."""
    if plan.dependencies or plan.extra_vars or load_body:
        return make_full_endpoint(call, plan, status, load_body, websocket)
    extractors = plan.extractors

    async def endpoint(request: Any, response: Any, **vars: str) -> None:
        kwargs: dict[str, Any] = {}
        problems: list[Problem] | None = None
        for name, extract in extractors:
            try:
                kwargs[name] = extract(request, response, vars)
            except Invalid as error:
                problems = error.problems if problems is None else problems + error.problems
        if problems is not None:
            reject(response, problems, websocket)
        if status is not None:
            response.status = status
        try:
            result = await call(**kwargs)
        except InvalidRequest:
            if not websocket:
                response.headers["Content-Type"] = JSON_CONTENT_TYPE
            raise
        if result is not None and not websocket:
            render(response, result)

    return endpoint


def make_full_endpoint(
    call: Handler, plan: Plan, status: int | None, load_body: bool, websocket: bool
) -> Handler:
    async def endpoint(request: Any, response: Any, **vars: str) -> None:
        if load_body:
            await request.load_body()
        scope = Scope()
        try:
            try:
                kwargs = await resolve(plan, request, response, vars, scope)
            except Invalid as error:
                reject(response, error.problems, websocket)
            if status is not None:
                response.status = status
            result = await call(**kwargs)
            if result is not None and not websocket:
                render(response, result)
        except BaseException as error:
            if isinstance(error, InvalidRequest) and not websocket:
                response.headers["Content-Type"] = JSON_CONTENT_TYPE
            await scope.close(error)
            raise
        await scope.close(None)

    return endpoint
