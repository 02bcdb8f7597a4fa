"""Finite-difference check of ``conv2d_backward`` in float64.

The Backward lab asks the server to prove, on the student's own image and
settings, that the gradients of eq. 36.9 (weights) and eq. 36.10 (input) are
right.  The loss is one of

- linear:  L(x, w) = Σ δ ⊙ conv2d(x, w)          (δ fixed; the chapter's check)
- squared: L(x, w) = ½ Σ (conv2d(x, w) + b − t)² (target map t; δ = y − t)

and every weight, every bias and a seeded sample of input pixels is nudged by
±h (central differences).  Both losses are at most quadratic in each parameter,
so central differences have no truncation error: what is left is rounding,
roughly ``eps_machine · |y| / h``.  To keep that small the difference of the
two losses is formed cell by cell before summing (L⁺ − L⁻ is computed as
Σ δ ⊙ (y⁺ − y⁻), not as the difference of two large sums).

Pure NumPy + app.kernels; no web code.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numba
import numpy as np

from app.kernels import conv2d, conv2d_backward
from app.errors import InvalidArgument

DEFAULT_STEP = 1e-6
DEFAULT_INPUT_SAMPLES = 32
# Below this many multiply-adds per forward pass, the ~100 tiny passes of a check run
# faster on one thread than waking the pool each time (and suffer less on a busy machine).
SERIAL_BELOW = 2_000_000


@dataclass
class GradCheck:
    """Result of :func:`gradcheck`; ``max_abs_diff`` is the largest of the three."""

    max_abs_diff: float
    max_abs_diff_weight: float
    max_abs_diff_bias: float
    max_abs_diff_input: float
    max_rel_diff: float  # max_abs_diff / the largest |analytic gradient| checked
    step: float
    loss: str
    n_weights: int
    n_bias: int
    n_input_pixels: int
    input_pixels: list = field(default_factory=list)  # [[c, y, x], ...] that were checked
    # The compared numbers themselves, side by side (flattened like the arrays they come from):
    # eq. 36.9's ∂L/∂K (C_out·C_in·kh·kw), the bias's Σδ (C_out), eq. 36.10's ∂L/∂x at input_pixels.
    weight_analytic: list = field(default_factory=list)
    weight_numeric: list = field(default_factory=list)
    bias_analytic: list = field(default_factory=list)
    bias_numeric: list = field(default_factory=list)
    input_analytic: list = field(default_factory=list)
    input_numeric: list = field(default_factory=list)
    evaluations: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def check_cost(x_shape, w_shape, out_shape, n_input_samples=DEFAULT_INPUT_SAMPLES) -> int:
    """Multiply-adds the check will spend: two forward passes per checked number.

    x_shape (C_in, H, W), w_shape (C_out, C_in, kh, kw), out_shape (C_out, H_out, W_out).
    """
    c_out, c_in, kh, kw = w_shape
    n_in = min(int(n_input_samples), int(np.prod(x_shape)))
    per_forward = int(np.prod(out_shape)) * c_in * kh * kw
    return 2 * (c_out * c_in * kh * kw + c_out + n_in) * per_forward


def sample_pixels(x_shape, n, seed=0, prefer=None) -> np.ndarray:
    """``n`` distinct (c, y, x) positions of a (C, H, W) input, seeded, sorted row-major.

    ``prefer`` (a boolean mask shaped like the input) gets up to half of the picks, so
    a sparse gradient (a one-hot δ touches only k² pixels) is actually checked where
    it is not zero; the rest are drawn uniformly from the other pixels.
    """
    total = int(np.prod(x_shape))
    n = min(int(n), total)
    rng = np.random.default_rng(seed)
    if prefer is None:
        flat = rng.choice(total, size=n, replace=False)
    else:
        mask = np.asarray(prefer, dtype=bool).reshape(-1)
        hot, cold = np.flatnonzero(mask), np.flatnonzero(~mask)
        n_hot = min(len(hot), max(n // 2, n - len(cold)))
        flat = np.concatenate([rng.choice(hot, size=n_hot, replace=False),
                               rng.choice(cold, size=n - n_hot, replace=False)])
    flat = np.sort(flat)
    return np.stack(np.unravel_index(flat, x_shape), axis=1).astype(np.int64)


def gradcheck(
    x,
    weight,
    grad_output=None,
    *,
    bias=None,
    target=None,
    stride=1,
    padding=0,
    dilation=1,
    padding_mode="zeros",
    step=DEFAULT_STEP,
    n_input_samples=DEFAULT_INPUT_SAMPLES,
    seed=0,
    backward=conv2d_backward,
) -> GradCheck:
    """Compare the analytic gradients of a conv layer with central differences.

    Parameters
    ----------
    x : (C_in, H, W); weight : (C_out, C_in, kh, kw); bias : (C_out,) or None
    grad_output : (C_out, H_out, W_out) δ of the linear loss; ignored when
        ``target`` is given
    target : (C_out, H_out, W_out) or None; when given the loss is the squared
        error ½ Σ (y − t)² and δ = y − t
    stride, padding, dilation, padding_mode : as for ``app.kernels.conv2d``
    step : h of the central difference (L(θ + h) − L(θ − h)) / 2h
    n_input_samples, seed : how many input pixels to check, and which (seeded; up
        to half where the analytic input gradient is not zero)
    backward : the function under test, ``conv2d_backward``'s signature; tests
        pass a wrong one to show the check catches it

    Everything is computed in float64.  Raises ValueError for bad arguments
    (from the kernels) and for a non-positive step.
    """
    if not (np.isfinite(step) and step > 0):
        raise InvalidArgument(f"step must be a positive number, got {step!r}")
    threads = numba.get_num_threads()
    serial = np.size(x) * np.size(weight) < SERIAL_BELOW
    if serial:
        numba.set_num_threads(1)  # per calling thread; restored below
    try:
        return _gradcheck(x, weight, grad_output, bias, target, stride, padding, dilation, padding_mode,
                          step, n_input_samples, seed, backward)
    finally:
        if serial:
            numba.set_num_threads(threads)


def _gradcheck(x, weight, grad_output, bias, target, stride, padding, dilation, padding_mode,
               step, n_input_samples, seed, backward) -> GradCheck:
    t0 = time.perf_counter()
    x = np.array(x, dtype=np.float64)
    w = np.array(weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if bias is None else np.array(bias, dtype=np.float64).reshape(w.shape[0])
    geometry = dict(stride=stride, padding=padding, dilation=dilation, padding_mode=padding_mode)

    def forward(xx, ww, bb):
        return conv2d(xx, ww, bb, **geometry)

    y = forward(x, w, b)
    if target is not None:
        t = np.asarray(target, dtype=np.float64)
        if t.shape != y.shape:
            raise InvalidArgument(f"target has shape {tuple(t.shape)}; the output of this conv2d is {tuple(y.shape)}")
        delta = y - t
        loss = "squared"
    else:
        if grad_output is None:
            raise InvalidArgument("give grad_output (linear loss) or target (squared-error loss)")
        delta = np.asarray(grad_output, dtype=np.float64)
        if delta.shape != y.shape:
            raise InvalidArgument(f"grad_output has shape {tuple(delta.shape)}; the output of this conv2d is {tuple(y.shape)}")
        loss = "linear"

    gx, gw, gb = backward(x, w, delta, **geometry)
    gx, gw, gb = (np.asarray(a, dtype=np.float64) for a in (gx, gw, gb))
    evaluations = 1

    def numeric(y_plus, y_minus):
        # L⁺ − L⁻ formed per cell: linear Σδ(y⁺−y⁻); squared ½Σ(y⁺−y⁻)(y⁺+y⁻−2t).
        diff = y_plus - y_minus
        if loss == "linear":
            return float(np.sum(delta * diff)) / (2 * step)
        return float(np.sum(diff * (0.5 * (y_plus + y_minus) - t))) / (2 * step)

    num_w = np.empty_like(w)
    for k in np.ndindex(*w.shape):
        wp, wm = w.copy(), w.copy()
        wp[k] += step
        wm[k] -= step
        num_w[k] = numeric(forward(x, wp, b), forward(x, wm, b))
        evaluations += 2

    num_b = np.empty_like(b)
    for o in range(b.shape[0]):
        bp, bm = b.copy(), b.copy()
        bp[o] += step
        bm[o] -= step
        num_b[o] = numeric(forward(x, w, bp), forward(x, w, bm))
        evaluations += 2

    pixels = sample_pixels(x.shape, n_input_samples, seed, prefer=np.asarray(gx) != 0)
    num_x = np.empty(len(pixels))
    ana_x = np.empty(len(pixels))
    for n, (c, i, j) in enumerate(pixels):
        xp, xm = x.copy(), x.copy()
        xp[c, i, j] += step
        xm[c, i, j] -= step
        num_x[n] = numeric(forward(xp, w, b), forward(xm, w, b))
        ana_x[n] = gx[c, i, j]
        evaluations += 2

    d_w = float(np.max(np.abs(num_w - gw))) if gw.shape == w.shape else float("inf")
    d_b = float(np.max(np.abs(num_b - gb.reshape(-1)))) if gb.size == b.size else float("inf")
    d_x = float(np.max(np.abs(num_x - ana_x))) if len(pixels) else 0.0
    worst = max(d_w, d_b, d_x)
    scale = max(float(np.max(np.abs(gw))), float(np.max(np.abs(gb))), float(np.max(np.abs(ana_x), initial=0.0)))
    return GradCheck(
        max_abs_diff=worst,
        max_rel_diff=worst / scale if scale > 0 else worst,
        max_abs_diff_weight=d_w,
        max_abs_diff_bias=d_b,
        max_abs_diff_input=d_x,
        step=float(step),
        loss=loss,
        n_weights=int(w.size),
        n_bias=int(b.size),
        n_input_pixels=int(len(pixels)),
        input_pixels=pixels.tolist(),
        weight_analytic=gw.reshape(-1).tolist() if gw.shape == w.shape else [],
        weight_numeric=num_w.reshape(-1).tolist(),
        bias_analytic=gb.reshape(-1).tolist() if gb.size == b.size else [],
        bias_numeric=num_b.tolist(),
        input_analytic=ana_x.tolist(),
        input_numeric=num_x.tolist(),
        evaluations=evaluations,
        seconds=time.perf_counter() - t0,
    )
