"""Receptive fields of one unit: the theoretical box on the input and how much of
the gradient mass (the effective field) it holds."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from app import arithmetic
from app.arithmetic import Pair

from .summary import Row


def unit_field(rows: Sequence[Row], layer_index: int, row: int, col: int, input_hw: Pair) -> dict:
    """The theoretical receptive field of unit (row, col) of a layer, in input pixels.

    ``top``/``left`` may be negative and ``bottom``/``right`` past the image: those
    cells are padding. ``inside`` is the part that lies in the image.
    """
    box = arithmetic.unit_field(rows[layer_index].rf, row, col)
    top, left = box["top"], box["left"]
    bottom, right = top + box["height"], left + box["width"]  # exclusive
    h, w = input_hw
    box["inside"] = (max(0, top), max(0, left), min(h, bottom), min(w, right))
    return box


def mass_fraction(grad_mag: np.ndarray, box: tuple[int, int, int, int], share: float = 0.95) -> dict:
    """How concentrated the gradient is: the fewest pixels holding ``share`` of its mass.

    ``box`` = (top, left, bottom, right) is the in-image part of the theoretical field.
    Returns the pixel count, its fraction of the box, and the mass inside the box
    (1.0 in exact arithmetic: no gradient can leave the theoretical field).
    """
    total = float(grad_mag.sum())
    t, l, b, r = box
    area = max(0, b - t) * max(0, r - l)
    if total <= 0:
        return {"pixels": 0, "area": area, "fraction": 0.0, "inside": 0.0, "total": 0.0, "mask": None}
    flat = np.sort(grad_mag.ravel())[::-1]
    cum = np.cumsum(flat, dtype=np.float64)
    n = int(np.searchsorted(cum, share * cum[-1]) + 1)
    n = min(n, flat.size)
    threshold = flat[n - 1]
    inside = float(grad_mag[t:b, l:r].sum()) / total
    mask = grad_mag >= threshold
    return {
        "pixels": n,
        "area": area,
        "fraction": n / area if area else 0.0,
        "inside": inside,
        "total": total,
        "threshold": float(threshold),
        "mask": mask,
    }
