"""JSON Schemas for the OpenAPI document, made by pydantic in one pass.

Operations ask for a schema while the document is built and get a
placeholder dict; `resolve()` then has pydantic generate every schema at
once (so that each model is one component, shared) and fills the
placeholders in place. Component names are pydantic's: the class name, or,
when two types share it, the module-qualified name (`shop.models.Item`,
`billing.Item`), so two models never collide and a name only changes when a
new colliding model is added.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import PydanticSerializationError, to_jsonable_python
from typing_extensions import TypedDict

REF_TEMPLATE = "#/components/schemas/{model}"

Location = Literal["path", "query", "form", "file", "body", "header", "cookie"]


class Problem(TypedDict):
    """One invalid input: where it was looked for, its name, what is wrong."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    location: Location
    name: Annotated[str, Field(description="The name looked up (the alias if any); "
                               "for a JSON body, the dotted path inside it")]  # fmt: skip
    message: str


class InvalidRequest(TypedDict):
    """Every invalid input of the request (the 400 of `roll.typed`)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    errors: Annotated[list[Problem], Field(min_length=1)]


class ComponentNames(GenerateJsonSchema):
    """pydantic's naming, with the module path kept dotted (`shop.models.Item`
    rather than `shop__models__Item`)."""

    def normalize_name(self, name: str) -> str:
        return re.sub(r"[^a-zA-Z0-9.\-_]", "_", name).strip("_.") or "Schema"


class Schemas:
    """The schemas one document asks for."""

    def __init__(self) -> None:
        self.wanted: list[tuple[dict[str, Any], JsonSchemaMode, TypeAdapter[Any]]] = []

    def schema(
        self, annotation: Any, mode: JsonSchemaMode = "validation", **extra: Any
    ) -> dict[str, Any]:
        """A placeholder for the schema of `annotation`, with `extra` keys
        (e.g. a default) added once it is filled."""
        placeholder = dict(extra)
        self.wanted.append((placeholder, mode, TypeAdapter(annotation)))
        return placeholder

    def resolve(self) -> dict[str, Any]:
        """Fill every placeholder; returns `components/schemas`.

        A type pydantic has no JSON Schema for (an arbitrary class allowed in
        a model) is documented as any value rather than failing the document."""
        if not self.wanted:
            return {}
        inputs = [(index, mode, adapter) for index, (_, mode, adapter) in enumerate(self.wanted)]
        try:
            mapping, definitions = self.generate(inputs)
        except PydanticInvalidForJsonSchema:
            inputs = [(index, mode, describable(adapter, mode)) for index, mode, adapter in inputs]
            mapping, definitions = self.generate(inputs)
        for index, (placeholder, mode, _) in enumerate(self.wanted):
            extra = dict(placeholder)
            placeholder.clear()
            placeholder.update(mapping[(index, mode)])
            placeholder.update(extra)
        components: dict[str, Any] = definitions.get("$defs", {})
        return dict(sorted(components.items()))

    @staticmethod
    def generate(inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]]) -> Any:
        return TypeAdapter.json_schemas(
            inputs, ref_template=REF_TEMPLATE, schema_generator=ComponentNames
        )


ANYTHING: TypeAdapter[Any] = TypeAdapter(Any)


def describable(adapter: TypeAdapter[Any], mode: JsonSchemaMode) -> TypeAdapter[Any]:
    """`adapter`, or one for `Any` if pydantic cannot give its JSON Schema."""
    try:
        adapter.json_schema(mode=mode)
    except PydanticInvalidForJsonSchema:
        return ANYTHING
    return adapter


NO_DEFAULT: Any = object()


def json_default(value: Any) -> Any:
    """A default as JSON, or NO_DEFAULT when it has no JSON form (or is None:
    a missing value, not a null one)."""
    if value is None:
        return NO_DEFAULT
    try:
        return to_jsonable_python(value)
    except (PydanticSerializationError, TypeError, ValueError):
        return NO_DEFAULT
