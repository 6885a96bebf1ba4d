"""Route dependencies (`dependencies=[Depends(f)]`) in front of a plain Roll handler.

Typed endpoints run them with their other parameters (`Plan.guards`); a
plain `(request, response, **vars)` handler runs through the same general
endpoint (one 400 for all problems, an `HttpError` answered as is,
generator providers finished after the response), its plan taking the
request, the response and the URL values for the handler's call.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from roll import Request, Response

from .endpoint import Handler, make_full_endpoint
from .extractors import Vars, take_request, take_response
from .plan import Extractor, Plan


def take_vars(request: object, response: object, vars: Vars) -> Vars:
    return vars


PLAIN_ARGUMENTS: tuple[tuple[str, Extractor], ...] = (
    ("request", take_request),
    ("response", take_response),
    ("vars", take_vars),
)


def guarded(handler: Handler, plan: Plan) -> Handler:
    """`handler` behind the guards of `plan` (a plan of guards only)."""

    async def call(request: Request, response: Response, vars: Vars) -> None:
        await handler(request, response, **vars)  # what it returns is Roll's to ignore

    plain = replace(plan, extractors=PLAIN_ARGUMENTS)
    return functools.wraps(handler)(make_full_endpoint(call, plain, None, plan.reads_body))
