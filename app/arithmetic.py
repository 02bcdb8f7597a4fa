"""The arithmetic of convolutional layers: sizes, parameters, costs, receptive fields.

Pure Python integers, no NumPy: the page mirrors every function here in
``static/js/shape.js`` and both are checked against ``tests/cases/shapes.json``.
Equation numbers refer to the chapter ConvLab teaches (36.4–36.11).
"""
from __future__ import annotations

import math
from typing import Iterable, NamedTuple, Sequence
from app.errors import InvalidArgument

Pair = tuple[int, int]


def pair(value, name: str = "value") -> Pair:
    """``3`` → ``(3, 3)``; ``(3, 5)`` → ``(3, 5)``."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{name} must be an int or an (h, w) pair, not {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        return (int(value[0]), int(value[1]))
    raise InvalidArgument(f"{name} must be an int or an (h, w) pair, not {value!r}")


def effective_kernel(k: int, d: int = 1) -> int:
    """Span of a kernel of ``k`` taps spaced ``d`` apart: ``d·(k − 1) + 1``."""
    return d * (k - 1) + 1


def _check(n: int, k: int, s: int, p: int, d: int) -> None:
    if n < 1:
        raise InvalidArgument(f"input size must be >= 1, got {n}")
    if k < 1:
        raise InvalidArgument(f"kernel size must be >= 1, got {k}")
    if s < 1:
        raise InvalidArgument(f"stride must be >= 1, got {s}")
    if d < 1:
        raise InvalidArgument(f"dilation must be >= 1, got {d}")
    if p < 0:
        raise InvalidArgument(f"padding must be >= 0, got {p}")


def conv_output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output length along one axis (eq. 36.4 with dilation): ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1.

    ``p`` is the padding on each side. Raises ValueError when the dilated kernel is
    larger than the padded input, i.e. when the output would be empty.
    """
    _check(n, k, s, p, d)
    span = effective_kernel(k, d)
    if n + 2 * p < span:
        raise InvalidArgument(f"dilated kernel {span} is larger than the padded input {n + 2 * p}")
    return (n + 2 * p - span) // s + 1


def conv_output_size_padded(n: int, k: int, s: int = 1, pad_total: int = 0, d: int = 1) -> int:
    """Like :func:`conv_output_size` with the total padding of both sides (may be odd)."""
    _check(n, k, s, 0, d)
    if pad_total < 0:
        raise InvalidArgument(f"padding must be >= 0, got {pad_total}")
    span = effective_kernel(k, d)
    if n + pad_total < span:
        raise InvalidArgument(f"dilated kernel {span} is larger than the padded input {n + pad_total}")
    return (n + pad_total - span) // s + 1


def pool_output_size(n: int, k: int, s: int | None = None, p: int = 0) -> int:
    """Output length of a pooling window along one axis (floor mode); ``s`` defaults to ``k``."""
    s = k if s is None else s
    _check(n, k, s, p, 1)
    if 2 * p > k:
        raise InvalidArgument(f"pool padding {p} must be at most half the window {k}")
    return conv_output_size(n, k, s, p, 1)


