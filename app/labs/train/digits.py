"""The Train lab's data: scikit-learn's handwritten digits at 8×8 and at the chapter's 28×28.

scikit-learn ships 1,797 digits (UCI's optical-recognition set: 8×8 grids of
counts 0–16), so nothing is downloaded.  Both models use one fixed split:
a seed-0 permutation of the 1,797 digits, the first 20 % (359) held out and never
trained on, the other 1,438 for training.  The held-out digits are therefore
the same digits for the small 8×8 network and for the chapter's model.

The chapter's classifier expects 28×28×1 inputs (MNIST's format).  MNIST's
digits were fitted into a 20×20 box and placed in a 28×28 field with a 4-pixel
empty margin; ConvLab does the same with the 8×8 digits: each is resampled
bilinearly to 20×20 (pixel centres aligned, as ``torch.nn.functional.interpolate
(mode="bilinear", align_corners=False)`` and Pillow's bilinear upscaling do) and
placed at rows and columns 4–23 of a zero 28×28 canvas.  MNIST additionally
shifts each digit so its centre of mass sits at the centre; the scikit-learn
digits are already centred in their grid, so ConvLab keeps the box centred.
Values stay in [0, 1] (bilinear weights are convex).

Validation (the chapter's ``validation_split = 0.1``): like Keras, the last
10 % of the training part (in its fixed seed-0 order) is set aside before any
shuffling, and the cut rounds down as Keras's does: ⌊0.9 · 1,438⌋ = 1,294 digits
to fit, 144 to validate.

Augmentation (``augment_batch``): a random affine map per image — shift,
rotation, scale — resampled bilinearly with zeros outside, drawn fresh every
time an image is used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.errors import InvalidArgument

SPLIT_SEED = 0
TEST_FRACTION = 0.2
VALIDATION_SPLIT = 0.1
SIDE = 8
CHAPTER_SIDE = 28
BOX = 20
MARGIN = (CHAPTER_SIDE - BOX) // 2  # 4

# Augmentation ranges (uniform): a few pixels of shift, small rotations and scale.
MAX_SHIFT = 2.0          # pixels, each axis
MAX_ROTATION = 10.0      # degrees, either way
SCALE_RANGE = (0.9, 1.1)


def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)  # shared by every training thread
    return arrays


# --------------------------------------------------------------------------- 8×8


@dataclass(frozen=True)
class Digits:
    """scikit-learn's digits scaled to [0, 1], split once with a fixed seed.

    ``train_index`` / ``test_index`` are positions in ``sklearn.datasets.load_digits()``.
    """

    x_train: np.ndarray  # (1438, 8, 8) float32
    y_train: np.ndarray  # (1438,) int64
    x_test: np.ndarray   # (359, 8, 8) float32
    y_test: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray


@lru_cache(maxsize=2)
def load_digits_split(seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION) -> Digits:
    """The 1,797 digits as a seeded train/held-out split (the small network's data)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return Digits(*_readonly(x[train], y[train], x[test], y[test], train, test))


# --------------------------------------------------------------------------- 28×28


def _bilinear_axis(n_in: int, n_out: int):
    """Source indices (i0, i1) and weight of i1 for each output cell along one axis.

    Output cell j's centre maps to source coordinate (j + ½)·n_in/n_out − ½,
    clamped to [0, n_in − 1] (pixel centres aligned; edges repeat).
    """
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resampling of (N, h, w) images to (N, size, size), pixel centres aligned."""
    images = np.asarray(images, dtype=np.float64)
    _, h, w = images.shape
    r0, r1, fr = _bilinear_axis(h, size)
    c0, c1, fc = _bilinear_axis(w, size)
    rows = images[:, r0, :] * (1 - fr)[None, :, None] + images[:, r1, :] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc)[None, None, :] + rows[:, :, c1] * fc[None, None, :]


def to_chapter_input(images8: np.ndarray) -> np.ndarray:
    """8×8 digits (N, 8, 8) in [0, 1] → (N, 28, 28) float32: bilinear to 20×20, centred with a 4-pixel margin."""
    images8 = np.asarray(images8)
    if images8.ndim != 3 or images8.shape[1:] != (SIDE, SIDE):
        raise InvalidArgument(f"expected 8×8 digits of shape (N, 8, 8); got {images8.shape}")
    out = np.zeros((len(images8), CHAPTER_SIDE, CHAPTER_SIDE), np.float32)
    out[:, MARGIN:MARGIN + BOX, MARGIN:MARGIN + BOX] = resize_bilinear(images8, BOX)
    return out


@dataclass(frozen=True)
class ChapterDigits:
    """The chapter model's data, 28×28 float32 in [0, 1]: fit, validation and held-out parts."""

    x_train: np.ndarray  # (1294, 28, 28): the digits the optimiser sees
    y_train: np.ndarray
    x_val: np.ndarray    # (144, 28, 28): validation_split = 0.1 of the training part
    y_val: np.ndarray
    x_test: np.ndarray   # (359, 28, 28): the fixed held-out split, shared with the 8×8 model
    y_test: np.ndarray


def validation_cut(n: int, validation_split: float = VALIDATION_SPLIT) -> int:
    """Where Keras cuts ``n`` samples for ``validation_split``: the first ⌊n(1 − split)⌋ are fitted."""
    if not 0.0 <= validation_split < 1.0:
        raise InvalidArgument(f"validation_split must be in [0, 1); got {validation_split}")
    return int(math.floor(n * (1.0 - validation_split)))


@lru_cache(maxsize=2)
def load_chapter_digits(validation_split: float = VALIDATION_SPLIT) -> ChapterDigits:
    """The 28×28 digits with the fixed held-out split of ``load_digits_split`` and a Keras-style validation cut."""
    d = load_digits_split()
    x_train, x_test = to_chapter_input(d.x_train), to_chapter_input(d.x_test)
    cut = validation_cut(len(d.y_train), validation_split)
    return ChapterDigits(*_readonly(x_train[:cut], d.y_train[:cut].copy(), x_train[cut:], d.y_train[cut:].copy(),
                                    x_test, d.y_test.copy()))


# --------------------------------------------------------------------------- augmentation


def random_affine(n: int, rng: np.random.Generator, max_shift: float = MAX_SHIFT,
                  max_rotation: float = MAX_ROTATION, scale_range: tuple = SCALE_RANGE) -> np.ndarray:
    """n draws of (shift_row, shift_col, angle in degrees, scale), uniform in the given ranges; (n, 4)."""
    return np.stack([rng.uniform(-max_shift, max_shift, n), rng.uniform(-max_shift, max_shift, n),
                     rng.uniform(-max_rotation, max_rotation, n), rng.uniform(*scale_range, n)], axis=1)


def affine_warp(images: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Each image (N, H, W) moved by its (shift_row, shift_col, degrees, scale) about the image centre.

    Inverse mapping: output pixel p reads the input at c + R(−θ)(p − c − t)/s
    (c the centre, t the shift), bilinearly, with zeros outside the image.
    Returns float32 (N, H, W).
    """
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    t = np.asarray(transforms, dtype=np.float64).reshape(n, 4)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    theta = np.deg2rad(t[:, 2])
    # Per image: source = a·(row, col) + offset, so each coordinate is one multiply-add per pixel.
    cos, sin = np.cos(theta) / t[:, 3], np.sin(theta) / t[:, 3]
    oy = cy - cos * (cy + t[:, 0]) + sin * (cx + t[:, 1])
    ox = cx - sin * (cy + t[:, 0]) - cos * (cx + t[:, 1])
    f32 = np.float32
    rr = np.repeat(np.arange(h, dtype=f32), w)[None, :]
    cc = np.tile(np.arange(w, dtype=f32), h)[None, :]
    cos, sin = cos.astype(f32)[:, None], sin.astype(f32)[:, None]
    sy = cos * rr - sin * cc + oy.astype(f32)[:, None]
    sx = sin * rr + cos * cc + ox.astype(f32)[:, None]
    # A one-pixel zero border makes every neighbour outside the image read 0; coordinates
    # beyond it are clamped onto it first, so both neighbours of such a point read 0.
    padded = np.zeros((n, h + 2, w + 2), f32)
    padded[:, 1:-1, 1:-1] = images
    flat = padded.ravel()
    np.clip(sy, -1.0, h, out=sy)
    np.clip(sx, -1.0, w, out=sx)
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = sy - y0, sx - x0
    base = (np.arange(n, dtype=np.int64) * ((h + 2) * (w + 2)))[:, None]
    i00 = base + (y0.astype(np.int64) + 1) * (w + 2) + (x0.astype(np.int64) + 1)
    down = np.where(y0 < h, w + 2, 0)            # the row below, unless already on the bottom border
    right = np.where(x0 < w, 1, 0)
    top = flat[i00] * (1 - fx) + flat[i00 + right] * fx
    bottom = flat[i00 + down] * (1 - fx) + flat[i00 + down + right] * fx
    return (top * (1 - fy) + bottom * fy).reshape(n, h, w)


def augment_batch(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A freshly drawn random shift, rotation and scale of every image (N, H, W)."""
    return affine_warp(images, random_affine(len(images), rng))


def augmented_strip(image: np.ndarray, count: int = 8, seed: int = 0) -> np.ndarray:
    """``count`` augmented copies of one image (H, W), what the network sees of it in ``count`` epochs."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise InvalidArgument(f"expected one image (H, W); got shape {image.shape}")
    if not 1 <= count <= 64:
        raise InvalidArgument(f"count must be between 1 and 64; got {count}")
    return augment_batch(np.repeat(image[None], count, axis=0), np.random.default_rng(seed))
