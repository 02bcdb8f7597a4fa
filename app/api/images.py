"""Uploads, stored images and the built-in samples."""
from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import Response

from app.imaging import decode as imageio
from app.api.deps import SettingsDep, StoreDep
from app.api.transport import BINARY_MEDIA_TYPE, array_response
from app.imaging.samples import all_samples
from app.schemas.common import Color, ColorOrAuto, ImageId, error_responses
from app.schemas.images import ImageInfo, PixelsResponse, SampleInfo
from app.imaging.store import ImageStore, is_valid_id

router = APIRouter(prefix="/api", tags=["images"])

MISSING_HINT = "upload the image again (servers keep uploads in a bounded memory cache, per worker)"


def missing_image(image_id: str) -> HTTPException:
    return HTTPException(404, f"unknown image id {image_id!r}: it is not on this server; {MISSING_HINT}")


def fetch_image(store: ImageStore, image_id: str, color: str | None = None) -> np.ndarray:
    """The stored (C, H, W) float32 array for ``image_id``, converted to ``color``; 404 if absent."""
    if not is_valid_id(image_id):
        raise HTTPException(422, "image_id: not a valid image id (ids are hex digests or sample-<name>)")
    arr = store.get(image_id)
    if arr is None:
        raise missing_image(image_id)
    return imageio.convert(arr, color or "auto")


def _info(image_id: str, arr: np.ndarray) -> dict:
    c, h, w = arr.shape
    return {"id": image_id, "width": w, "height": h, "channels": c}


@router.post(
    "/images",
    status_code=201,
    response_model=ImageInfo,
    responses=error_responses(400, 413, 415, 422),
)
def upload_image(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="PNG, JPEG, GIF (first frame), BMP or WebP")],
    max_side_form: Annotated[int | None, Form(alias="max_side", ge=1, le=4096)] = None,
    color_form: Annotated[ColorOrAuto | None, Form(alias="color")] = None,
    max_side: Annotated[int | None, Query(ge=1, le=4096, description="longest side after resizing")] = None,
    color: Annotated[ColorOrAuto | None, Query(description='"auto" keeps gray images gray')] = None,
) -> dict:
    """Upload an image; it is decoded, resized to max_side and stored under a content id."""
    side = max_side_form if max_side_form is not None else max_side
    side = settings.max_side if side is None else side
    if side > settings.max_side_limit:
        raise HTTPException(422, f"max_side: {side} is above this server's limit of {settings.max_side_limit}")
    mode = color_form or color or "auto"
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, f"file: the upload is larger than the limit of {settings.max_upload_bytes:,} bytes")
    pixels = imageio.decode(data, mode, max_side=side, max_pixels=settings.max_image_pixels,
                            gate=getattr(request.app.state, "decode_gate", None))
    del data
    image_id = store.put(pixels)
    return _info(image_id, pixels)


@router.post(
    "/images/{image_id}/resized",
    response_model=ImageInfo,
    responses=error_responses(404, 422),
)
def resize_image(
    settings: SettingsDep,
    store: StoreDep,
    image_id: Annotated[ImageId, Path()],
    max_side: Annotated[int, Query(ge=1, le=4096, description="longest side of the copy")],
) -> dict:
    """A copy of a stored image (a sample or an upload) shrunk to ``max_side``, stored under its own id.

    What the page's "max side" asks for: every lab then computes on the smaller copy.
    An image already within ``max_side`` answers with its own id (never enlarged).
    """
    if max_side > settings.max_side_limit:
        raise HTTPException(422, f"max_side: {max_side} is above this server's limit of {settings.max_side_limit}")
    arr = fetch_image(store, image_id)
    small = imageio.resample(arr, max_side)
    if small is arr:
        return _info(image_id, arr)
    return _info(store.put(small), small)


@router.get(
    "/images/{image_id}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The stored image as an 8-bit PNG"},
               **error_responses(404, 422)},
)
def get_image(store: StoreDep, image_id: Annotated[ImageId, Path()]) -> Response:
    """The stored image as PNG (8-bit gray or RGB)."""
    arr = fetch_image(store, image_id)
    return Response(imageio.encode_png(arr), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get(
    "/images/{image_id}/pixels",
    response_model=PixelsResponse,
    responses={200: {"content": {BINARY_MEDIA_TYPE: {}}}, **error_responses(404, 422)},
)
def get_pixels(
    request: Request,
    store: StoreDep,
    image_id: Annotated[ImageId, Path()],
    color: Annotated[Color | None, Query(description="convert to gray or rgb; default: as stored")] = None,
):
    """The exact float32 pixels (C, H, W): CLB1 binary with Accept: application/x-convlab-arrays, else JSON."""
    arr = fetch_image(store, image_id, color)
    return array_response(request, _info(image_id, arr), {"pixels": arr})


@router.get("/samples", response_model=list[SampleInfo])
def list_samples() -> list[dict]:
    """The built-in sample images; their ids work wherever an image id does."""
    return [s.info() for s in all_samples()]
