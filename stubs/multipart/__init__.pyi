# Stubs for multipart 2.x: the part of its API this project uses (it ships no py.typed).
from collections.abc import Callable, Generator
from typing import Any, TypeAlias

t_ByteString: TypeAlias = bytes | bytearray
t_ParserEvent: TypeAlias = MultipartSegment | bytes | None

class MultipartError(ValueError): ...
class ParserError(MultipartError): ...
class StrictParserError(ParserError): ...
class ParserLimitReached(MultipartError): ...
class ParserStateError(MultipartError): ...

def parse_options_header(
    header: str,
    options: dict[str, str] | None = None,
    unquote: Callable[..., str] = ...,
) -> tuple[str, dict[str, str]]: ...
def content_disposition_unquote(val: str, filename: bool = False) -> str: ...
def parse_content_disposition(value: str) -> tuple[str, str | None, str | None]: ...

class PushMultipartParser:
    boundary: bytes
    content_length: int
    header_charset: str
    max_header_size: float
    max_header_count: float
    max_segment_size: float
    max_segment_count: float
    strict: bool
    closed: bool
    error: MultipartError | None
    def __init__(
        self,
        boundary: str | t_ByteString,
        content_length: int = -1,
        max_header_size: float = 4224,
        max_header_count: float = 8,
        max_segment_size: float = ...,
        max_segment_count: float = ...,
        header_charset: str = "utf8",
        strict: bool = False,
    ) -> None: ...
    def __enter__(self) -> PushMultipartParser: ...
    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None: ...
    def parse(self, chunk: t_ByteString) -> Generator[t_ParserEvent, None, None]: ...
    def close(self, check_complete: bool = True) -> None: ...

class MultipartSegment:
    headerlist: list[tuple[str, str]]
    disposition: str | None
    name: str | None
    filename: str | None
    content_type: str | None
    charset: str | None
    bytes_received: int
    complete: bool
    def __init__(self, headerlist: list[tuple[str, str]]) -> None: ...
    @property
    def size(self) -> int: ...
    def header(self, name: str, default: Any = None) -> Any: ...
    def __getitem__(self, name: str) -> str: ...
