"""Image bytes <-> float32 arrays (C, H, W) in [0, 1]: the only module that imports Pillow.

Decoding happens in three steps, each of which can refuse the file with a typed
error that the HTTP layer maps to a status code:

1. identify the format from the header alone (415 when it is not PNG, JPEG, GIF,
   BMP or WebP) and check the declared width × height (413 before any pixel is
   decoded);
2. decode the first frame, apply the EXIF orientation, bring every Pillow mode to
   L / LA / RGB / RGBA / I / F, and shrink it to ``max_side`` with Lanczos (422 when
   the data is truncated or corrupt);
3. convert to float32 in [0, 1], compositing any transparency on white, and
   choose gray or RGB.

Memory stays proportional to what is kept where the format allows it: libjpeg
decodes a JPEG at 1/2, 1/4 or 1/8 scale when that is still larger than needed
(``draft``), and a big image of another format is resized as soon as it is decoded
and its full-size pixels released before the rest of the work. PNG, GIF, BMP and WebP have to be
decoded whole, so a ``DecodeGate`` lets only a few declared-large images decode at
once per worker (the rest wait their turn), and Pillow's big buffers are allocated
in 64 MiB blocks, above glibc's mmap threshold, so that they go back to the system
the moment a decode ends instead of staying in a thread's malloc arena.

Gray from RGB is the ITU-R 601 luma ``0.299 R + 0.587 G + 0.114 B``, computed in
float (not rounded to 8 bits as Pillow's ``convert("L")`` does).
"""
from __future__ import annotations

import io
import threading
import warnings
from contextlib import contextmanager, nullcontext
from typing import Literal

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from app.errors import InvalidArgument

Color = Literal["gray", "rgb", "auto"]

# Pillow's decoders for the formats ConvLab accepts (the JPEG opener also returns the
# multi-picture "MPO" JPEGs that many phone cameras write).
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
FORMAT_NAMES = "PNG, JPEG, GIF, BMP or WebP"
LUMA = (0.299, 0.587, 0.114)

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Our own pixel limit (checked from the header) is stricter than Pillow's warning
# threshold; Pillow's hard DecompressionBombError stays on as a second line.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)
# Pillow allocates big images in blocks of this size; at 64 MiB every block of a big image
# is above glibc's largest mmap threshold (32 MiB), so freeing the image returns its memory
# to the system at once (16 MiB blocks came from the heap and stayed resident).
PILLOW_BLOCK_BYTES = 64 * 1024 * 1024
Image.core.set_block_size(PILLOW_BLOCK_BYTES)


class DecodeGate:
    """At most ``slots`` images of more than ``large_pixels`` declared pixels decode at once.

    Small images pass without waiting; a large one waits (in its worker thread) for a
    slot, so the memory of simultaneous large decodes is bounded by ``slots`` × one.
    """

    def __init__(self, slots: int, large_pixels: int):
        self.slots = slots
        self.large_pixels = large_pixels
        self._sem = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self, pixels: int):
        if pixels <= self.large_pixels:
            yield
            return
        with self._sem:
            yield


class ImageError(Exception):
    """An upload ConvLab cannot use; ``status_code`` is the HTTP answer."""

    status_code = 422


class ImageTooLarge(ImageError):
    status_code = 413


class UnsupportedImage(ImageError):
    status_code = 415


class CorruptImage(ImageError):
    status_code = 422


# --- identification -------------------------------------------------------------

_SIGNATURES = [
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
    (b"8BPS", "a Photoshop document"),
    (b"\x1f\x8b", "a gzip archive"),
]


