"""Built-in sample images, generated (or read from app/imaging/sample_images/) at start-up.

Each sample is a float32 (C, H, W) array in [0, 1] kept in the store's permanent
table under the id ``sample-<name>``, so it works wherever an uploaded image id
does and is never evicted. The photographs' sources and licences are in
``app/imaging/sample_images/LICENSES.md``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

PHOTO_DIR = Path(__file__).resolve().parent / "sample_images"


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    pixels: np.ndarray  # float32 (C, H, W), read-only

    @property
    def id(self) -> str:
        return f"sample-{self.name}"

    def info(self) -> dict:
        c, h, w = self.pixels.shape
        return {"id": self.id, "name": self.title, "width": w, "height": h, "channels": c}


def square(n: int = 16, lo: float = 0.15, hi: float = 0.85, start: int = 4, stop: int = 12) -> np.ndarray:
    """The chapter's image: a bright square (rows and columns 4..11) on a dark 16×16 background."""
    img = np.full((n, n), lo, dtype=np.float32)
    img[start:stop, start:stop] = hi
    return img[None]


def checkerboard(n: int = 32, cell: int = 4) -> np.ndarray:
    yy, xx = np.indices((n, n))
    return (((yy // cell + xx // cell) % 2) == 0).astype(np.float32)[None]


def circle(n: int = 64, radius: float = 20.0, supersample: int = 4) -> np.ndarray:
    """A bright disc with an anti-aliased edge (coverage from a supersampled grid)."""
    s = supersample
    coords = (np.arange(n * s) + 0.5) / s - n / 2
    inside = (coords[:, None] ** 2 + coords[None, :] ** 2) <= radius**2
    cover = inside.reshape(n, s, n, s).mean(axis=(1, 3))
    return cover.astype(np.float32)[None]


def stripes(n: int = 64, period: float = 8.0, angle_deg: float = 0.0) -> np.ndarray:
    """Sinusoidal stripes whose crests run at ``angle_deg`` from vertical (0 = vertical stripes)."""
    yy, xx = np.indices((n, n), dtype=np.float64)
    theta = np.deg2rad(angle_deg)
    phase = 2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period
    return (0.5 + 0.5 * np.cos(phase)).astype(np.float32)[None]


# A 5×7 bitmap "F": not symmetric under any flip, so flipping a kernel or an image shows.
_GLYPH_F = [
    "#####",
    "#....",
    "#....",
    "####.",
    "#....",
    "#....",
    "#....",
]


def letter(glyph: list[str] = _GLYPH_F, scale: int = 3, margin: int = 3) -> np.ndarray:
    """A bright letter on a dark background, drawn from a bitmap with numpy (no font files)."""
    bits = np.array([[ch == "#" for ch in row] for row in glyph], dtype=np.float32)
    big = np.kron(bits, np.ones((scale, scale), dtype=np.float32))
    h, w = big.shape
    side = max(h, w) + 2 * margin
    img = np.zeros((side, side), dtype=np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    img[top : top + h, left : left + w] = big
    return img[None]


def gradient(n: int = 64) -> np.ndarray:
    """A smooth diagonal ramp from 0 (top left) to 1 (bottom right)."""
    yy, xx = np.indices((n, n), dtype=np.float64)
    return ((xx + yy) / (2 * (n - 1))).astype(np.float32)[None]


def photo(filename: str) -> np.ndarray:
    from app.imaging.decode import read_png_file  # Pillow stays behind app.imaging.decode

    return read_png_file(PHOTO_DIR / filename)


_GENERATED = [
    ("square", "Bright square (16×16)", square),  # the chapter's image
    ("checkerboard", "Checkerboard (32×32)", checkerboard),
    ("circle", "Circle (64×64)", circle),
    ("stripes", "Vertical stripes (64×64)", lambda: stripes(angle_deg=0.0)),
    ("stripes-diagonal", "Diagonal stripes, 30° (64×64)", lambda: stripes(angle_deg=30.0)),
    ("letter", "Letter F (27×27)", letter),
    ("gradient", "Smooth gradient (64×64)", gradient),
]
_PHOTOS = [
    ("camera", "Photo: cameraman (gray)", "camera.png"),
    ("astronaut", "Photo: astronaut (colour)", "astronaut.png"),
    ("coffee", "Photo: coffee cup (colour)", "coffee.png"),
]


@lru_cache(maxsize=1)
def all_samples() -> tuple[Sample, ...]:
    """Every sample, generated once per process."""
    out = []
    for name, title, make in _GENERATED:
        out.append(_freeze(name, title, make()))
    for name, title, filename in _PHOTOS:
        out.append(_freeze(name, title, photo(filename)))
    return tuple(out)


def _freeze(name: str, title: str, pixels: np.ndarray) -> Sample:
    arr = np.ascontiguousarray(pixels, dtype=np.float32)
    arr.setflags(write=False)
    return Sample(name, title, arr)


def load_samples(store) -> None:
    """Put every sample in ``store``'s permanent table."""
    for s in all_samples():
        store.put_permanent(s.id, s.pixels)
