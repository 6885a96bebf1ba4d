"""Return values: what a typed handler returns becomes the response body.

None leaves the response alone; str is text; bytes is the raw body; an async
iterable (an async generator) is a streamed body, sent chunked; anything else
(pydantic model, dataclass, dict, list...) is JSON, serialised by pydantic-core
in one pass. A Content-Type already set by the handler is kept.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from roll.response import JSON_CONTENT_TYPE

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
RAW_TYPES = (bytes, bytearray, memoryview)


def render(response: Any, result: Any) -> None:
    cls = type(result)
    if cls is str:
        response.body = result
        content_type = TEXT_CONTENT_TYPE
    elif cls in RAW_TYPES:
        response.body = bytes(result)
        return
    else:
        try:
            # NaN and infinities are not JSON: null, as pydantic models do.
            response.body = to_json(result, inf_nan_mode="null")
        except PydanticSerializationError:
            if not hasattr(result, "__aiter__"):
                raise
            response.body = result  # streamed by the core (no cost on the JSON path)
            return
        content_type = JSON_CONTENT_TYPE
    headers = response.headers
    if "Content-Type" not in headers:
        headers["Content-Type"] = content_type
