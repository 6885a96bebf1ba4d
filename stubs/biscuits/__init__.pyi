# Stubs for biscuits 0.3 (a Cython extension that ships no types).
from datetime import datetime

from typing_extensions import disjoint_base

@disjoint_base
class Cookie:
    name: str
    value: str
    max_age: int
    expires: datetime | None
    path: str | None
    domain: str | None
    secure: bool
    httponly: bool
    samesite: str | None
    def __init__(
        self,
        name: str,
        value: str,
        max_age: int = 0,
        expires: datetime | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
    ) -> None: ...

def parse(input: str) -> dict[str, str]: ...
def quote(str: str) -> str: ...
def unquote(input: str) -> str: ...
def rfc822(d: datetime) -> str: ...