def _supported_signature(data: bytes) -> str | None:
    """The format a file claims by its first bytes, if it is one ConvLab reads."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _describe(data: bytes) -> str | None:
    """A guess at what a refused file is, for the error message."""
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            return what
    if data[4:12] in (b"ftypavif", b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "an AVIF/HEIC image"
    head = data[:512].lstrip().lower()
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in data[:4096].lower()):
        return "an SVG drawing (vector images are not supported; export it as PNG)"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML page"
    if head.startswith(b"<?xml"):
        return "an XML document"
    try:
        data[:256].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if b"\x00" in data[:256] else "a text file"


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily (header only), refusing unsupported formats and oversized images."""
    if not data:
        raise CorruptImage("the uploaded file is empty; choose a PNG, JPEG, GIF, BMP or WebP image")
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"the image declares more pixels than the limit of {max_pixels:,}") from None
    except UnidentifiedImageError:
        claimed = _supported_signature(data)
        if claimed:
            raise CorruptImage(f"the file starts like a {claimed} image but its header is damaged or incomplete") from None
        what = _describe(data)
        prefix = f"the file looks like {what}, not" if what else "the file is not"
        raise UnsupportedImage(f"{prefix} an image ConvLab can read ({FORMAT_NAMES})") from None
    except MemoryError:
        raise ImageTooLarge("the image needs more memory than the server allows") from None
    except Exception as exc:  # any header parser failure (OSError, SyntaxError, struct.error, ...)
        raise CorruptImage(f"the image file is damaged and cannot be read{_reason(exc)}") from None
    w, h = im.size
    if w < 1 or h < 1:
        raise CorruptImage(f"the image declares an empty size {w}×{h}")
    if w * h > max_pixels:
        raise ImageTooLarge(
            f"the image is {w}×{h} = {w * h:,} pixels; the limit is {max_pixels:,} pixels. "
            "Shrink it before uploading."
        )
    return im


# What Pillow's complaints mean, in words for the person who chose the file. Pillow's own
# text names its internals (``PngImagePlugin.MAX_TEXT_CHUNK``) and is never shown.
_REASONS = (
    (("max_text_chunk", "text chunk", "too much memory used in text"),
     "its text metadata is larger than ConvLab reads, as in a decompression bomb"),
    (("truncated", "not enough data", "unexpected end", "premature end", "ended"),
     "the file ends before the image does"),
    (("crc", "checksum", "adler"), "a checksum does not match, so the data was damaged"),
    (("broken data stream", "decoder error", "invalid", "corrupt", "bad"), "its compressed data is damaged"),
)


def _reason(exc: BaseException) -> str:
    """`` (why)`` for a known kind of damage, or nothing."""
    text = str(exc).lower()
    for needles, reason in _REASONS:
        if any(n in text for n in needles):
            return f" ({reason})"
    return ""


# --- decoding -------------------------------------------------------------------

_GRAY_MODES = {"1", "L", "LA", "La", "I", "F"}


def _normalise_mode(im: Image.Image) -> tuple[Image.Image, float | None]:
    """Bring any mode to L, LA, RGB, RGBA, I or F; returns (image, integer scale or None)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return im, 255.0
    if mode == "1":
        return im.convert("L"), 255.0
    if mode.startswith("I;16"):
        return im.convert("I"), 65535.0
    if mode == "I":
        return im, None  # decided from the values
    if mode == "F":
        return im, None
    if mode == "P":
        alpha = "transparency" in im.info or (im.palette is not None and im.palette.mode == "RGBA")
        return im.convert("RGBA" if alpha else "RGB"), 255.0
    if mode == "PA":
        return im.convert("RGBA"), 255.0
    if mode == "La":
        return im.convert("LA"), 255.0
    if mode == "RGBa":
        return im.convert("RGBA"), 255.0
    return im.convert("RGB"), 255.0  # CMYK, YCbCr, LAB, HSV, RGBX




BANDED_FROM_BYTES = 32 * 1024 * 1024  # decoded images larger than this are resized band by band
BAND_ROWS = 64  # output rows per band
LANCZOS_SUPPORT = 3.0  # Lanczos-3: taps reach 3 output pixels either side


def shrink_early(im: Image.Image, max_side: int) -> Image.Image:
    """Resize a big decoded 8-bit image to ``max_side`` now, so the caller can free the full-size pixels.

    A large image is resized band by band: each band of output rows is computed from a
    crop of the source rows its Lanczos taps reach, so besides the decoded pixels only
    a band's worth of memory is used (a whole-image resize would first convert an RGBA
    image to premultiplied alpha: a second full-size copy). Within a band the result is
    Pillow's own Lanczos resize. 16-bit and float images are left to ``to_array``,
    which reads their value range first.
    """
    size = _target_size(*im.size, max_side)
    if size == im.size:
        return im
    work, scale = _normalise_mode(im)
    if scale != 255.0:
        return work
    w, h = work.size
    if w * h * len(work.getbands()) <= BANDED_FROM_BYTES:
        resized = work.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    else:
        resized = _banded_resize(work, size)
    if work is not im:
        work.close()
    return resized


def _banded_resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos resize of a big image computed BAND_ROWS output rows at a time."""
    w, h = im.size
    tw, th = size
    step = h / th  # source rows per output row
    margin = int(LANCZOS_SUPPORT * max(step, 1.0)) + 2
    out = Image.new(im.mode, size)
    for r0 in range(0, th, BAND_ROWS):
        r1 = min(th, r0 + BAND_ROWS)
        y0, y1 = r0 * step, r1 * step
        c0, c1 = max(0, int(y0) - margin), min(h, int(y1) + 1 + margin)
        band = im.crop((0, c0, w, c1))
        part = band.resize((tw, r1 - r0), Image.Resampling.LANCZOS, box=(0, y0 - c0, w, y1 - c0), reducing_gap=3.0)
        out.paste(part, (0, r0))
        band.close()
        part.close()
    return out


