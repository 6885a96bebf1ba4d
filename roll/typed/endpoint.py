"""Endpoints: the plain `(request, response, **vars)` coroutines the core calls.

An endpoint runs its plan (collecting every problem), calls the typed
handler with keyword arguments and renders what it returns. Two endpoints
implement this one contract: the common case, a plan without dependencies,
is compiled to straight-line code (`compile_endpoint`); any other plan runs
through the general one (`make_full_endpoint`). The tests run on both
(`FORCE_GENERAL`). A websocket route's endpoint is its `prepare` (the
parameters, before the 101), then the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, NoReturn

from roll import Request, Response, WSProtocol
from roll.request import ClientDisconnected
from roll.response import JSON_CONTENT_TYPE

from .dependencies import Scope, resolve
from .errors import Invalid, InvalidRequest, Problem
from .plan import Plan, qualname
from .websocket import close_invalid

Handler = Callable[..., Awaitable[Any]]
Prepare = Callable[..., Awaitable[Handler]]

# For the tests only: every HTTP endpoint built while it is true is the
# general one, so that the endpoint tests run on both paths.
FORCE_GENERAL = False


def reject(response: Response, problems: list[Problem]) -> NoReturn:
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
    if websocket:
        return websocket_endpoint(make_prepare(call, plan))
    if plan.dependencies or plan.guards or plan.extra_vars or load_body or FORCE_GENERAL:
        return make_full_endpoint(call, plan, status, load_body)
    return compile_endpoint(call, plan, status)


def websocket_endpoint(prepare: Prepare) -> Handler:
    """The core awaits `endpoint.prepare` before the 101, then runs what it
    returns; called directly, the endpoint does the same."""

    async def endpoint(request: Request, ws: WSProtocol, **vars: str) -> None:
        run = await prepare(request, ws, **vars)
        await run(request, ws, **vars)

    endpoint.prepare = prepare  # type: ignore[attr-defined]
    return endpoint


def make_prepare(call: Handler, plan: Plan) -> Prepare:
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

    async def prepare(request: Request, ws: WSProtocol, **vars: str) -> Handler:
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

        async def run(request: Request, ws: WSProtocol, **vars: str) -> None:
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


def collector(plan: Plan) -> Callable[[Request, Response, dict[str, str]], list[Problem]]:
    """Run every extractor and gather all the problems (the failure path)."""
    extractors = plan.extractors

    def collect(request: Request, response: Response, vars: dict[str, str]) -> list[Problem]:
        problems: list[Problem] = []
        for _, extract in extractors:
            try:
                extract(request, response, vars)
            except Invalid as error:
                problems.extend(error.problems)
        return problems

    return collect


def compile_endpoint(call: Handler, plan: Plan, status: int | None) -> Handler:
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
        "        reject(response, collect(request, response, vars) or error.problems)",
    ]
    if status is not None:
        lines.append("    response.status = status")
    arguments = ", ".join(f"{name}=v{index}" for index, name in enumerate(names))
    lines += [
        "    try:",
        f"        result = await call({arguments})",
        "    except InvalidRequest:",
        "        response.headers['Content-Type'] = JSON_CONTENT_TYPE",
        "        raise",
        "    if result is not None:",
        "        render(response, result)",
    ]
    exec(compile("\n".join(lines), f"<roll.typed endpoint {qualname(call)}>", "exec"), namespace)
    endpoint: Handler = namespace["endpoint"]
    return endpoint


def make_full_endpoint(call: Handler, plan: Plan, status: int | None, load_body: bool) -> Handler:
    """Any plan: dependencies (their scope, their cleanup), guards, `**kwargs`."""
    render = plan.render

    async def endpoint(request: Request, response: Response, **vars: str) -> None:
        if load_body:
            await request.load_body()
        scope = Scope()
        try:
            try:
                kwargs = await resolve(plan, request, response, vars, scope)
            except Invalid as error:
                reject(response, error.problems)
            if status is not None:
                response.status = status
            result = await call(**kwargs)
            if result is not None:
                render(response, result)
        except BaseException as error:
            if isinstance(error, InvalidRequest):
                response.headers["Content-Type"] = JSON_CONTENT_TYPE
            await scope.close(error)
            raise
        if scope.exits:  # a streamed body may still use what they provide
            scope.close_once_sent(request, response)

    return endpoint
