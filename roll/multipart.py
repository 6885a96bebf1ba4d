"""Streaming multipart/form-data parsing on top of `multipart`'s push parser.

Fields go to a `Form`, file parts to a `Files` of `UploadedFile`s that spool
to disk past `UploadedFile.MEMORY_SIZE`, so a large upload never sits in RAM.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from tempfile import SpooledTemporaryFile
from typing import ClassVar, Protocol
from urllib.parse import unquote_to_bytes

import multipart as multipart_parser

from .http import HttpError
from .multidict import Files, Form

# `multipart` ignores RFC 2231 extended parameters (`filename*=utf-8''...`).
# ASCII: a raw latin-1 byte such as 0xA0 is part of a value, not a space.
EXTENDED_PARAM = re.compile(r"""(?:^|;)\s*([\w.-]+)\*\s*=\s*([\w.-]*)'[\w-]*'([^;\s]*)""", re.ASCII)


class UploadedFile(SpooledTemporaryFile[bytes]):
    """A file part: a file-like object with the part's metadata."""

    MEMORY_SIZE = 1024 * 1024

    def __init__(
        self, filename: str, content_type: bytes, params: dict[str, str]
    ) -> None:
        super().__init__(max_size=self.MEMORY_SIZE)
        self.filename = filename
        self.content_type = content_type
        self.params = params

    def __repr__(self) -> str:
        return f"<UploadedFile {self.filename!r} {self.content_type!r}>"


def header_text(raw: str) -> str:
    """A part header as the client meant it.

    Headers are parsed as latin-1 (one character per byte: nothing refused);
    browsers send UTF-8, some clients latin-1: UTF-8 when the bytes are UTF-8.
    """
    if raw.isascii():
        return raw
    try:
        return raw.encode("latin-1").decode()
    except UnicodeDecodeError:
        return raw


def disposition_params(header: str) -> dict[str, str]:
    """Every parameter of a Content-Disposition header, RFC 2231 ones decoded.

    `header` is the latin-1 reading of the header's bytes: an extended
    parameter (`filename*=iso-8859-1''caf%E9`, or with the raw bytes) is
    decoded with the charset it declares.
    """
    _, params = multipart_parser.parse_options_header(
        header_text(header), unquote=multipart_parser.content_disposition_unquote
    )
    for name, charset, value in EXTENDED_PARAM.findall(header):
        try:
            raw = unquote_to_bytes(value.encode("latin-1"))
            params[name] = raw.decode(charset or "utf-8")
        except (LookupError, UnicodeError):
            raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")
    return params


class MultipartApp(Protocol):
    """What the parser needs of the app (`roll.Roll` is one): the classes it builds."""

    @property
    def Form(self) -> type[Form]: ...

    @property
    def Files(self) -> type[Files]: ...

    @property
    def Multipart(self) -> type[Multipart]: ...


class Multipart:
    """Feed it a multipart body chunk by chunk; it fills a Form and a Files.

    The limits below answer 413 when crossed: change them on a subclass set
    as `app.Multipart`, or on this class for every app.
    """

    MAX_PARTS: ClassVar[int | None] = 100  # fields and files together
    MAX_FIELD_SIZE: ClassVar[int | None] = 1024 * 1024  # bytes of a text field (held in memory)
    MAX_FILE_SIZE: ClassVar[int | None] = 64 * 1024 * 1024  # bytes of one file (spooled to disk)

    def __init__(self, app: MultipartApp | None = None) -> None:
        self.app = app
        self.form = app.Form() if app is not None else Form()
        self.files = app.Files() if app is not None else Files()
        self._parser: multipart_parser.PushMultipartParser | None = None
        self._name = ""
        self._field: list[bytes] | None = None
        self._file: UploadedFile | None = None
        self._charset = "utf-8"
        self._parts = 0
        self._size = 0

    def initialize(self, content_type: str) -> tuple[Form, Files]:
        _, options = multipart_parser.parse_options_header(content_type)
        boundary = options.get("boundary")
        if not boundary:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")
        try:
            self._parser = multipart_parser.PushMultipartParser(boundary, header_charset="latin-1")
        except multipart_parser.MultipartError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")
        return self.form, self.files

    def feed_data(self, data: bytes) -> None:
        assert self._parser is not None, "call initialize() first"
        try:
            for event in self._parser.parse(data):
                if isinstance(event, multipart_parser.MultipartSegment):
                    self._on_part(event)
                elif event is None:
                    self._on_part_end()
                elif self._file is not None:
                    self._size += len(event)
                    if self.MAX_FILE_SIZE is not None and self._size > self.MAX_FILE_SIZE:
                        raise self._too_large(f"Multipart file too large (limit: {self.MAX_FILE_SIZE} bytes)")
                    self._file.write(event)
                elif self._field is not None:
                    self._size += len(event)
                    if self.MAX_FIELD_SIZE is not None and self._size > self.MAX_FIELD_SIZE:
                        raise self._too_large(f"Multipart field too large (limit: {self.MAX_FIELD_SIZE} bytes)")
                    self._field.append(event)
        except multipart_parser.MultipartError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")

    def close(self) -> None:
        """Check the body ended with the closing boundary, after one part at least."""
        if self._parser is not None:
            try:
                self._parser.close()
            except multipart_parser.MultipartError:
                raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")
            if not self._parts:  # RFC 7578 §4.1: one or more parts
                raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")

    def abort(self) -> None:
        """The body is refused: close every uploaded file, the one being written too."""
        for upload in [*(f for uploads in self.files.values() for f in uploads), self._file]:
            if upload is not None:
                upload.close()
        self._file = None

    def _too_large(self, message: str) -> HttpError:
        if self._file is not None:
            self._file.close()
            self._file = None
        return HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message)

    def _on_part(self, segment: multipart_parser.MultipartSegment) -> None:
        self._parts += 1
        self._size = 0
        if self.MAX_PARTS is not None and self._parts > self.MAX_PARTS:
            raise self._too_large(f"Too many multipart parts (limit: {self.MAX_PARTS})")
        params = disposition_params(segment.header("Content-Disposition", "") or "")
        self._name = params.get("name", "")
        filename = params.get("filename")
        content_type = segment.header("Content-Type")
        if filename is not None:  # RFC 7578 §4.2: a file has a filename; a field may have a type
            self._file = UploadedFile(
                filename=filename,
                content_type=(content_type or "application/octet-stream").encode("latin-1"),
                params=params,
            )
        else:
            self._field = []
            self._charset = segment.charset or "utf-8"

    def _on_part_end(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self.files.setdefault(self._name, []).append(self._file)
            self._file = None
        elif self._field is not None:
            try:
                value = b"".join(self._field).decode(self._charset)
            except (LookupError, UnicodeDecodeError):
                raise HttpError(HTTPStatus.BAD_REQUEST, "Unparsable multipart body")
            self.form.setdefault(self._name, []).append(value)
            self._field = None


def parse_multipart(app: MultipartApp | None, content_type: str, body: bytes) -> tuple[Form, Files]:
    parser = app.Multipart(app) if app is not None else Multipart(app)
    form, files = parser.initialize(content_type)
    try:
        parser.feed_data(body)
        parser.close()
    except HttpError:
        parser.abort()
        raise
    return form, files


__all__ = ["Multipart", "UploadedFile", "parse_multipart", "disposition_params"]


