"""What PyTorch and TensorFlow/Keras compute for the same layer settings.

Pure Python integers, no NumPy and no web code. The two frameworks agree on
"valid" (no padding; the floor of eq. 36.4 drops trailing rows a window cannot
reach) but not on "same":

* PyTorch ``padding="same"`` exists only at stride 1; it pads d(k−1) in total,
  half before, and the odd extra after (bottom/right).
* TensorFlow/Keras ``padding="same"`` works at any stride: the output keeps
  ceil(n/s) cells, the total padding is max((out−1)·s + d(k−1) + 1 − n, 0) and
  the odd extra goes after (bottom/right) — so at stride 2 a 3-tap window on an
  even-sized input pads only the bottom/right, and the windows sit differently
  from PyTorch's ``padding=1``.

Pooling: PyTorch pads explicitly (at most half the window) and floors, unless
``ceil_mode=True``, which adds one more window when it would start inside the
input or the left padding; that window hangs past the padded input and reads
only what is there. Keras pooling has "valid" and "same" with the same
arithmetic as its convolutions (max pooling ignores the padded cells, average
pooling leaves them out of the count).

Every function works on one axis; :func:`compare` runs both axes of a 2-D layer
for every framework variant and is what the page draws.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import ceil

from app.arithmetic import conv_output_size, effective_kernel, same_padding
from app.errors import InvalidArgument

__all__ = [
    "AxisPlan",
    "axis_plan",
    "compare",
    "tf_conv_axis",
    "tf_pool_axis",
    "tf_same_padding",
    "torch_conv_axis",
    "torch_pool_axis",
]


@dataclass(frozen=True)
class AxisPlan:
    """How one framework lays its windows along one axis of length ``n``.

    ``pad_before``/``pad_after`` are explicit padding cells; ``overhang`` counts
    cells past the padded input that a ceil-mode window covers (nothing is read
    there); ``dropped`` lists the trailing input indices no window reaches (the
    floor of eq. 36.4); ``skipped`` the other input indices no tap reads (stride
    gaps wider than the window, dilation holes); ``starts`` the first tap of each
    window in input coordinates (negative inside the leading padding).
    """

    n: int
    kernel: int
    stride: int
    dilation: int
    out: int
    pad_before: int
    pad_after: int
    overhang: int = 0
    dropped: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    starts: tuple[int, ...] = field(default=(), repr=False)

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    def as_dict(self) -> dict:
        d = asdict(self)
        d["span"] = self.span
        d["dropped"] = list(self.dropped)
        d["skipped"] = list(self.skipped)
        d["starts"] = list(self.starts)
        return d


def _positive(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def axis_plan(n: int, k: int, s: int, d: int, pad_before: int, pad_after: int, out: int) -> AxisPlan:
    """Which input cells ``out`` windows of ``k`` taps (stride ``s``, dilation ``d``) read.

    The windows start at −pad_before, −pad_before + s, …; taps outside [0, n) read padding.
    """
    span = effective_kernel(k, d)
    if out < 1:
        raise InvalidArgument(f"the output would be empty ({out} cells) for input {n}, window {span}")
    read = [False] * n
    starts = []
    for o in range(out):
        start = o * s - pad_before
        starts.append(start)
        for a in range(k):
            i = start + a * d
            if 0 <= i < n:
                read[i] = True
    last_end = starts[-1] + span  # one past the last cell the last window covers
    overhang = max(0, last_end - (n + pad_after))
    reach = min(n, last_end)
    dropped = tuple(range(max(reach, 0), n))
    skipped = tuple(i for i in range(min(reach, n)) if not read[i])
    return AxisPlan(n, k, s, d, out, pad_before, pad_after, overhang, dropped, skipped, tuple(starts))


def tf_same_padding(n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int, int]:
    """TensorFlow's "SAME": (out, pad_before, pad_after) with out = ceil(n/s).

    Total padding max((out − 1)·s + d(k − 1) + 1 − n, 0); the odd extra goes after.
    """
    for name, v in (("input size", n), ("kernel", k), ("stride", s), ("dilation", d)):
        _positive(name, v)
    out = ceil(n / s)
    total = max((out - 1) * s + effective_kernel(k, d) - n, 0)
    return out, total // 2, total - total // 2


def _valid(n: int, k: int, s: int, d: int) -> AxisPlan:
    span = effective_kernel(k, d)
    if n < span:
        raise InvalidArgument(f"the window ({span}) is larger than the input ({n}): the output would be empty")
    return axis_plan(n, k, s, d, 0, 0, conv_output_size(n, k, s, 0, d))


def torch_conv_axis(n: int, k: int, s: int = 1, d: int = 1, padding: int | str = 0) -> AxisPlan:
    """PyTorch ``nn.Conv2d`` along one axis: ``padding`` an int, "valid" or "same" (stride 1 only)."""
    for name, v in (("input size", n), ("kernel", k), ("stride", s), ("dilation", d)):
        _positive(name, v)
    if padding == "valid":
        return _valid(n, k, s, d)
    if padding == "same":
        if s != 1:
            raise InvalidArgument("PyTorch: padding='same' is not supported for strided convolutions (stride > 1)")
        before, after = same_padding(k, d)
        return axis_plan(n, k, 1, d, before, after, n)
    p = _positive("padding", padding, 0)
    span = effective_kernel(k, d)
    if n + 2 * p < span:
        raise InvalidArgument(f"the window ({span}) is larger than the padded input ({n + 2 * p})")
    return axis_plan(n, k, s, d, p, p, conv_output_size(n, k, s, p, d))


def tf_conv_axis(n: int, k: int, s: int = 1, d: int = 1, padding: str = "valid") -> AxisPlan:
    """TensorFlow/Keras ``Conv2D`` along one axis: ``padding`` "valid" or "same"."""
    for name, v in (("input size", n), ("kernel", k), ("stride", s), ("dilation", d)):
        _positive(name, v)
    if s > 1 and d > 1:
        raise InvalidArgument("TensorFlow: strides > 1 are not supported together with dilation_rate > 1")
    if padding == "valid":
        return _valid(n, k, s, d)
    if padding == "same":
        out, before, after = tf_same_padding(n, k, s, d)
        return axis_plan(n, k, s, d, before, after, out)
    raise InvalidArgument(f'TensorFlow padding must be "valid" or "same", got {padding!r}')


def torch_pool_axis(n: int, k: int, s: int | None = None, p: int = 0, ceil_mode: bool = False) -> AxisPlan:
    """PyTorch ``nn.MaxPool2d``/``AvgPool2d`` along one axis (stride defaults to the window).

    out = ⌊(n + 2p − k)/s⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``, minus one when that
    last window would start past the input and its left padding.
    """
    s = k if s is None else s
    for name, v in (("input size", n), ("kernel", k), ("stride", s)):
        _positive(name, v)
    _positive("padding", p, 0)
    if 2 * p > k:
        raise InvalidArgument(f"PyTorch: pool padding {p} must be at most half the window {k}")
    if n + 2 * p < k:
        raise InvalidArgument(f"the window ({k}) is larger than the padded input ({n + 2 * p})")
    num = n + 2 * p - k
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return axis_plan(n, k, s, 1, p, p, out)


def tf_pool_axis(n: int, k: int, s: int | None = None, padding: str = "valid") -> AxisPlan:
    """TensorFlow/Keras ``MaxPool2D``/``AveragePooling2D`` along one axis (stride defaults to the window)."""
    s = k if s is None else s
    return tf_conv_axis(n, k, s, 1, padding)


def _both(fn, h: int, w: int, *args, **kwargs) -> dict:
    try:
        ph, pw = fn(h, *args, **kwargs), fn(w, *args, **kwargs)
    except InvalidArgument as exc:
        return {"error": str(exc), "out": None, "h": None, "w": None}
    return {"error": None, "out": [ph.out, pw.out], "h": ph.as_dict(), "w": pw.as_dict()}


def compare(
    h: int,
    w: int,
    kernel: int = 3,
    stride: int = 1,
    dilation: int = 1,
    padding: int = 1,
    pool_kernel: int = 2,
    pool_stride: int | None = None,
    pool_padding: int = 0,
) -> list[dict]:
    """Every framework variant of a conv layer and of a pooling layer on an h×w input.

    Each row: ``id``, ``framework``, ``op`` ("conv"/"pool"), ``code`` (the layer as
    one writes it), ``out`` [H_out, W_out] or None, ``h``/``w`` (:class:`AxisPlan`
    dicts) and ``error`` (what the framework says when it refuses the settings).
    """
    _positive("input height", h)
    _positive("input width", w)
    k, s, d, p = kernel, stride, dilation, padding
    ks = pool_kernel
    ss = ks if pool_stride is None else pool_stride
    dil = f", dilation={d}" if d != 1 else ""
    tdil = f", dilation_rate={d}" if d != 1 else ""
    rows = [
        ("torch-conv-valid", "PyTorch", "conv", f"nn.Conv2d(C, C, {k}, stride={s}, padding='valid'{dil})",
         _both(torch_conv_axis, h, w, k, s, d, "valid")),
        ("torch-conv-same", "PyTorch", "conv", f"nn.Conv2d(C, C, {k}, stride={s}, padding='same'{dil})",
         _both(torch_conv_axis, h, w, k, s, d, "same")),
        ("torch-conv-explicit", "PyTorch", "conv", f"nn.Conv2d(C, C, {k}, stride={s}, padding={p}{dil})",
         _both(torch_conv_axis, h, w, k, s, d, p)),
        ("tf-conv-valid", "TensorFlow/Keras", "conv", f'layers.Conv2D(C, {k}, strides={s}, padding="valid"{tdil})',
         _both(tf_conv_axis, h, w, k, s, d, "valid")),
        ("tf-conv-same", "TensorFlow/Keras", "conv", f'layers.Conv2D(C, {k}, strides={s}, padding="same"{tdil})',
         _both(tf_conv_axis, h, w, k, s, d, "same")),
        ("torch-pool-floor", "PyTorch", "pool", f"nn.MaxPool2d({ks}, stride={ss}, padding={pool_padding})",
         _both(torch_pool_axis, h, w, ks, ss, pool_padding, False)),
        ("torch-pool-ceil", "PyTorch", "pool",
         f"nn.MaxPool2d({ks}, stride={ss}, padding={pool_padding}, ceil_mode=True)",
         _both(torch_pool_axis, h, w, ks, ss, pool_padding, True)),
        ("tf-pool-valid", "TensorFlow/Keras", "pool", f'layers.MaxPool2D({ks}, strides={ss}, padding="valid")',
         _both(tf_pool_axis, h, w, ks, ss, "valid")),
        ("tf-pool-same", "TensorFlow/Keras", "pool", f'layers.MaxPool2D({ks}, strides={ss}, padding="same")',
         _both(tf_pool_axis, h, w, ks, ss, "same")),
    ]
    return [{"id": i, "framework": f, "op": op, "code": code, **plan} for i, f, op, code, plan in rows]
