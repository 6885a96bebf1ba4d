"""Types the typed-layer tests share."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from typing_extensions import TypedDict


class Item(BaseModel):
    name: str
    price: float


@dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int
