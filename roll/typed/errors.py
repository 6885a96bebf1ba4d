"""Errors: one 400 for all the invalid input of a request, and the
registration-time error for handlers that cannot be resolved."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypedDict

from pydantic_core import to_json

from roll import HttpError



class Problem(TypedDict):
    """One invalid input: where it was looked for, its name, what is wrong."""

    location: str
    name: str
    message: str


def problem(location: str, name: str, message: str) -> Problem:
    return {"location": location, "name": name, "message": message}


class Invalid(Exception):
    """Internal: raised by an extractor, carries its problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def invalid(location: str, name: str, message: str) -> Invalid:
    return Invalid([problem(location, name, message)])


class InvalidRequest(HttpError):
    """400: every problem of the request at once.

    `.problems` is the list; `.message` (the default response body) is
    `{"errors": [...]}` as JSON text. The typed endpoint also sets the JSON
    Content-Type before raising, so an `error` listener receives this error
    with a ready JSON response, and may reshape it (`response.json = ...`).
    """

    problems: list[Problem]

    def __init__(self, problems: list[Problem]) -> None:
        unique: list[Problem] = []
        for item in problems:
            if item not in unique:
                unique.append(item)
        self.problems = unique
        super().__init__(HTTPStatus.BAD_REQUEST, self.to_json())

    def to_json(self) -> str:
        return to_json({"errors": self.problems}).decode()


class RouteDefinitionError(TypeError):
    """A handler that cannot be resolved, found when the route is registered."""

    def __init__(self, route: str, handler: str, parameter: str | None, reason: str) -> None:
        self.route = route
        self.handler = handler
        self.parameter = parameter
        self.reason = reason
        where = f"parameter {parameter!r} of " if parameter else ""
        super().__init__(f"Route {route!r}: {where}handler {handler}: {reason}")
