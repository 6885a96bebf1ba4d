"""Extractors: small pre-bound functions `(request, response, url_vars) -> value`.

One is built per parameter at registration; a request only calls them. An
extractor raises `Invalid` (carrying its problems) when the input is wrong.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from operator import attrgetter
from typing import Any

from pydantic import TypeAdapter, ValidationError

from roll import HttpError, Request, Response, WSProtocol

from .converters import Converter, Rejected
from .errors import Invalid, Problem, invalid, problem
from .files import UploadFile
from .plan import MISSING, Extractor
from .websocket import WebSocket

__all__ = ["MISSING", "Extractor"]

Reader = Callable[[Request], Mapping[str, Any]]
Vars = dict[str, str]
Answer = Response | WSProtocol  # the core's websocket, on a websocket route
REQUIRED = "Field required"
MUTABLE = (list, dict, set)


def take_request(request: Request, response: Answer, vars: Vars) -> Request:
    return request


def take_response(request: Request, response: Answer, vars: Vars) -> Answer:
    return response


def take_websocket(request: Request, response: Answer, vars: Vars) -> WebSocket:
    return WebSocket(response)  # `response` is the core's websocket on a websocket route


def fallback(location: str, name: str, default: Any, optional: bool) -> Callable[[], Any]:
    """What a missing value gives: the default (copied if mutable), None if
    Optional, else a 'Field required' problem."""
    if default is not MISSING:
        if isinstance(default, MUTABLE):
            return lambda: copy.copy(default)
        return lambda: default
    if optional:
        return lambda: None
    error = [problem(location, name, REQUIRED)]

    def missing() -> Any:
        raise Invalid(list(error))

    return missing


def converted(location: str, name: str, conv: Converter, optional: bool) -> Callable[[str], Any]:
    """`text -> value` raising Invalid; Optional non-str types take '' as None."""
    convert, message = conv.convert, conv.message
    if convert is None:
        return str

    def run(text: str) -> Any:
        if optional and not text:
            return None
        try:
            return convert(text)
        except Rejected as error:
            raise invalid(location, name, error.args[0]) from None
        except (ValueError, TypeError):
            raise invalid(location, name, message) from None

    return run


def path_value(name: str, conv: Converter, optional: bool) -> Extractor:
    convert, message = conv.convert, conv.message
    if convert is None:

        def extract_str(request: Request, response: Answer, vars: Vars) -> Any:
            return vars[name]

        return extract_str
    if optional:
        run = converted("path", name, conv, optional)
        return lambda request, response, vars: run(vars[name])

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        try:
            return convert(vars[name])
        except Rejected as error:
            raise invalid("path", name, error.args[0]) from None
        except (ValueError, TypeError):
            raise invalid("path", name, message) from None

    return extract


read_query: Reader = attrgetter("query")


def body_reader(attribute: str) -> Reader:
    """`request.form` / `request.files`: an unparsable body is a 400 problem;
    a limit crossed (413) stays the core's error."""
    get = attrgetter(attribute)

    def read(request: Request) -> Mapping[str, Any]:
        try:
            return get(request)  # type: ignore[no-any-return]
        except HttpError as error:
            if error.status != HTTPStatus.BAD_REQUEST:
                raise
            raise invalid("body", attribute, str(error.message)) from None

    return read


read_form = body_reader("form")
read_files = body_reader("files")


def multi_value(
    location: str,
    name: str,
    conv: Converter,
    default: Any,
    optional: bool,
    read: Reader,
) -> Extractor:
    """One value of a multidict (query, form)."""
    missing = fallback(location, name, default, optional)
    convert, message = conv.convert, conv.message
    if convert is None:

        def extract_str(request: Request, response: Answer, vars: Vars) -> Any:
            try:
                return read(request)[name][0]
            except KeyError:
                return missing()

        return extract_str
    if optional:
        run = converted(location, name, conv, optional)

        def extract_optional(request: Request, response: Answer, vars: Vars) -> Any:
            try:
                text = read(request)[name][0]
            except KeyError:
                return missing()
            return run(text)

        return extract_optional

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        try:
            text = read(request)[name][0]
        except KeyError:
            return missing()
        try:
            return convert(text)
        except Rejected as error:
            raise invalid(location, name, error.args[0]) from None
        except (ValueError, TypeError):
            raise invalid(location, name, message) from None

    return extract


