"""Models from the query string or a form: `Annotated[Filters, Query()]`.

Each field of the model (pydantic model, dataclass or TypedDict) is one
parameter, read by its alias or name: a scalar from the first value, a list
from every value of a repeated key, converted by the same rules as a single
`Query()` parameter (the core's bool/int/float rules). The model is then
validated by pydantic (defaults, constraints, validators). Problems name the
field's parameter: `{"location": "query", "name": "page", ...}`.

This module is the analysis (at registration); the extractor it builds,
run per request, is `extractors.model_extractor`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from pydantic import BaseModel, TypeAdapter

from . import extractors as ex
from .converters import converter_for
from .markers import Form, Source
from .plan import Analysis, Extractor
from .typeinfo import TypeInfo, analyse, is_scalar, with_constraints


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
    sources: list[ex.FieldSource] = []
    for key, annotation in fields:
        field = analyse(annotation)
        if not is_scalar(field.base):
            raise analysis.fail(
                name,
                f"field {key!r} of {model.__name__} is not a scalar or a list of scalars:"
                f" a {location} value is text",
                owner,
            )
        sources.append(ex.FieldSource(key, converter_for(field), field.many))
    read = ex.read_form if isinstance(marker, Form) else ex.read_query
    return ex.model_extractor(location, sources, adapter.validator.validate_python, read)
