"""Registration check: a `Depends(provider)` must return the parameter's type.

Without it, `count: Annotated[int, Depends(get_name)]` with `get_name() -> str`
passes mypy (the marker is opaque to it) and fails on the first request.
Only what is certain is refused: two plain classes that do not match. Generic,
Protocol or otherwise undecidable annotations are accepted.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin, get_type_hints

from .plan import Analysis, qualname
from .typeinfo import split_annotated


NoneType = type(None)
# What a generator provider is annotated with: the first argument is the value.
GENERATOR_ORIGINS = frozenset(
    (
        collections.abc.Iterator,
        collections.abc.Generator,
        collections.abc.Iterable,
        collections.abc.AsyncIterator,
        collections.abc.AsyncGenerator,
        collections.abc.AsyncIterable,
    )
)


def returned(provider: Callable[..., Any], localns: dict[str, Any] | None) -> Any:
    """The provider's value type, or `inspect.Parameter.empty` if unknown.

    A provider object may declare it as its `value_type` attribute, when its
    `__call__` annotation says less (a security scheme: `str | None` in
    general, `str` when it refuses a missing credential itself).
    """
    declared = getattr(provider, "value_type", inspect.Parameter.empty)
    if declared is not inspect.Parameter.empty:
        return declared
    target = inspect.unwrap(provider)
    if inspect.isclass(target):
        return target
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(type(target), "__call__", None)
    try:
        hints = get_type_hints(target, localns=localns)
    except Exception:
        return inspect.Parameter.empty  # build_plan reports unreadable annotations
    result = hints.get("return", inspect.Parameter.empty)
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        if get_origin(result) in GENERATOR_ORIGINS and get_args(result):
            return get_args(result)[0]
        return inspect.Parameter.empty
    return result


def members(tp: Any) -> tuple[Any, ...]:
    tp = split_annotated(tp)[0]
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return tuple(split_annotated(arg)[0] for arg in get_args(tp))
    return (tp,)


def fits(value: Any, parameter: Any) -> bool:
    """Can a `value` be a `parameter`? Unknown cases say yes."""
    value = get_origin(value) or value
    parameter = get_origin(parameter) or parameter
    if value is parameter or parameter is Any or value is Any:
        return True
    if not (isinstance(value, type) and isinstance(parameter, type)):
        return True
    if value is int and parameter is float:  # PEP 484's numeric tower
        return True
    try:
        return issubclass(value, parameter)
    except TypeError:  # a non-runtime Protocol...
        return True


def check_provides(
    provider: Callable[..., Any],
    annotation: Any,
    unannotated: bool,
    name: str,
    analysis: Analysis,
    owner: str,
) -> None:
    if unannotated or not callable(provider):
        return
    value = returned(provider, analysis.localns)
    if value is inspect.Parameter.empty:
        return
    accepted = members(annotation)
    for member in members(value):
        if not any(fits(member, candidate) for candidate in accepted):
            raise analysis.fail(
                name,
                f"Depends({qualname(provider)}) returns {show(value)}, which is not"
                f" {show(split_annotated(annotation)[0])}: fix the annotation of the"
                " parameter or of the provider",
                owner,
            )


def show(tp: Any) -> str:
    if isinstance(tp, type) and get_origin(tp) is None:
        return tp.__name__
    return repr(tp).replace("typing.", "")