def _target_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    if max(w, h) <= max_side:
        return w, h
    scale = max_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def to_array(im: Image.Image, color: Color = "auto", max_side: int | None = None) -> np.ndarray:
    """A loaded Pillow image -> float32 (C, H, W) in [0, 1] (C = 1 gray, 3 RGB)."""
    src_image = im
    src_mode = im.mode
    im, scale = _normalise_mode(im)
    if max_side is not None:
        size = _target_size(*im.size, max_side)
        if size != im.size:
            resized = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            if im is not src_image:
                im.close()  # a converted copy: give its memory back at once
            im = resized
    a = np.asarray(im)
    if a.ndim == 2:
        a = a[:, :, None]
    a = a.astype(np.float64)
    # In place where possible: the same float64 arithmetic with fewer image-sized temporaries.
    if scale is None:
        a = _rescale(a)
    else:
        a /= scale
    if im.mode in ("LA", "RGBA"):
        alpha = a[:, :, -1:]
        a = a[:, :, :-1]
        a *= alpha
        a += 1.0 - alpha  # composite on white
    np.clip(a, 0.0, 1.0, out=a)
    chw = np.ascontiguousarray(a.transpose(2, 0, 1))
    gray_source = src_mode in _GRAY_MODES or src_mode.startswith("I;16")
    if color == "gray" or (color == "auto" and (gray_source or _channels_equal(chw))):
        chw = to_gray(chw)
    elif color == "rgb":
        chw = to_rgb(chw)
    return np.ascontiguousarray(chw, dtype=np.float32)


def resample(chw: np.ndarray, max_side: int) -> np.ndarray:
    """A stored (C, H, W) image shrunk so its longest side is at most ``max_side``.

    The same Lanczos filter as an upload's resize (``to_array``), applied per channel
    on the float values (Pillow mode "F"), clipped back to [0, 1]. An image already
    small enough comes back unchanged (the same array): images are never enlarged.
    """
    if max_side < 1:
        raise InvalidArgument(f"max_side must be at least 1, not {max_side}")
    c, h, w = chw.shape
    tw, th = _target_size(w, h, max_side)
    if (tw, th) == (w, h):
        return chw
    planes = []
    for plane in np.asarray(chw, dtype=np.float32):
        im = Image.fromarray(np.ascontiguousarray(plane), mode="F")
        planes.append(np.asarray(im.resize((tw, th), Image.Resampling.LANCZOS, reducing_gap=3.0)))
    return np.ascontiguousarray(np.clip(np.stack(planes), 0.0, 1.0), dtype=np.float32)


def _rescale(a: np.ndarray) -> np.ndarray:
    """Mode I / F values: kept if already in [0, 1], read as 16-bit if in 0..65535, else min-max."""
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0.0 and hi <= 1.0:
        return a
    if lo >= 0.0 and hi <= 65535.0 and np.all(a == np.round(a)):
        return a / 65535.0
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _channels_equal(chw: np.ndarray) -> bool:
    return chw.shape[0] == 3 and bool(np.array_equal(chw[0], chw[1]) and np.array_equal(chw[1], chw[2]))


