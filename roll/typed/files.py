"""`UploadFile`: an uploaded file as a typed object."""

from __future__ import annotations

from typing import Any


class UploadFile:
    """One file of a multipart body: `filename`, `content_type` (str) and
    `content` (bytes, read once on first access). `raw` is the core's file object."""

    __slots__ = ("raw", "filename", "content_type", "_content")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.filename: str = raw.filename or ""
        content_type = raw.content_type
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        self.content_type: str = content_type or ""
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        if self._content is None:
            seek = getattr(self.raw, "seek", None)
            if seek is not None:
                seek(0)
            self._content = bytes(self.raw.read())
        return self._content

    def read(self) -> bytes:
        return self.content

    @property
    def size(self) -> int:
        return len(self.content)

    def __repr__(self) -> str:
        return f"<UploadFile {self.filename!r} {self.content_type!r}>"
