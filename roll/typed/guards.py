"""Route dependencies (`dependencies=[Depends(f)]`) in front of a plain Roll handler.

Typed endpoints run them with their other parameters (`Plan.guards`); a
plain `(request, response, **vars)` handler gets this wrapper instead: the
same resolution (one 400 for all problems, an `HttpError` answered as is,
generator providers finished after the response), then the handler.
"""

from __future__ import annotations

import functools
from typing import Any

from roll.response import JSON_CONTENT_TYPE

from .dependencies import Scope, resolve
from .endpoint import Handler, reject
from .errors import Invalid, InvalidRequest
from .plan import Plan


def guarded(handler: Handler, plan: Plan) -> Handler:
    load_body = plan.reads_body

    @functools.wraps(handler)
    async def endpoint(request: Any, response: Any, **vars: str) -> None:
        if load_body:
            await request.load_body()
        scope = Scope()
        try:
            try:
                await resolve(plan, request, response, vars, scope)
            except Invalid as error:
                reject(response, error.problems)
            await handler(request, response, **vars)
        except BaseException as error:
            if isinstance(error, InvalidRequest):
                response.headers["Content-Type"] = JSON_CONTENT_TYPE
            await scope.close(error)
            raise
        if scope.exits:
            scope.close_once_sent(request, response)

    return endpoint