def to_gray(chw: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (1, H, W): luma for RGB, unchanged for gray."""
    if chw.shape[0] == 1:
        return chw
    x = chw.astype(np.float64)
    y = LUMA[0] * x[0] + LUMA[1] * x[1] + LUMA[2] * x[2]
    return y[None].astype(chw.dtype)


def to_rgb(chw: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (3, H, W): gray repeated, RGB unchanged."""
    if chw.shape[0] == 3:
        return chw
    return np.repeat(chw, 3, axis=0)


def convert(chw: np.ndarray, color: Color) -> np.ndarray:
    """A stored image in the colour a request asks for ("auto" keeps it as stored)."""
    if color == "gray":
        return to_gray(chw)
    if color == "rgb":
        return to_rgb(chw)
    return chw


def decode(data: bytes, color: Color = "auto", max_side: int = 512, max_pixels: int = 40_000_000,
           gate: DecodeGate | None = None) -> np.ndarray:
    """Image file bytes -> float32 (C, H, W) in [0, 1], longest side at most ``max_side``.

    ``gate`` bounds how many large images decode at once (see ``DecodeGate``).
    Raises ImageTooLarge (413), UnsupportedImage (415) or CorruptImage (422).
    """
    if color not in ("gray", "rgb", "auto"):
        raise InvalidArgument(f"color must be 'gray', 'rgb' or 'auto', not {color!r}")
    if max_side < 1:
        raise InvalidArgument(f"max_side must be at least 1, not {max_side}")
    im = _open(data, max_pixels)
    w, h = im.size
    try:
        with gate.slot(w * h) if gate is not None else nullcontext(), im:
            if im.format == "JPEG" or im.format == "MPO":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result is still larger
                # than needed: far less memory and time for camera photos.
                w, h = im.size
                tw, th = _target_size(w, h, max_side)
                if (tw, th) != (w, h) and im.mode in ("RGB", "L"):
                    im.draft(im.mode, (tw, th))
            im.load()
            ImageOps.exif_transpose(im, in_place=True)  # (not a copy of the full-size pixels)
            small = shrink_early(im, max_side)
            if small is not im:
                im.close()  # the full-size pixels go back to the system now, not at the end
            return to_array(small, color, max_side)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"the image declares more pixels than the limit of {max_pixels:,}") from None
    except MemoryError:
        raise ImageTooLarge("decoding the image needs more memory than the server allows") from None
    except Exception as exc:  # truncated data, bad checksums, broken streams: Pillow raises many kinds
        raise CorruptImage(f"the {im.format or 'image'} file is truncated or corrupt{_reason(exc)}") from None


# --- encoding -------------------------------------------------------------------


def to_uint8(chw: np.ndarray) -> np.ndarray:
    """float (C, H, W) in [0, 1] -> uint8 (H, W) or (H, W, 3), rounded to nearest."""
    a = np.clip(np.nan_to_num(np.asarray(chw, dtype=np.float64)), 0.0, 1.0)
    u8 = np.rint(a * 255.0).astype(np.uint8)
    if u8.shape[0] == 1:
        return u8[0]
    if u8.shape[0] == 3:
        return np.ascontiguousarray(u8.transpose(1, 2, 0))
    raise InvalidArgument(f"an image has 1 or 3 channels, not {u8.shape[0]}")


def encode_png(chw: np.ndarray) -> bytes:
    """float (C, H, W) in [0, 1] with C = 1 or 3 -> PNG bytes (8-bit L or RGB)."""
    u8 = to_uint8(chw)
    im = Image.fromarray(u8)  # uint8 (H, W) -> L, (H, W, 3) -> RGB
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def read_png_file(path) -> np.ndarray:
    """A file shipped with ConvLab (sample photographs) -> float32 (C, H, W)."""
    with open(path, "rb") as fh:
        data = fh.read()
    return decode(data, "auto", max_side=512, max_pixels=10_000_000)
