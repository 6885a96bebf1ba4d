"""Analysis of a parameter read from the request: its extractor.

A marked (or inferred) source — `Path`, `Query`, `Form`, `File`, `Header`,
`Cookie`, the JSON `Body` — becomes one pre-bound extractor, after the
checks that can be made at registration: the type fits the source, a URL
value has its placeholder, at most one kind of body, none on GET.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from roll import Request

from . import extractors as ex
from .converters import converter_for
from .files import UploadFile
from .markers import Cookie, File, Form, Header, Path, Query, Source
from .models import model_source
from .plan import Analysis, BodyUse, Extractor, display
from .typeinfo import TypeInfo, is_model, is_scalar

BODY_LESS_METHODS = frozenset(("GET", "HEAD"))
BODY_NAMES = {"json": "JSON", "form": "form", "file": "file (multipart)"}


def source_key(name: str, marker: Source) -> str:
    """The name a source looks up: its alias, a header's name."""
    if isinstance(marker, Header):
        return marker.alias or name.replace("_", "-")
    return marker.alias or name


def source(
    name: str, marker: Source, info: TypeInfo, default: Any, analysis: Analysis, owner: str
) -> Extractor:
    route = analysis.route
    key = marker.alias or name
    base = info.base
    if isinstance(marker, File):
        if base is not UploadFile:
            raise analysis.fail(
                name, "a File parameter must be an UploadFile, optional or a list", owner
            )
        use_body(analysis, "file", name, owner)
        return ex.file_value(key, default, info.optional, info.many)
    if base is UploadFile:
        raise analysis.fail(name, "an UploadFile comes from a File source", owner)
    if isinstance(marker, Query | Form) and is_model(base) and not info.many:
        if isinstance(marker, Form):
            use_body(analysis, "form", name, owner)
        return model_source(name, marker, info, analysis, owner)
    if not is_scalar(base):
        raise analysis.fail(
            name, f"a {marker.location} value must be a scalar type, not {display(base)}", owner
        )
    conv = converter_for(info)
    if isinstance(marker, Path):
        if key not in route.placeholders:
            raise analysis.fail(name, f"no placeholder {{{key}}} in the route path", owner)
        if info.many:
            raise analysis.fail(name, "a URL value cannot be a list", owner)
        analysis.used_vars.add(key)
        return ex.path_value(key, conv, info.optional)
    if isinstance(marker, Query | Form):
        if isinstance(marker, Form):
            use_body(analysis, "form", name, owner)
            read = ex.read_form
        else:
            read = ex.read_query
        location = marker.location
        if info.many:
            return ex.multi_list(location, key, conv, default, info.optional, read)
        return ex.multi_value(location, key, conv, default, info.optional, read)
    if isinstance(marker, Header):
        header = source_key(name, marker)
        return ex.mapping_value(
            "header", header, header.upper(), conv, default, info.optional, headers, info.many
        )
    if isinstance(marker, Cookie):
        if info.many:
            raise analysis.fail(name, "a cookie cannot be a list", owner)
        return ex.mapping_value("cookie", key, key, conv, default, info.optional, cookies)
    raise analysis.fail(name, f"unknown marker {marker!r}", owner)  # pragma: no cover


def headers(request: Request) -> dict[str, str]:
    return request.headers


def cookies(request: Request) -> dict[str, str]:
    return request.cookies


def body(name: str, info: TypeInfo, default: Any, analysis: Analysis, owner: str) -> Extractor:
    use_body(analysis, "json", name, owner)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(info.annotation)
    except Exception as error:
        raise analysis.fail(
            name, f"pydantic cannot validate {display(info.annotation)}: {error}", owner
        ) from None
    return ex.json_body(name, adapter, default, info.optional)


def use_body(analysis: Analysis, kind: str, name: str, owner: str) -> None:
    route = analysis.route
    where = f"{name!r} of {owner}"
    if route.websocket:
        raise analysis.fail(name, "a websocket route has no request body", owner)
    if route.methods and route.methods <= BODY_LESS_METHODS:
        raise analysis.fail(
            name,
            f"a body parameter on a route accepting only {', '.join(sorted(route.methods))}",
            owner,
        )
    for other in analysis.bodies:
        if kind == "json" or other.kind == "json":
            if kind != other.kind:
                reason = (
                    f"a {BODY_NAMES[kind]} body conflicts with the"
                    f" {BODY_NAMES[other.kind]} body of {other.where}"
                )
            else:
                reason = f"two JSON body parameters ({other.where} and {where})"
            raise analysis.fail(name, reason, owner)
    analysis.bodies.append(BodyUse(kind, where))


