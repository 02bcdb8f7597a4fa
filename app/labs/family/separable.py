"""Separable and low-rank kernels: the singular value decomposition of a kh×kw kernel.

A kernel is a matrix, K = Σᵢ σᵢ uᵢ vᵢᵀ (``numpy.linalg.svd``). When only σ₁ is non-zero
(rank 1) the kernel is the outer product of a column and a row, and sliding it over an
image equals sliding the column, then the row: kh + kw multiply-adds per output pixel
instead of kh·kw (eq. 36.11 per pass). Sobel, box and Gaussian kernels are rank 1.
Keeping the r largest terms gives the best rank-r approximation in the Frobenius norm
(Eckart–Young): its error is √(Σ_{i>r} σᵢ²), and it costs r·(kh + kw) per pixel as r
column-then-row passes.

Pure NumPy plus ``app.kernels``; the HTTP layer is ``app/api/family.py``.
"""
from __future__ import annotations

import numpy as np

from app import arithmetic
from app.kernels import conv2d
from app.errors import InvalidArgument


def _kernel(kernel) -> np.ndarray:
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise InvalidArgument(f"kernel: expected kh rows of kw numbers, got shape {list(k.shape)}")
    return k


# Kernel weights on the page carry 4–5 significant digits (presets are rounded to 4), which
# leaves singular values of about 1e-4·σ₁ in a rounded Gaussian; 1e-3 calls those zero.
DEFAULT_RTOL = 1e-3


def numerical_rank(singular_values: np.ndarray, shape: tuple[int, int], rtol: float | None = None) -> tuple[int, float]:
    """(rank, tolerance): the singular values above the tolerance count.

    The tolerance is ``rtol``·σ₁, or without ``rtol`` max(kh, kw)·eps·σ₁ (NumPy's
    matrix_rank rule: rank at float precision).
    """
    s = np.asarray(singular_values)
    if s.size == 0 or s[0] == 0:
        return 0, 0.0
    scale = max(shape) * np.finfo(np.float64).eps if rtol is None else rtol
    tol = float(scale * s[0])
    return int(np.sum(s > tol)), tol


def low_rank(kernel, r: int) -> np.ndarray:
    """The best rank-r approximation Σ_{i<r} σᵢ uᵢ vᵢᵀ (r = 0 gives zeros)."""
    k = _kernel(kernel)
    u, s, vt = np.linalg.svd(k)
    return (u[:, :r] * s[:r]) @ vt[:r]


