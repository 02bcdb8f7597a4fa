"""The hostile-upload corpus: each file made here, with the status ConvLab must answer.

``python -m tests.hostile_corpus DIR`` writes the files to DIR (for manual poking);
the tests build them in memory.
"""
from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    make: Callable[[], bytes]
    status: int
    shape: tuple[int, int, int] | None = None  # (C, H, W) expected on success


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def gradient_rgb(h: int = 48, w: int = 64) -> Image.Image:
    yy, xx = np.indices((h, w))
    a = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], axis=-1)
    return Image.fromarray(a.astype(np.uint8))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(w: int, h: int) -> bytes:
    """A tiny PNG that declares w×h gray pixels (its data is one compressed zero run)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024, 9)  # far too little data: never decoded if refused first
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def gif_bomb() -> bytes:
    """A GIF whose screen and first frame declare 65535×65535 pixels."""
    small = _save(Image.new("P", (1, 1)), "GIF")
    data = bytearray(small)
    data[6:10] = struct.pack("<HH", 65535, 65535)
    i = data.index(b",")  # image descriptor
    data[i + 5 : i + 9] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def bad_crc_png() -> bytes:
    data = bytearray(_save(gradient_rgb(), "PNG"))
    i = data.index(b"IDAT")
    n = struct.unpack(">I", data[i - 4 : i])[0]
    data[i + 4 + n] ^= 0xFF  # first CRC byte of the IDAT chunk
    data[i + 4 + n // 2] ^= 0x55  # and a data byte, so the zlib stream breaks too
    return bytes(data)


def truncated(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


def noisy_rgb(h: int = 64, w: int = 64) -> Image.Image:
    # Noise keeps the compressed stream long, so truncation cuts into pixel data.
    return Image.fromarray(np.random.default_rng(5).integers(0, 256, (h, w, 3), dtype=np.uint8))


def animated_gif() -> bytes:
    frames = [Image.new("P", (8, 8), i * 40) for i in range(3)]
    for f in frames:
        f.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def palette_transparency() -> bytes:
    im = Image.new("P", (16, 16), 0)
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (3 * 253))
    for y in range(16):
        for x in range(16):
            im.putpixel((x, y), (x + y) % 3)
    return _save(im, "PNG", transparency=1)


def gray16() -> bytes:
    a = (np.arange(32 * 40).reshape(32, 40) * 51).astype(np.uint16)
    return _save(Image.fromarray(a), "PNG")


def la_png() -> bytes:
    l = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (16, 1))
    a = np.repeat(np.arange(0, 256, 16, dtype=np.uint8)[:, None], 32, axis=1)
    return _save(Image.merge("LA", [Image.fromarray(l), Image.fromarray(a)]), "PNG")


def cmyk_jpeg() -> bytes:
    return _save(gradient_rgb().convert("CMYK"), "JPEG", quality=95)


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    return _save(gradient_rgb(20, 40), "JPEG", quality=95, exif=exif)


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(range(256)) * 4


def zip_file() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("image.png", _save(gradient_rgb(), "PNG"))
    return buf.getvalue()


def polyglot_png_zip_html() -> bytes:
    """A valid PNG followed by an HTML page and a ZIP: it decodes as the PNG, and only pixels are kept."""
    return _save(gradient_rgb(), "PNG") + b"<html><script>alert(1)</script></html>" + zip_file()


def polyglot_gif_js() -> bytes:
    """A file that is both a (broken) GIF header and JavaScript."""
    return b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(document.domain);//" + b"\x00" * 32


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' \
      b'<script>alert(1)</script><rect width="10" height="10"/></svg>'
HTML = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"

PNG_RGB = lambda: _save(gradient_rgb(), "PNG")  # noqa: E731

CASES: list[Case] = [
    Case("zero bytes", "empty.png", lambda: b"", 422),
    Case("truncated PNG", "cut.png", lambda: truncated(_save(noisy_rgb(), "PNG")), 422),
    Case("truncated JPEG", "cut.jpg", lambda: truncated(_save(noisy_rgb(), "JPEG", quality=90)), 422),
    Case("truncated GIF", "cut.gif", lambda: truncated(_save(noisy_rgb().convert("P"), "GIF")), 422),
    Case("truncated WebP", "cut.webp", lambda: truncated(_save(noisy_rgb(), "WEBP", quality=90)), 422),
    Case("PNG header only", "head.png", lambda: _save(gradient_rgb(), "PNG")[:40], 422),
    Case("PNG with a bad CRC", "crc.png", bad_crc_png, 422),
    Case("PNG bomb 100000×100000", "bomb.png", lambda: png_bomb(100_000, 100_000), 413),
    Case("PNG bomb 7000×7000 (just over the pixel limit)", "bomb2.png", lambda: png_bomb(7000, 7000), 413),
    Case("GIF bomb 65535×65535", "bomb.gif", gif_bomb, 413),
    Case("1×1", "dot.png", lambda: _save(Image.new("L", (1, 1), 200), "PNG"), 201, (1, 1, 1)),
    Case("1×20000", "tall.png", lambda: _save(Image.new("L", (1, 20000), 90), "PNG"), 201, (1, 512, 1)),
    Case("20000×1", "wide.png", lambda: _save(Image.new("L", (20000, 1), 90), "PNG"), 201, (1, 1, 512)),
    Case("16-bit grayscale PNG", "g16.png", gray16, 201, (1, 32, 40)),
    Case("CMYK JPEG", "cmyk.jpg", cmyk_jpeg, 201, (3, 48, 64)),
    Case("palette with transparency", "ptrns.png", palette_transparency, 201, (3, 16, 16)),
    Case("LA (gray + alpha)", "la.png", la_png, 201, (1, 16, 32)),
    Case("animated GIF", "anim.gif", animated_gif, 201, (3, 8, 8)),
    Case("EXIF-rotated JPEG", "rot.jpg", exif_rotated_jpeg, 201, (3, 40, 20)),
    Case("HTML", "page.png", lambda: HTML, 415),
    Case("SVG", "drawing.svg", lambda: SVG, 415),
    Case("ZIP", "archive.png", zip_file, 415),
    Case("ELF executable renamed .png", "program.png", elf, 415),
    Case("TIFF", "scan.png", lambda: _save(gradient_rgb(), "TIFF"), 415),
    Case("plain text", "notes.png", lambda: b"hello, this is not an image\n" * 10, 415),
    Case("polyglot PNG + HTML + ZIP", "poly.png", polyglot_png_zip_html, 201, (3, 48, 64)),
    Case("polyglot GIF header + JavaScript", "poly.gif", polyglot_gif_js, 422),
    Case("file name with path separators", "../../etc/passwd.png", PNG_RGB, 201, (3, 48, 64)),
    Case("file name with quotes", "a\"b'c\\d.png", PNG_RGB, 201, (3, 48, 64)),
    Case("file name with <script>", "<script>alert(1)</script>.png", PNG_RGB, 201, (3, 48, 64)),
    Case("file name with NUL-like and unicode", "x\u202e\u0000gnp.exe", PNG_RGB, 201, (3, 48, 64)),
]


def main(out: str) -> None:
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(CASES):
        (path / f"{i:02d}-{case.status}.bin").write_bytes(case.make())
        print(f"{i:02d} {case.status} {case.name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/hostile")
