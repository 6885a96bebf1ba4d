"""The response contract: a typed handler's return annotation is what the client gets.

`-> UserOut` returning a `UserInDB(UserOut)` sends the fields of `UserOut`
only: the value is serialised by the pydantic-core serialiser of the
declared type, built once at registration. A value that does not fit (a
dict for a model, a str for an int) is validated into the declared type
first (extra keys dropped); if it still does not fit, the mismatch is logged
and the client gets a plain 500, never the value.

Open annotations keep the plain rendering of `returns.render`: none, `Any`,
`object`, `None`, `str`, bytes, streams (async iterables), and `dict` /
`list` of open types (`dict`, `dict[str, Any]`, `list[dict[str, Any]]`).
"""

from __future__ import annotations

import collections.abc
import logging
import types
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from inspect import Parameter
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, SchemaSerializer

from roll import HttpError
from roll.response import JSON_CONTENT_TYPE


from .returns import RAW_TYPES, render
from .typeinfo import split_annotated, split_optional

log = logging.getLogger("roll.typed")

Renderer = Callable[[Any, Any], None]  # (response, result)

OPEN_TYPES: tuple[Any, ...] = (Parameter.empty, Any, object, None, type(None), str, *RAW_TYPES)
CONTAINERS = (dict, list)
STREAMS = (
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
)


def is_stream(annotation: Any) -> bool:
    """An async iterable (`AsyncIterator[bytes]`, `roll.typed.EventStream`...):
    sent as a stream, never serialised."""
    if get_origin(annotation) in STREAMS or annotation in STREAMS:
        return True
    return isinstance(annotation, type) and hasattr(annotation, "__aiter__")


class ContractError(TypeError):
    """A return annotation pydantic cannot serialise (raised at registration)."""


def is_open(annotation: Any) -> bool:
    """An annotation that promises nothing a serialiser could enforce."""
    annotation, _ = split_annotated(annotation)
    if any(annotation is tp for tp in OPEN_TYPES):
        return True
    origin = get_origin(annotation)
    if annotation in CONTAINERS:
        return True
    if origin in CONTAINERS:
        return all(is_open(arg) for arg in get_args(annotation)[1 if origin is dict else 0 :])
    if is_stream(annotation):
        return True
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return all(is_open(arg) for arg in members)
    return False


def passthrough(annotation: Any) -> tuple[type, ...]:
    """The members of a union rendered as today (text, raw bytes)."""
    annotation, _ = split_annotated(annotation)
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return tuple(arg for arg in get_args(annotation) if arg is str or arg in RAW_TYPES)
    return ()


def renderer_for(annotation: Any, owner: str) -> Renderer:
    """The renderer of a handler returning `annotation`; `owner` names it in logs.

    Raises ContractError if pydantic cannot serialise the annotation.
    """
    if is_open(annotation):
        return render
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        serializer = adapter.serializer
        validator = adapter.validator
    except Exception as error:
        raise ContractError(f"pydantic cannot serialise the return type: {error}") from None
    if not isinstance(serializer, SchemaSerializer):  # a forward reference left unresolved
        raise ContractError(
            "pydantic cannot serialise the return type: it has undefined forward references"
        )
    return contract_renderer(
        # By alias, as the plain rendering (pydantic_core.to_json) and the
        # OpenAPI document (pydantic's serialization schema) do.
        partial(serializer.to_json, by_alias=True),
        validator.validate_python,
        annotation,
        owner,
        passthrough(annotation),
        trusted_check(annotation),
    )


def trusted_check(annotation: Any) -> Callable[[Any], bool] | None:
    """For `Model` and `list[Model]`: is the value made of exact `Model`
    instances only? Those skip the checks (see `render_contract`)."""
    annotation, _ = split_optional(annotation)
    if is_model_class(annotation):
        return lambda result: type(result) is annotation
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (Any,)
        if is_model_class(item):
            only = frozenset((item,))
            # Up to 64 items: the check costs less than `warnings="error"`.
            return lambda result: (
                type(result) is list and len(result) <= 64 and set(map(type, result)) <= only
            )
    return None


def is_model_class(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def contract_renderer(
    to_json: Callable[..., bytes],
    validate: Callable[..., Any],
    annotation: Any,
    owner: str,
    raw: tuple[type, ...],
    trusted: Callable[[Any], bool] | None,
) -> Renderer:
    def fitted(result: Any) -> bytes:
        """A value the serialiser refused, validated into the type."""
        try:
            return to_json(validate(result), warnings="error")
        except (ValidationError, PydanticSerializationError) as error:
            log.error(
                "The return value of %s does not match its annotation %r: %s",
                owner,
                annotation,
                error,
            )
            raise HttpError(HTTPStatus.INTERNAL_SERVER_ERROR) from None

    def render_contract(response: Any, result: Any) -> None:
        if trusted is not None and trusted(result):
            # Pydantic validated these instances when it built them: serialised
            # without the checks, whose `warnings="error"` argument alone costs ~2 µs.
            body = to_json(result)
        else:
            # Serialising checks the value's type as it goes, erring on a mismatch.
            try:
                body = to_json(result, warnings="error")
            except PydanticSerializationError:
                body = fitted(result)
        response.body = body
        headers = response.headers
        if "Content-Type" not in headers:
            headers["Content-Type"] = JSON_CONTENT_TYPE

    if not raw:
        return render_contract

    def render_union(response: Any, result: Any) -> None:
        if type(result) in raw:
            render(response, result)
        else:
            render_contract(response, result)

    return render_union
