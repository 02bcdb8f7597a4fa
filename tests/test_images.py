"""app.imaging.decode: every format and Pillow mode -> float32 (C, H, W), compared with Pillow's own decoding."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from app.imaging import decode as images
from tests import hostile_corpus as hc


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def composite(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, C) and (H, W) in 0..255 -> composited on white, float64 in [0, 1]."""
    a = alpha.astype(np.float64)[:, :, None] / 255.0
    return rgb.astype(np.float64) / 255.0 * a + (1.0 - a)


def luma(rgb01: np.ndarray) -> np.ndarray:
    return 0.299 * rgb01[..., 0] + 0.587 * rgb01[..., 1] + 0.114 * rgb01[..., 2]


def chw(hwc: np.ndarray) -> np.ndarray:
    if hwc.ndim == 2:
        hwc = hwc[:, :, None]
    return np.ascontiguousarray(hwc.transpose(2, 0, 1)).astype(np.float32)


def decoded_by_pillow(data: bytes, mode: str) -> np.ndarray:
    """Pillow's decoding of ``data`` (first frame, EXIF applied), converted to ``mode``, as uint8 (H, W[, C])."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert(mode))


RGB = np.asarray(hc.gradient_rgb(24, 40))
GRAY = RGB[:, :, 0].copy()
ALPHA = ((np.indices(GRAY.shape).sum(axis=0) * 9) % 256).astype(np.uint8)


def rgb_png():
    return save(Image.fromarray(RGB), "PNG"), chw(RGB / 255.0)


def gray_png():
    return save(Image.fromarray(GRAY), "PNG"), chw(GRAY / 255.0)


def rgba_png():
    im = Image.fromarray(np.dstack([RGB, ALPHA]))
    return save(im, "PNG"), chw(composite(RGB, ALPHA))


def la_png():
    im = Image.merge("LA", [Image.fromarray(GRAY), Image.fromarray(ALPHA)])
    return save(im, "PNG"), chw(composite(GRAY[:, :, None], ALPHA))


def bilevel_png():
    bits = (GRAY > 128)
    return save(Image.fromarray(bits), "PNG"), chw(bits * 1.0)


def palette_png():
    im = Image.fromarray(RGB).quantize(16)
    data = save(im, "PNG")
    return data, chw(decoded_by_pillow(data, "RGB") / 255.0)


def palette_transparency_png():
    data = hc.palette_transparency()
    rgba = decoded_by_pillow(data, "RGBA")
    return data, chw(composite(rgba[:, :, :3], rgba[:, :, 3]))


def gray16_png():
    data = hc.gray16()
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode.startswith("I;16")
        a = np.asarray(im).astype(np.float64)
    return data, chw(a / 65535.0)


def jpeg_rgb():
    data = save(Image.fromarray(RGB), "JPEG", quality=90)
    return data, chw(decoded_by_pillow(data, "RGB") / 255.0)


def jpeg_gray():
    data = save(Image.fromarray(GRAY), "JPEG", quality=90)
    return data, chw(decoded_by_pillow(data, "L") / 255.0)


def jpeg_cmyk():
    data = hc.cmyk_jpeg()
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "CMYK"
    return data, chw(decoded_by_pillow(data, "RGB") / 255.0)


def jpeg_exif_rotated():
    data = hc.exif_rotated_jpeg()
    expected = decoded_by_pillow(data, "RGB")
    assert expected.shape[:2] == (40, 20)  # stored 40 wide × 20 high, shown rotated
    return data, chw(expected / 255.0)


def gif_first_frame():
    data = hc.animated_gif()
    return data, chw(decoded_by_pillow(data, "RGB") / 255.0)


def bmp_rgb():
    return save(Image.fromarray(RGB), "BMP"), chw(RGB / 255.0)


def bmp_gray():
    return save(Image.fromarray(GRAY), "BMP"), chw(GRAY / 255.0)


def bmp_bilevel():
    bits = (GRAY > 100)
    return save(Image.fromarray(bits), "BMP"), chw(bits * 1.0)


def webp_lossless_rgb():
    return save(Image.fromarray(RGB), "WEBP", lossless=True), chw(RGB / 255.0)


def webp_lossless_rgba():
    im = Image.fromarray(np.dstack([RGB, ALPHA]))
    return save(im, "WEBP", lossless=True, exact=True), chw(composite(RGB, ALPHA))


def webp_lossy():
    data = save(Image.fromarray(RGB), "WEBP", quality=80)
    return data, chw(decoded_by_pillow(data, "RGB") / 255.0)


FILES = [rgb_png, gray_png, rgba_png, la_png, bilevel_png, palette_png, palette_transparency_png, gray16_png,
         jpeg_rgb, jpeg_gray, jpeg_cmyk, jpeg_exif_rotated, gif_first_frame, bmp_rgb, bmp_gray, bmp_bilevel,
         webp_lossless_rgb, webp_lossless_rgba, webp_lossy]


@pytest.mark.parametrize("make", FILES, ids=[f.__name__ for f in FILES])
def test_decode_matches_pillow(make):
    data, expected = make()
    got = images.decode(data, "auto", max_side=512)
    assert got.dtype == np.float32
    if expected.shape[0] == 3 and got.shape[0] == 1:  # "auto" found a colour file with gray content
        expected = expected[:1]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("make", [rgb_png, rgba_png, jpeg_cmyk, gray_png], ids=["rgb", "rgba", "cmyk", "gray"])
def test_decode_gray_is_float_luma(make):
    data, expected = make()
    got = images.decode(data, "gray", max_side=512)
    assert got.shape[0] == 1
    if expected.shape[0] == 3:
        ref = luma(expected.astype(np.float64).transpose(1, 2, 0))
        # expected was rounded to float32 before the luma; recompute from float64 for exactness
        np.testing.assert_allclose(got[0], ref, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)


def test_decode_rgb_repeats_gray():
    data, expected = gray_png()
    got = images.decode(data, "rgb", max_side=512)
    assert got.shape == (3, *expected.shape[1:])
    for c in range(3):
        np.testing.assert_array_equal(got[c], expected[0])


def test_auto_keeps_colour_and_gray():
    assert images.decode(rgb_png()[0], "auto").shape[0] == 3
    assert images.decode(gray_png()[0], "auto").shape[0] == 1
    gray_as_rgb = save(Image.fromarray(GRAY).convert("RGB"), "PNG")
    assert images.decode(gray_as_rgb, "auto").shape[0] == 1  # equal channels: gray content


def test_resize_to_max_side_uses_lanczos():
    big = hc.gradient_rgb(300, 1000)
    data = save(big, "PNG")
    got = images.decode(data, "rgb", max_side=128)
    assert got.shape == (3, 38, 128)
    ref = np.asarray(big.resize((128, 38), Image.Resampling.LANCZOS, reducing_gap=3.0)) / 255.0
    np.testing.assert_array_equal(got, chw(ref))


def test_jpeg_large_uses_draft_and_fits():
    data = save(hc.gradient_rgb(1200, 1600), "JPEG", quality=85)
    got = images.decode(data, "auto", max_side=200)
    assert got.shape == (3, 150, 200)
    assert 0.0 <= got.min() and got.max() <= 1.0


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([[0, 1000], [65535, 30000]], dtype=np.int32), np.array([[0, 1000], [65535, 30000]]) / 65535.0),
        (np.array([[-5, 5], [15, 0]], dtype=np.int32), (np.array([[-5, 5], [15, 0]]) + 5) / 20.0),
        (np.array([[0.25, 0.5], [1.0, 0.0]], dtype=np.float32), np.array([[0.25, 0.5], [1.0, 0.0]])),
        (np.array([[-2.0, 2.0], [0.0, 1.0]], dtype=np.float32), (np.array([[-2.0, 2.0], [0.0, 1.0]]) + 2) / 4),
    ],
    ids=["I-16bit-range", "I-signed", "F-unit", "F-any"],
)
def test_modes_I_and_F(array, expected):
    im = Image.fromarray(array)
    assert im.mode in ("I", "F")
    got = images.to_array(im, "auto")
    np.testing.assert_array_equal(got, expected.astype(np.float32)[None])


def test_other_modes_convert():
    im = Image.fromarray(RGB).convert("YCbCr")
    got = images.to_array(im, "rgb")
    np.testing.assert_array_equal(got, chw(np.asarray(im.convert("RGB")) / 255.0))


def test_encode_png_round_trip():
    arr = chw(RGB / 255.0)
    png = images.encode_png(arr)
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), RGB)
    gray = images.encode_png(np.array([[[0.0, 0.5, 1.0]]], dtype=np.float32))
    with Image.open(io.BytesIO(gray)) as im:
        assert im.mode == "L"
        assert np.asarray(im).tolist() == [[0, 128, 255]]


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", images.CorruptImage),
        (b"GIF89a\x00", images.CorruptImage),
        (hc.SVG, images.UnsupportedImage),
        (hc.png_bomb(10_000, 10_000), images.ImageTooLarge),
        (hc.truncated(save(hc.noisy_rgb(), "PNG")), images.CorruptImage),
    ],
    ids=["empty", "gif-header", "svg", "bomb", "truncated"],
)
def test_decode_errors_are_typed(data, error):
    with pytest.raises(error) as info:
        images.decode(data, "auto", max_side=512, max_pixels=40_000_000)
    assert info.value.status_code == {images.CorruptImage: 422, images.UnsupportedImage: 415,
                                      images.ImageTooLarge: 413}[error]
    assert str(info.value)