def dropped_by_floor(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Rows (or columns) of the padded input that no window reaches because of the floor in 36.4."""
    out = conv_output_size(n, k, s, p, d)
    return n + 2 * p - ((out - 1) * s + effective_kernel(k, d))


def same_padding(k: int, d: int = 1) -> Pair:
    """(before, after) padding that keeps the size at stride 1; the odd extra goes after (PyTorch)."""
    total = effective_kernel(k, d) - 1
    return (total // 2, total - total // 2)


def padding_sides(padding, kh: int, kw: int, dh: int = 1, dw: int = 1) -> tuple[Pair, Pair]:
    """((top, bottom), (left, right)) for ``padding`` given as an int, an (h, w) pair, "valid" or "same"."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return same_padding(kh, dh), same_padding(kw, dw)
    ph, pw = pair(padding, "padding")
    return (ph, ph), (pw, pw)


def conv_transpose_output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0) -> int:
    """Output length of a transposed convolution along one axis: (n − 1)·s − 2p + d(k − 1) + output_padding + 1.

    Raises ValueError when output_padding is not smaller than the stride or the
    dilation (PyTorch's rule: larger values would add cells no input reaches) or
    when the result would be < 1.
    """
    for name, v, lo in (("input size", n, 1), ("kernel", k, 1), ("stride", s, 1), ("dilation", d, 1),
                        ("padding", p, 0), ("output_padding", output_padding, 0)):
        if v < lo:
            raise InvalidArgument(f"{name} must be >= {lo}, got {v}")
    if output_padding >= max(s, d):
        raise InvalidArgument(
            f"output_padding {output_padding} must be smaller than the stride ({s}) or the dilation ({d})"
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    if out < 1:
        raise InvalidArgument(
            f"padding {p} crops everything: (n−1)·s − 2p + d(k−1) + output_padding + 1 = {out}; lower padding"
        )
    return out


def output_padding_for(n_in: int, n_out: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """The output_padding that makes a transposed convolution give back ``n_in``
    from a forward convolution's ``n_out`` (the rows the forward floor dropped)."""
    return n_in - ((n_out - 1) * s - 2 * p + d * (k - 1) + 1)


def _fitting_size(n: int, k: int, s: int, pad_total: int, d: int = 1) -> int:
    if n + pad_total < effective_kernel(k, d):
        return 0
    return conv_output_size_padded(n, k, s, pad_total, d)


class LayerSizes(NamedTuple):
    """Output size and padding of a conv or pooling layer, for bounding its work before it runs."""

    oh: int  # 0 where the window does not fit along that axis
    ow: int
    pads: tuple[int, int, int, int]  # top, bottom, left, right


def conv_sizes(h: int, w: int, kh: int, kw: int, stride=1, padding=0, dilation=1) -> LayerSizes:
    """Output size and padding of a convolution of an H×W input with a kh×kw kernel.

    ``stride``/``dilation`` are an int or an (h, w) pair, ``padding`` also "valid" or
    "same". Unlike :func:`conv_output_size` a window that does not fit gives 0 rather
    than an error: a server sizes the work with this, and the kernel then says what is
    wrong in terms of both axes.
    """
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
    (top, bottom), (left, right) = padding_sides(padding, kh, kw, dh, dw)
    return LayerSizes(_fitting_size(h, kh, sh, top + bottom, dh), _fitting_size(w, kw, sw, left + right, dw),
                      (top, bottom, left, right))


def pool_sizes(h: int, w: int, kernel_size, stride=None, padding=0) -> LayerSizes:
    """Like :func:`conv_sizes` for a pooling window; ``stride`` defaults to ``kernel_size``."""
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding")
    return LayerSizes(_fitting_size(h, kh, sh, 2 * ph), _fitting_size(w, kw, sw, 2 * pw), (ph, ph, pw, pw))


def conv_params(c_in: int, c_out: int, kh: int, kw: int, bias: bool = True, groups: int = 1) -> int:
    """Parameters of a conv layer (eq. 36.5): C_out·(C_in/groups·kh·kw + 1)."""
    if groups < 1 or c_in % groups or c_out % groups:
        raise InvalidArgument(f"groups={groups} must divide C_in={c_in} and C_out={c_out}")
    return c_out * ((c_in // groups) * kh * kw + (1 if bias else 0))


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Parameters of a dense layer (eq. 36.6): n_in·n_out (+ n_out biases)."""
    return n_in * n_out + (n_out if bias else 0)


def conv_macs(h_out: int, w_out: int, c_out: int, c_in: int, kh: int, kw: int, groups: int = 1) -> int:
    """Multiply-adds of a conv layer's forward pass (eq. 36.11)."""
    return h_out * w_out * c_out * (c_in // groups) * kh * kw


def activation_bytes(shape: Iterable[int], bytes_per_value: int = 4) -> int:
    """Memory of one activation tensor (float32 by default)."""
    n = 1
    for s in shape:
        n *= int(s)
    return n * bytes_per_value


def format_bytes(n: int) -> str:
    """A byte count in binary units, one decimal: 784 → "784 B", 8323200 → "7.9 MiB".

    The unit is the largest in which the rounded value is at least 1.0 (1048575 →
    "1.0 MiB", not "1024.0 KiB"). Rounds half up on the exact quotient (integer
    arithmetic), so the page's ``formatBytes`` prints the same text for every count.
    """
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        tenths = (20 * n + size) // (2 * size)
        if tenths >= 10:
            return f"{tenths // 10}.{tenths % 10} {unit}"
    return f"{n} B"


def _padding_before(padding, k: int, d: int) -> int:
    if padding == "same":
        return same_padding(k, d)[0]
    if padding == "valid":
        return 0
    return int(padding)


def _axis(value, axis: int, default):
    if value is None:
        value = default
    if isinstance(value, str):
        return value
    return pair(value)[axis]


def receptive_field(layers: Sequence[dict]) -> list[dict]:
    """Receptive field of every layer of a stack of conv/pool layers.

    Each layer is a dict with ``type`` ("conv" or "pool"), ``kernel``, and optional
    ``stride``, ``padding`` (int, pair, "same" or "valid") and ``dilation``; a pool's
    stride defaults to its kernel. Other types (relu, …) leave the field unchanged.
    For every layer the result holds, per axis,

    * ``size``: input pixels one output unit sees, r_out = r_in + (k_eff − 1)·j_in;
    * ``jump``: input pixels between neighbouring output units, j_out = j_in·s;
    * ``start``: input coordinate of the centre of the first output unit's field,
      start_out = start_in + ((k_eff − 1)/2 − p_before)·j_in.

    Values are ints (``start`` a float) when both axes agree, else (h, w) tuples.
    For L stride-1 conv layers of size k this gives the chapter's 1 + L(k − 1) (36.8).
    """
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    result = []
    for index, layer in enumerate(layers):
        kind = layer.get("type")
        if kind in ("conv", "pool"):
            for axis in (0, 1):
                k = _axis(layer.get("kernel"), axis, None)
                if isinstance(k, str):
                    raise InvalidArgument(f"layers[{index}].kernel must be an int or pair")
                s = _axis(layer.get("stride"), axis, k if kind == "pool" else 1)
                d = _axis(layer.get("dilation"), axis, 1) if kind == "conv" else 1
                p = _padding_before(_axis(layer.get("padding"), axis, 0), k, d)
                _check(1, k, s, p, d)
                k_eff = effective_kernel(k, d)
                size[axis] = size[axis] + (k_eff - 1) * jump[axis]
                start[axis] = start[axis] + ((k_eff - 1) / 2 - p) * jump[axis]
                jump[axis] = jump[axis] * s
        result.append({"size": _squash(size), "jump": _squash(jump), "start": _squash(start)})
    return result


def _squash(values):
    values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
    return values[0] if values[0] == values[1] else (values[0], values[1])


def unit_field(rf: dict, row: int, col: int) -> dict:
    """The input pixels output unit (row, col) can see: {top, left, height, width}.

    ``rf`` is one layer of :func:`receptive_field`; the box is centred on
    start + index·jump and may reach outside the image (into the padding).
    """
    size, jump, start = (tuple(rf[k]) if isinstance(rf[k], (tuple, list)) else (rf[k], rf[k])
                         for k in ("size", "jump", "start"))
    return {
        "top": _round_half_up(start[0] + row * jump[0] - (size[0] - 1) / 2),
        "left": _round_half_up(start[1] + col * jump[1] - (size[1] - 1) / 2),
        "height": size[0],
        "width": size[1],
    }


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))
