"""Models from the query string or a form: `Annotated[Filters, Query()]`.

Each field of the model (pydantic model, dataclass or TypedDict) is one
parameter, read by its alias or name: a scalar from the first value, a list
from every value of a repeated key, converted by the same rules as a single
`Query()` parameter (the core's bool/int/float rules). The model is then
validated by pydantic (defaults, constraints, validators). Problems name the
field's parameter: `{"location": "query", "name": "page", ...}`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError

from roll import Request, Response, WSProtocol

from . import extractors as ex
from .converters import Converter, Rejected, converter_for
from .errors import Invalid, Problem, problem
from .markers import Form, Source
from .plan import Analysis, Extractor
from .typeinfo import TypeInfo, analyse, is_scalar, with_constraints


@dataclasses.dataclass(frozen=True)
class FieldSource:
    key: str  # the parameter read (and the key pydantic validates)
    convert: Converter
    many: bool


def model_fields(model: Any) -> list[tuple[str, Any]]:
    """`(key, annotation)` of each field, as pydantic expects them by default."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        result = []
        for name, info in model.model_fields.items():
            alias = info.validation_alias if isinstance(info.validation_alias, str) else None
            key = alias or info.alias or name
            result.append((key, with_constraints(info.annotation, list(info.metadata))))
        return result
    hints = get_type_hints(model, include_extras=True)
    if dataclasses.is_dataclass(model):
        return [(item.name, hints[item.name]) for item in dataclasses.fields(model)]
    return list(hints.items())  # a TypedDict


def model_source(
    name: str, marker: Source, info: TypeInfo, analysis: Analysis, owner: str
) -> Extractor:
    location = marker.location
    model = info.base
    try:
        fields = model_fields(model)
        adapter: TypeAdapter[Any] = TypeAdapter(model)
    except Exception as error:
        raise analysis.fail(name, f"cannot read the fields of {model!r}: {error}", owner) from None
    sources: list[FieldSource] = []
    for key, annotation in fields:
        field = analyse(annotation)
        if not is_scalar(field.base):
            raise analysis.fail(
                name,
                f"field {key!r} of {model.__name__} is not a scalar or a list of scalars:"
                f" a {location} value is text",
                owner,
            )
        sources.append(FieldSource(key, converter_for(field), field.many))
    read = ex.read_form if isinstance(marker, Form) else ex.read_query
    return model_extractor(location, sources, adapter.validator.validate_python, read)


def model_extractor(
    location: str,
    sources: list[FieldSource],
    validate: Callable[[Any], Any],
    read: ex.Reader,
) -> Extractor:
    order = {source.key: index for index, source in enumerate(sources)}

    def extract(request: Request, response: Response | WSProtocol, vars: dict[str, str]) -> Any:
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
                    data[source.key] = ex.convert_all(location, source.key, source.convert, texts)
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
