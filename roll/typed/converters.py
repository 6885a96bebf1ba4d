"""From one string (URL, query, form, header, cookie) to a typed value.

int, float and bool follow the core's `Query.int/float/bool` rules exactly
(`int(value)`, `float(value)`, and t/true/yes/1/on, f/false/no/0/off,
n/none/null -> None, case-insensitive); other types go through a pydantic
`TypeAdapter.validate_strings` built once, at registration.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from roll.multidict import FALSE_STRINGS, NONE_STRINGS, TRUE_STRINGS

from .typeinfo import TypeInfo, split_annotated


class Rejected(ValueError):
    """A value that does not convert; its argument is the client message."""


BOOLEANS: dict[str, bool | None] = {
    **dict.fromkeys(TRUE_STRINGS, True),
    **dict.fromkeys(FALSE_STRINGS, False),
    **dict.fromkeys(NONE_STRINGS, None),
}
STRICT_BOOLEANS: dict[str, bool] = {
    **dict.fromkeys(TRUE_STRINGS, True),
    **dict.fromkeys(FALSE_STRINGS, False),
}


def to_bool(value: str) -> bool | None:
    """The core's boolean rule, None included."""
    try:
        return BOOLEANS[value.lower()]
    except KeyError:
        raise Rejected("Input should be a valid boolean") from None


def strict_bool(value: str) -> bool:
    """The core's rule for a `bool` that cannot be None."""
    try:
        return STRICT_BOOLEANS[value.lower()]
    except KeyError:
        if value.lower() in NONE_STRINGS:
            raise Rejected("Input should be a valid boolean, not null") from None
        raise Rejected("Input should be a valid boolean") from None


def describe(error: ValidationError) -> str:
    return "; ".join(item["msg"] for item in error.errors())


@dataclass(frozen=True, slots=True)
class Converter:
    """`convert(text)` raises ValueError; `message` is used unless it is a `Rejected`."""

    convert: Callable[[str], Any] | None  # None: keep the string
    message: str

    def __call__(self, text: str) -> Any:
        """Convenience for the slow paths (lists); extractors inline this."""
        if self.convert is None:
            return text
        try:
            return self.convert(text)
        except Rejected:
            raise
        except (ValueError, TypeError):
            raise Rejected(self.message) from None


def literal_converter(tp: Any) -> Callable[[str], Any]:
    choices: dict[str, Any] = {}
    for value in get_args(tp):
        key = value.value if isinstance(value, enum.Enum) else value
        choices[str(key).lower() if isinstance(key, bool) else str(key)] = value
    expected = " or ".join(repr(key) for key in choices)

    def convert(text: str) -> Any:
        try:
            return choices[text]
        except KeyError:
            raise Rejected(f"Input should be {expected}") from None

    return convert


def adapter_converter(tp: Any) -> Callable[[str], Any]:
    # The core validator itself: TypeAdapter's methods add a Python call per value.
    # (pydantic-core's stub types its input as a dict only; it takes a str too.)
    validate_strings: Callable[[Any], Any] = TypeAdapter(tp).validator.validate_strings

    def convert(text: str) -> Any:
        try:
            return validate_strings(text)
        except ValidationError as error:
            raise Rejected(describe(error)) from None

    return convert


def constrained(base: Callable[[str], Any] | None, tp: Any) -> Callable[[str], Any]:
    """Convert with `base`, then check the constraints of `tp` (Field(gt=0)...)."""
    validate_python = TypeAdapter(tp).validator.validate_python
    message = CONVERTERS.get(split_annotated(tp)[0], (None, "Invalid value"))[1]

    def convert(text: str) -> Any:
        try:
            value = base(text) if base is not None else text
        except Rejected:
            raise
        except (ValueError, TypeError):
            raise Rejected(message) from None
        try:
            return validate_python(value)
        except ValidationError as error:
            raise Rejected(describe(error)) from None

    return convert


CONVERTERS: dict[Any, tuple[Callable[[str], Any] | None, str]] = {
    str: (None, "Input should be a valid string"),
    int: (int, "Input should be a valid integer"),
    float: (float, "Input should be a valid number"),
}


def converter_for(info: TypeInfo) -> Converter:
    """The converter of one value of `info` (the item type for lists)."""
    base = info.base
    if base is bool:
        func: Callable[[str], Any] | None = to_bool if info.optional else strict_bool
        message = "Input should be a valid boolean"
    elif base in CONVERTERS:
        func, message = CONVERTERS[base]
    elif get_origin(base) is Literal:
        func, message = literal_converter(base), "Invalid choice"
    else:
        return Converter(adapter_converter(info.item), "Invalid value")
    if info.item is not base:  # constraints to check after the cast
        return Converter(constrained(func, info.item), message)
    return Converter(func, message)