def _tidy_pair(col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescale (col, row) → (col·t, row/t) so the row's smallest non-zero |entry| is 1 when that makes
    both integer-valued (Sobel → [1, 2, 1] and [−1, 0, 1]); make a one-signed factor positive."""
    nz = np.abs(row[np.abs(row) > 1e-12])
    if nz.size:
        t = float(nz.min())
        c2, r2 = col * t, row / t
        if np.allclose(c2, np.round(c2), atol=1e-9) and np.allclose(r2, np.round(r2), atol=1e-9):
            col, row = np.round(c2), np.round(r2)
    if not np.any(col > 1e-12) or (np.any(col < -1e-12) and not np.any(row > 1e-12)):
        col, row = -col, -row
    return col + 0.0, row + 0.0  # + 0.0 turns −0 into 0


def outer_factors(kernel) -> tuple[np.ndarray, np.ndarray]:
    """A column c (kh) and a row r (kw) with c ⊗ r = K exactly for a rank-1 kernel.

    Taken from the kernel itself, not from the SVD, so the numbers stay the kernel's own:
    the column through its largest entry, and the row through it divided by that entry.
    For a kernel of higher rank this is the rank-1 kernel that agrees with K on that row and
    column (not the best approximation; use :func:`low_rank` for that).
    """
    k = _kernel(kernel)
    i, j = np.unravel_index(int(np.argmax(np.abs(k))), k.shape)
    if k[i, j] == 0:
        return np.zeros(k.shape[0]), np.zeros(k.shape[1])
    return _tidy_pair(k[:, j].copy(), k[i, :] / k[i, j])


def decompose(kernel, r: int, rtol: float = DEFAULT_RTOL) -> dict:
    """The SVD of a kernel and its rank-r approximation.

    Returns
    -------
    dict with ``singular_values`` (min(kh, kw)), ``rank`` and ``tolerance`` (σ > rtol·σ₁ counts),
    ``exact_rank`` (at float precision),
    ``terms``: per singular value i the 1-D factors ``column`` = √σᵢ·uᵢ and ``row`` = √σᵢ·vᵢ
    (their outer product is the i-th term), ``factors``: the kernel's own column and row when it
    is rank 1 (else None), ``approx`` (kh, kw) the rank-r kernel, ``error_fro``
    ‖K − K_r‖_F (= √Σ_{i≥r} σᵢ²), ``error_rel`` (÷ ‖K‖_F), ``error_max`` max |K − K_r|,
    ``energy_kept`` Σ_{i<r} σᵢ² / Σ σᵢ², ``residual`` K − K_r.
    """
    k = _kernel(kernel)
    kh, kw = k.shape
    n = min(kh, kw)
    if not 1 <= r <= n:
        raise InvalidArgument(f"rank: {r} must be between 1 and min(kh, kw) = {n} for a {kh}×{kw} kernel")
    u, s, vt = np.linalg.svd(k)
    rank, tol = numerical_rank(s, k.shape, rtol)
    exact_rank, _ = numerical_rank(s, k.shape)
    approx = (u[:, :r] * s[:r]) @ vt[:r]
    total = float(np.sum(s**2))
    norm = float(np.sqrt(total))
    err = float(np.linalg.norm(k - approx))
    terms = []
    for i in range(n):
        c, row = u[:, i] * np.sqrt(s[i]), vt[i] * np.sqrt(s[i])
        if row.sum() < 0 or (abs(row.sum()) < 1e-12 and c.sum() < 0):
            c, row = -c, -row  # the sign of a singular pair is arbitrary; show the friendlier one
        terms.append({"sigma": float(s[i]), "column": c + 0.0, "row": row + 0.0})
    factors = None
    if rank == 1:
        col, row = outer_factors(k)
        factors = {"column": col, "row": row, "max_abs_diff": float(np.max(np.abs(np.outer(col, row) - k)))}
    return {
        "singular_values": s,
        "rank": rank,
        "tolerance": tol,
        "rtol": rtol,
        "exact_rank": exact_rank,
        "terms": terms,
        "factors": factors,
        "approx": approx,
        "residual": k - approx,
        "error_fro": err,
        "error_rel": err / norm if norm else 0.0,
        "error_max": float(np.max(np.abs(k - approx))),
        "energy_kept": float(np.sum(s[:r] ** 2) / total) if total else 1.0,
    }


def two_pass(image, terms: list[dict], r: int) -> np.ndarray:
    """Σ over the first r terms of (column pass, then row pass), zero "same" padding.

    Each pass is a 1-D convolution: a kh×1 kernel padded only top/bottom, then a 1×kw
    kernel padded only left/right. With zeros outside the image this equals the 2-D
    convolution with Σ column ⊗ row, because the zero columns that the 2-D padding adds
    stay zero through the column pass.
    """
    x = np.asarray(image, dtype=np.float64)
    kh, kw = len(terms[0]["column"]), len(terms[0]["row"])
    (top, bottom), (left, right) = arithmetic.same_padding(kh), arithmetic.same_padding(kw)
    total = np.zeros(x.shape[1:])
    for t in terms[:r]:
        col = np.asarray(t["column"])[None, None, :, None]
        row = np.asarray(t["row"])[None, None, None, :]
        # conv2d's symmetric numeric padding cannot do an odd total; pad explicitly then run "valid".
        xc = np.pad(x, ((0, 0), (top, bottom), (0, 0)))
        mid = conv2d(xc, col)
        mr = np.pad(mid, ((0, 0), (0, 0), (left, right)))
        total += conv2d(mr, row)[0]
    return total


def cost(h: int, w: int, kh: int, kw: int, r: int) -> dict:
    """Multiply-adds of one "same"-size channel: full kh·kw per pixel (eq. 36.11) against r
    column-then-row passes, r·(kh + kw) per pixel; and the largest rank that still saves."""
    full = arithmetic.conv_macs(h, w, 1, 1, kh, kw)
    passes = r * (arithmetic.conv_macs(h, w, 1, 1, kh, 1) + arithmetic.conv_macs(h, w, 1, 1, 1, kw))
    return {
        "per_pixel_full": kh * kw,
        "per_pixel_separable": r * (kh + kw),
        "per_pass_pair": kh + kw,
        "full": full,
        "separable": passes,
        "ratio": full / passes,
        "break_even_rank": (kh * kw - 1) // (kh + kw),
        "h": h,
        "w": w,
    }


def on_image(image, kernel, r: int, rtol: float = DEFAULT_RTOL) -> dict:
    """The kernel and its rank-r approximation applied to one channel ("same" size, zeros).

    Returns the decomposition plus ``full`` and ``low_rank`` maps (H, W), their max
    difference, the same rank-r map computed as r two-pass 1-D convolutions and its
    difference from the 2-D one (float round-off), and the cost counts.
    """
    k = _kernel(kernel)
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] != 1:
        raise InvalidArgument(f"image: expected one channel (1, H, W), got shape {list(x.shape)}")
    kh, kw = k.shape
    d = decompose(k, r, rtol)
    full = conv2d(x, k[None, None], padding="same")[0]
    approx = conv2d(x, d["approx"][None, None], padding="same")[0]
    passes = two_pass(x, d["terms"], r)
    return {
        **d,
        "full": full,
        "low_rank": approx,
        "maps_max_abs_diff": float(np.max(np.abs(full - approx))),
        "scale": float(np.max(np.abs(full))),
        "two_pass_max_abs_diff": float(np.max(np.abs(passes - approx))),
        "cost": cost(x.shape[1], x.shape[2], kh, kw, r),
    }
