"""Schemas of the image endpoints."""
from __future__ import annotations

from pydantic import BaseModel


class ImageInfo(BaseModel):
    """A stored image: its id and shape (C = channels, 1 gray or 3 RGB)."""

    id: str
    width: int
    height: int
    channels: int


class SampleInfo(ImageInfo):
    """A built-in sample; ``id`` is ``sample-<short name>`` and ``name`` is for people."""

    name: str


class PixelsResponse(ImageInfo):
    """The exact float32 values of a stored image, (C, H, W) in [0, 1]."""

    pixels: list[list[list[float]]]
