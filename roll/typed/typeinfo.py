"""Reading annotations: split `Annotated`, `Optional` and `list` apart."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import types
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel
from typing_extensions import is_typeddict

from .markers import MARKER_CLASSES, Body, Depends, Marker, Source

NoneType = type(None)

SCALARS: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    decimal.Decimal,
    uuid.UUID,
    datetime.date,
    datetime.datetime,
    datetime.time,
    enum.Enum,
)


@dataclass(frozen=True)
class TypeInfo:
    """An annotation taken apart.

    `annotation` is the full type minus the markers (constraints kept), `base`
    the innermost type without Optional/list/constraints, `item` the type of
    one value (constraints kept, Optional and list removed).
    """

    annotation: Any
    base: Any
    item: Any
    optional: bool = False
    many: bool = False
    markers: tuple[Marker, ...] = ()
    constraints: tuple[Any, ...] = field(default=())


def split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    """`Annotated[T, a, b]` -> (T, [a, b]); nested Annotated are flattened."""
    metadata: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp = args[0]
        metadata = [*args[1:], *metadata]
    return tp, metadata


def split_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [arg for arg in get_args(tp) if arg is not NoneType]
        if len(args) < len(get_args(tp)):
            if len(args) == 1:
                return args[0], True
            return Union[tuple(args)], True
    return tp, False


def with_constraints(tp: Any, constraints: list[Any]) -> Any:
    if not constraints:
        return tp
    return Annotated[(tp, *constraints)]


def analyse(annotation: Any) -> TypeInfo:
    tp, metadata = split_annotated(annotation)
    markers: list[Marker] = []
    constraints: list[Any] = []
    for item in metadata:
        if isinstance(item, type) and issubclass(item, MARKER_CLASSES):
            item = item()
        if isinstance(item, (Source, Body, Depends)):
            markers.append(item)
        else:
            constraints.append(item)
    tp, optional = split_optional(tp)
    # Optional[Annotated[int, Field(gt=0)]] keeps its constraints.
    tp, inner = split_annotated(tp)
    constraints.extend(inner)
    many = get_origin(tp) is list
    item_type = tp
    if many:
        (item_type,) = get_args(tp) or (str,)
        item_type, item_constraints = split_annotated(item_type)
        item_type, _ = split_optional(item_type)
        item_with = with_constraints(item_type, item_constraints)
    else:
        item_with = with_constraints(item_type, constraints)
    bare = with_constraints(tp, constraints)
    return TypeInfo(
        annotation=Optional[bare] if optional else bare,
        base=item_type,
        item=item_with,
        optional=optional,
        many=many,
        markers=tuple(markers),
        constraints=tuple(constraints),
    )


def is_scalar(tp: Any) -> bool:
    """A type read from one string: SCALARS, Literal, or a union of them."""
    origin = get_origin(tp)
    if origin is Literal:
        return True
    if origin is Union or origin is types.UnionType:
        return all(is_scalar(arg) for arg in get_args(tp))
    return isinstance(tp, type) and issubclass(tp, SCALARS)


def is_model(tp: Any) -> bool:
    """A pydantic model, a dataclass or a TypedDict: inferred as the JSON body."""
    if get_origin(tp) is not None:
        tp = get_origin(tp)
    if not isinstance(tp, type):
        return False
    return issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp) or is_typeddict(tp)