def convert_all(location: str, name: str, conv: Converter, texts: list[str]) -> list[Any]:
    values: list[Any] = []
    problems: list[Problem] = []
    for index, text in enumerate(texts):
        try:
            values.append(conv(text))
        except Rejected as error:
            problems.append(problem(location, name, f"Item {index}: {error.args[0]}"))
    if problems:
        raise Invalid(problems)
    return values


def multi_list(
    location: str,
    name: str,
    conv: Converter,
    default: Any,
    optional: bool,
    read: Reader,
) -> Extractor:
    """Every value of a repeated key (query, form)."""
    missing = fallback(location, name, default, optional)

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        try:
            texts = read(request)[name]
        except KeyError:
            return missing()
        return convert_all(location, name, conv, texts)

    return extract


def mapping_value(
    location: str,
    name: str,
    key: str,
    conv: Converter,
    default: Any,
    optional: bool,
    read: Reader,
    many: bool = False,
) -> Extractor:
    """One value of a str -> str mapping (headers, cookies). `name` is
    reported, `key` is looked up. With `many`, a comma-separated list."""
    missing = fallback(location, name, default, optional)
    run = converted(location, name, conv, optional)

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        text = read(request).get(key)
        if text is None:
            return missing()
        if many:
            parts = [part.strip() for part in text.split(",")]
            return convert_all(location, name, conv, [part for part in parts if part])
        return run(text)

    return extract


def file_value(name: str, default: Any, optional: bool, many: bool) -> Extractor:
    missing = fallback("file", name, default, optional)

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        try:
            raws = read_files(request)[name]
        except KeyError:
            return missing()
        if many:
            return [UploadFile(raw) for raw in raws]
        return UploadFile(raws[0])

    return extract


def is_json(content_type: str) -> bool:
    if content_type.startswith("application/json"):
        return True
    mimetype = content_type.split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or mimetype.endswith("+json")


def validation_problems(name: str, error: ValidationError) -> list[Problem]:
    return [
        problem("body", ".".join(str(part) for part in item["loc"]) or name, item["msg"])
        for item in error.errors()
    ]


def json_body(name: str, adapter: TypeAdapter[Any], default: Any, optional: bool) -> Extractor:
    """The JSON body, validated from the raw bytes in one pass."""
    missing = fallback("body", name, default, optional)
    validate = adapter.validator.validate_json  # without TypeAdapter's Python wrapper

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        body = request.body
        if not body:
            return missing()
        limit = request.MAX_JSON_SIZE  # the core's limit on `request.json`
        if limit is not None and len(body) > limit:
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"JSON body too large (limit: {limit} bytes)"
            )
        content_type = request.content_type
        if content_type and not is_json(content_type):
            raise invalid("body", name, f"Expected a JSON body, got Content-Type {content_type!r}")
        try:
            return validate(body)
        except ValidationError as error:
            raise Invalid(validation_problems(name, error)) from None

    return extract


@dataclass(frozen=True)
class FieldSource:
    """One field of a query/form model (`models.model_source`)."""

    key: str  # the parameter read (and the key pydantic validates)
    convert: Converter
    many: bool


def model_extractor(
    location: str,
    sources: list[FieldSource],
    validate: Callable[[Any], Any],
    read: Reader,
) -> Extractor:
    """A model from the query string or a form: each field converted like a
    single parameter, then the whole validated by pydantic."""
    order = {source.key: index for index, source in enumerate(sources)}

    def extract(request: Request, response: Answer, vars: Vars) -> Any:
        values = read(request)
        data: dict[str, Any] = {}
        problems: list[Problem] = []
        for source in sources:
            try:
                texts = values[source.key]
            except KeyError:
                continue  # pydantic applies the default, or reports it missing
            try:
                if source.many:
                    data[source.key] = convert_all(location, source.key, source.convert, texts)
                else:
                    data[source.key] = source.convert(texts[0])
            except Rejected as error:
                problems.append(problem(location, source.key, error.args[0]))
            except Invalid as error:
                problems.extend(error.problems)
        failed = {item["name"] for item in problems}
        try:
            result = validate(data)
        except ValidationError as error:
            for item in error.errors():
                key = ".".join(str(part) for part in item["loc"])
                if item["loc"] and str(item["loc"][0]) in failed:
                    continue  # its conversion problem is reported already
                problems.append(problem(location, key, item["msg"]))
            problems.sort(key=lambda item: order.get(item["name"].split(".")[0], len(order)))
            raise Invalid(problems) from None
        if problems:
            raise Invalid(problems)
        return result

    return extract
