"""Route definition checks of the typed layer: mistakes refused at registration.

The core keeps Roll's behaviour (a free-form extra is stored, a path is
autoroutes' business); `TypedRoll` refuses what can only be a mistake, with a
message saying what to write instead.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Iterable
from typing import Any

from roll.app import RouteRecord
from roll.http import HTTP_METHODS, STATUSES

from .errors import RouteDefinitionError
from .markers import Depends
from .plan import placeholders, qualname

# FastAPI keywords that would be stored silently as extras, and what to do instead.
FOREIGN_KEYWORDS = {
    "status_code": "use status=... (the success status of a typed handler)",
    "response_model": "annotate the handler's return type instead (-> Model)",
    "response_class": (
        "return str (text), bytes (raw) or a model (JSON), or set"
        " response.headers['Content-Type'] in the handler"
    ),
}
# autoroutes' named placeholder types; any other `{name:spec}` is a regex.
PLACEHOLDER_TYPES = frozenset(("alnum", "alpha", "digit", "path", "string"))
# Other frameworks' converters, read by autoroutes as a regex matching their own name.
CONVERTER_HINTS = {
    "int": "use {{{name}:digit}}, or {{{name}}} with an int annotation",
    "integer": "use {{{name}:digit}}, or {{{name}}} with an int annotation",
    "float": "use {{{name}}} with a float annotation",
    "str": "use {{{name}}} (a string is the default)",
    "uuid": "use {{{name}}} with a UUID annotation",
}
WORD = re.compile(r"[A-Za-z_]\w*")
PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")


def fail(path: str, view: Any, parameter: str | None, reason: str) -> RouteDefinitionError:
    name = view if isinstance(view, str) else qualname(view)
    return RouteDefinitionError(path, name, parameter, reason)


def check_keywords(path: str, view: Any, extras: dict[str, Any]) -> None:
    for keyword, hint in FOREIGN_KEYWORDS.items():
        if keyword in extras:
            raise fail(path, view, None, f"unknown keyword {keyword}=: {hint}")
    status = extras.get("status")
    if status is not None and (not isinstance(status, int) or status not in STATUSES):
        raise fail(path, view, None, f"status={status!r} is not an HTTP status (100-599)")


def check_guards(path: str, view: Any, dependencies: Any) -> tuple[Depends, ...]:
    """`dependencies=[Depends(f), ...]`, as a tuple."""
    if isinstance(dependencies, Depends) or not isinstance(dependencies, Iterable):
        dependencies = [dependencies]
    result = tuple(dependencies)
    for item in result:
        if not isinstance(item, Depends):
            raise fail(
                path, view, None, f"dependencies=[...] takes Depends(provider) items, got {item!r}"
            )
    return result


def check_methods(path: str, view: Any, methods: list[str] | None) -> None:
    for method in methods or ():
        if method.upper() not in HTTP_METHODS:
            close = difflib.get_close_matches(method.upper(), HTTP_METHODS, n=1)
            hint = f": did you mean {close[0]!r}?" if close else f" (known: {', '.join(HTTP_METHODS)})"
            raise fail(path, view, None, f"unknown HTTP method {method!r}{hint}")


def check_placeholder_types(path: str, view: Any) -> None:
    for match in PLACEHOLDER.finditer(path):
        name, spec = match.group(1).strip(), match.group(2)
        if spec is None or spec in PLACEHOLDER_TYPES or not WORD.fullmatch(spec):
            continue
        hint = CONVERTER_HINTS.get(spec.lower())
        if hint is None:
            hint = f"autoroutes types are {', '.join(sorted(PLACEHOLDER_TYPES))}"
        raise fail(
            path,
            view,
            name,
            f"unknown placeholder type {{{name}:{spec}}} (it would only match the text"
            f" {spec!r}): {hint.format(name=name)}",
        )


def shape(path: str) -> str:
    """The path with placeholder names removed: `/a/{id:digit}` -> `/a/{:digit}`."""
    return PLACEHOLDER.sub(lambda m: "{:%s}" % (m.group(2) or "string"), path)


def check_duplicates(
    path: str, view: Any, methods: Iterable[str], registry: list[RouteRecord]
) -> None:
    wanted = shape(path)
    new = set(methods)
    for record in registry:
        if shape(record.path) != wanted:
            continue
        both = new & set(record.handlers)
        if both:
            raise fail(
                path,
                view,
                None,
                f"{', '.join(sorted(both))} {record.path!r} is already handled by"
                f" {qualname(record.view)}",
            )


def check_plain_placeholders(path: str, handler: Any) -> None:
    """A plain `(request, response, ...)` handler receives the URL values as keywords."""
    try:
        parameters = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return
    if any(param.kind is param.VAR_KEYWORD for param in parameters.values()):
        return
    for name in placeholders(path):
        if name not in parameters:
            raise fail(
                path,
                handler,
                name,
                f"the URL placeholder {{{name}}} has no parameter: add a parameter"
                f" {name!r} (or **kwargs) to the handler",
            )
