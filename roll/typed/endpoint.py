"""Endpoints: the plain `(request, response, **vars)` coroutines the core calls.

An endpoint runs its plan (collecting every problem), calls the typed
handler with keyword arguments and renders what it returns. The common case,
a plan without dependencies, runs a flat loop over pre-bound extractors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, NoReturn

from roll.request import ClientDisconnected
from roll.response import JSON_CONTENT_TYPE

from .dependencies import Scope, resolve
from .errors import Invalid, InvalidRequest, Problem
from .plan import Plan, qualname
from .websocket import close_invalid

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
    if plan.dependencies or plan.guards or plan.extra_vars or load_body:
        endpoint = make_full_endpoint(call, plan, status, load_body, websocket)
    else:
        endpoint = compile_endpoint(call, plan, status, websocket)
    if websocket:
        endpoint.prepare = make_prepare(call, plan)  # type: ignore[attr-defined]
    return endpoint


def make_prepare(call: Handler, plan: Plan) -> Callable[..., Awaitable[Handler]]:
    """For a websocket route: resolve the parameters before the 101.

    The core's `WSProtocol.admit` awaits `prepare(request, ws, **vars)` before
    accepting the upgrade: invalid input raises the JSON 400 (no upgrade).
    It returns what the core runs once the connection is open: the handler,
    called with the values already resolved. Generator providers entered
    here are finished when the handler returns (the error thrown in if it
    fails), or, if it never runs (the client left during the handshake, a
    `websocket_connect` listener failed), when the connection is over, with
    `ClientDisconnected` thrown in. An `InvalidRequest` escaping the handler
    (an invalid message) closes the connection with 1007.
    """

    async def prepare(request: Any, ws: Any, **vars: str) -> Handler:
        scope = Scope()
        try:
            try:
                kwargs = await resolve(plan, request, ws, vars, scope)
            except Invalid as error:
                reject(ws.response, error.problems)
        except BaseException as error:
            await scope.close(error)
            raise
        if scope.exits:
            request.after_response(partial(scope.close_after_response, ClientDisconnected()))

        async def run(request: Any, ws: Any, **vars: str) -> None:
            try:
                await call(**kwargs)
            except InvalidRequest as error:  # an invalid message: close 1007
                await scope.close(error)
                await close_invalid(ws, error)
                return
            except BaseException as error:
                await scope.close(error)
                raise
            await scope.close(None)

        return run

    return prepare


def collector(plan: Plan) -> Callable[[Any, Any, dict[str, str]], list[Problem]]:
    """Run every extractor and gather all the problems (the failure path)."""
    extractors = plan.extractors

    def collect(request: Any, response: Any, vars: dict[str, str]) -> list[Problem]:
        problems: list[Problem] = []
        for _, extract in extractors:
            try:
                extract(request, response, vars)
            except Invalid as error:
                problems.extend(error.problems)
        return problems

    return collect


def compile_endpoint(call: Handler, plan: Plan, status: int | None, websocket: bool) -> Handler:
    """A plan without dependencies, compiled to straight-line code.

    Extractors run in one `try` block (free when nothing fails), values go to
    locals and the handler gets them as keywords: no loop, no dict. Only on
    failure does `collect` run every extractor again to report all problems.
    """
    names = [name for name, _ in plan.extractors]
    namespace: dict[str, Any] = {
        "call": call,
        "collect": collector(plan),
        "reject": reject,
        "render": plan.render,
        "status": status,
        "websocket": websocket,
        "Invalid": Invalid,
        "InvalidRequest": InvalidRequest,
        "JSON_CONTENT_TYPE": JSON_CONTENT_TYPE,
    }
    lines = ["async def endpoint(request, response, **vars):", "    try:"]
    for index, (_, extract) in enumerate(plan.extractors):
        namespace[f"x{index}"] = extract
        lines.append(f"        v{index} = x{index}(request, response, vars)")
    if not names:
        lines.append("        pass")
    lines += [
        "    except Invalid as error:",
        # Never an empty list, even if the second run does not fail again.
        "        reject(response, collect(request, response, vars) or error.problems, websocket)",
    ]
    if status is not None:
        lines.append("    response.status = status")
    arguments = ", ".join(f"{name}=v{index}" for index, name in enumerate(names))
    lines += ["    try:", f"        result = await call({arguments})", "    except InvalidRequest:"]
    if not websocket:
        lines.append("        response.headers['Content-Type'] = JSON_CONTENT_TYPE")
    lines.append("        raise")
    if not websocket:
        lines += ["    if result is not None:", "        render(response, result)"]
    exec(compile("\n".join(lines), f"<roll.typed endpoint {qualname(call)}>", "exec"), namespace)
    endpoint: Handler = namespace["endpoint"]
    return endpoint


def make_full_endpoint(
    call: Handler, plan: Plan, status: int | None, load_body: bool, websocket: bool
) -> Handler:
    render = plan.render

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
            if not websocket:
                if isinstance(error, InvalidRequest):
                    response.headers["Content-Type"] = JSON_CONTENT_TYPE
            await scope.close(error)
            raise
        if scope.exits:
            if websocket:  # the connection is over
                await scope.close(None)
            else:  # a streamed body may still use what they provide
                scope.close_once_sent(request, response)

    return endpoint
