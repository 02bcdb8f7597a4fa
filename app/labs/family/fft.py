"""Convolution in the frequency domain: the convolution theorem, checked on the user's image.

The discrete Fourier transform of an H×W image treats it as one tile of a plane that
repeats in both directions. The product of two transforms is therefore the transform
of a *circular* convolution — one whose window wraps around the border — and its
inverse equals the direct convolution with ``padding_mode="circular"`` to float
round-off. Zero padding is recovered by padding the image with kh − 1 rows and
kw − 1 columns of zeros first, so the wrapped part of every window reads zeros.

CNNs compute a cross-correlation (eq. 36.2), which is a convolution with the kernel
flipped. For a real kernel, flipping in space conjugates the transform, so the
spectrum of the CNN's output is X · conj(K) — multiplying by K itself computes the
flipped (true) convolution instead, and the module reports how far that is off.

Pure NumPy (``numpy.fft``) plus ``app.kernels`` for the direct references; the HTTP
layer is ``app/api/family.py``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from app import arithmetic
from app.imaging.samples import stripes
from app.kernels import conv2d
from app.errors import InvalidArgument

# Frequency bands (radius |f| in cycles per pixel; the corners of the spectrum reach √2/2).
BANDS = (("low", 0.0, 0.125), ("middle", 0.125, 0.375), ("high", 0.375, math.sqrt(0.5)))


def _kernel(kernel) -> np.ndarray:
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise InvalidArgument(f"kernel: expected kh rows of kw numbers, got shape {list(k.shape)}")
    return k


def _image(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        if x.shape[0] != 1:
            raise InvalidArgument(f"image: the frequency view uses one channel, got {x.shape[0]} (ask for gray)")
        x = x[0]
    if x.ndim != 2 or x.size == 0:
        raise InvalidArgument(f"image: expected an H×W array, got shape {list(x.shape)}")
    return x


def kernel_origin(kh: int, kw: int) -> tuple[int, int]:
    """The tap that sits over the output pixel with "same" padding: (top, left) padding."""
    return arithmetic.same_padding(kh)[0], arithmetic.same_padding(kw)[0]


def embed_kernel(kernel, shape: tuple[int, int]) -> np.ndarray:
    """The kernel zero-padded to ``shape`` and rolled so its centre tap sits at index (0, 0).

    The tap ``(a, b)`` lands at ``((a − top) mod H, (b − left) mod W)``: offsets that
    point up or left wrap to the far rows and columns, as the DFT's periodic view wants.
    """
    k = _kernel(kernel)
    h, w = shape
    kh, kw = k.shape
    if kh > h or kw > w:
        raise InvalidArgument(f"kernel {kh}×{kw} is larger than the image {h}×{w}; use a larger image or a smaller kernel")
    top, left = kernel_origin(kh, kw)
    big = np.zeros((h, w))
    big[:kh, :kw] = k
    return np.roll(big, (-top, -left), axis=(0, 1))


def centred(a: np.ndarray) -> np.ndarray:
    """A spectrum with frequency (0, 0) moved to the middle (``numpy.fft.fftshift``)."""
    return np.fft.fftshift(a)


def log_magnitude(z: np.ndarray) -> np.ndarray:
    """log(1 + |z|): spectra of images span many decades; this keeps both ends visible."""
    return np.log1p(np.abs(z))


def frequency_radius(h: int, w: int) -> np.ndarray:
    """|f| in cycles per pixel for every bin of an unshifted H×W spectrum."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    return np.sqrt(fy * fy + fx * fx)


def band_summary(image_spectrum: np.ndarray, response: np.ndarray) -> dict:
    """What a kernel keeps: the gain |K| at frequency 0 (the sum of its weights) and, per band of
    |f| in cycles per pixel — low (0, 1/8], middle (1/8, 3/8), high [3/8, √2/2] — the mean gain and
    the image's energy in that band after ÷ before filtering (None where the image has none).

    ``image_spectrum`` and ``response`` are unshifted H×W transforms; energy is |·|² summed
    over the band (Parseval: the same as summing squared pixels).
    """
    h, w = response.shape
    band = _band_index(h, w)
    gain = np.abs(response).ravel()
    power = (image_spectrum.real**2 + image_spectrum.imag**2).ravel()
    n = len(BANDS) + 1  # index 0 is frequency 0 itself
    count = np.bincount(band, minlength=n)
    gain_sum = np.bincount(band, weights=gain, minlength=n)
    before = np.bincount(band, weights=power, minlength=n)
    after = np.bincount(band, weights=power * gain * gain, minlength=n)
    bands = []
    for i, (name, lo, hi) in enumerate(BANDS, start=1):
        if not count[i]:
            continue
        ratio = float(after[i] / before[i]) if before[i] > 1e-20 else None
        bands.append({"name": name, "low": lo, "high": hi, "gain": float(gain_sum[i] / count[i]), "energy_ratio": ratio})
    return {"dc_gain": float(gain[0]), "bands": bands}


@lru_cache(maxsize=8)
def _band_index(h: int, w: int) -> np.ndarray:
    """Per bin of an unshifted H×W spectrum (flattened): 0 at frequency 0, else 1 + its band."""
    r = frequency_radius(h, w).ravel()
    edges = [lo for _, lo, _ in BANDS[1:]]  # low | middle at 1/8, middle | high at 3/8
    index = 1 + np.searchsorted(edges, r, side="left")  # r = 1/8 stays low; r = 3/8 is high (see below)
    index[np.isclose(r, BANDS[2][1])] = 3  # the high band starts at 3/8 inclusive
    index[0] = 0
    index.flags.writeable = False
    return index


def fast_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n: transform sizes numpy.fft handles quickly (514 = 2·257 is slow)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def fft_cost(h: int, w: int, kh: int, kw: int) -> dict:
    """Rough operation counts: direct k²·H·W (eq. 36.11, one channel, "same" size) against
    H·W·log₂(H·W) for the FFT route (constant factors — three transforms, complex arithmetic —
    left out), and the square kernel side from which the FFT count is the smaller."""
    n = h * w
    direct = arithmetic.conv_macs(h, w, 1, 1, kh, kw)
    fft = n * math.log2(n) if n > 1 else 0.0
    crossover = math.sqrt(math.log2(n)) if n > 1 else 0.0
    table = [{"k": k, "direct": arithmetic.conv_macs(h, w, 1, 1, k, k)} for k in range(1, 16, 2)]
    return {
        "pixels": n,
        "kernel": [kh, kw],
        "direct": direct,
        "fft": fft,
        "log2_pixels": math.log2(n) if n > 1 else 0.0,
        "crossover_k": crossover,
        "cheaper": "fft" if fft < direct else "direct",
        "table": table,
    }


def convolution_theorem(image, kernel) -> dict:
    """The CNN's cross-correlation of one channel, computed twice: by FFT and directly.

    Parameters
    ----------
    image : array (H, W) or (1, H, W)
    kernel : array (kh, kw), kh ≤ H and kw ≤ W

    Returns
    -------
    dict of arrays (all H×W, float64; spectra centred with ``fftshift``):
    ``spectrum`` log(1 + |X|), ``response`` |K| of the kernel zero-padded to the image,
    ``product`` log(1 + |X · conj K|), ``via_fft`` real(ifft2(X · conj K)),
    ``direct`` conv2d(…, padding="same", padding_mode="circular"); and numbers
    ``max_abs_diff`` (via_fft vs direct), ``max_abs_diff_unflipped`` (ifft2(X · K) vs direct:
    the theorem's convolution, i.e. the flipped kernel), ``max_abs_diff_zeros`` (the FFT of the
    zero-padded image vs conv2d with zeros), ``border_effect`` (max |circular − zeros|),
    ``scale`` (max |direct|), ``zero_pad`` (rows, columns of zeros the FFT needs for zero
    padding), ``border_width`` (how far from the border the two paddings can differ), the band
    summary and the cost counts.
    """
    x = _image(image)
    k = _kernel(kernel)
    h, w = x.shape
    kh, kw = k.shape
    X = np.fft.fft2(x)
    K = np.fft.fft2(embed_kernel(k, (h, w)))
    Y = X * np.conj(K)  # cross-correlation: the kernel flipped, i.e. its transform conjugated
    half = w // 2 + 1  # the product of two real signals' spectra is conjugate-symmetric: irfft2 needs half
    via_fft = np.fft.irfft2(Y[:, :half], s=(h, w))
    weight = k[None, None]
    direct = conv2d(x[None], weight, padding="same", padding_mode="circular")[0]
    unflipped = np.fft.irfft2((X * K)[:, :half], s=(h, w))
    zeros_direct = conv2d(x[None], weight, padding="same", padding_mode="zeros")[0]
    zeros_fft = zero_padded_by_fft(x, k)
    return {
        "spectrum": centred(log_magnitude(X)),
        "response": centred(np.abs(K)),
        "product": centred(log_magnitude(Y)),
        "via_fft": via_fft,
        "direct": direct,
        "max_abs_diff": float(np.max(np.abs(via_fft - direct))),
        "max_abs_diff_unflipped": float(np.max(np.abs(unflipped - direct))),
        "max_abs_diff_zeros": float(np.max(np.abs(zeros_fft - zeros_direct))),
        "border_effect": float(np.max(np.abs(direct - zeros_direct))),
        "scale": float(np.max(np.abs(direct))),
        "zero_pad": [kh - 1, kw - 1],
        "border_width": max(*arithmetic.same_padding(kh), *arithmetic.same_padding(kw)),
        "bands": band_summary(X, K),
        "cost": fft_cost(h, w, kh, kw),
    }


def zero_padded_by_fft(x, kernel) -> np.ndarray:
    """The "same"-size cross-correlation with *zero* padding, by FFT.

    Put the image after the zeros conv2d adds on top and left ("same"), in an array of at
    least (H + kh − 1)×(W + kw − 1) zeros; a circular correlation of that with the kernel
    anchored at (0, 0) never wraps inside the first H×W outputs.
    """
    x = _image(x)
    k = _kernel(kernel)
    kh, kw = k.shape
    (top, bottom), (left, right) = arithmetic.same_padding(kh), arithmetic.same_padding(kw)
    # Any size of at least (H + kh − 1)×(W + kw − 1) keeps the wrap on zeros; round up to a fast one.
    hp, wp = fast_length(x.shape[0] + kh - 1), fast_length(x.shape[1] + kw - 1)
    xp = np.zeros((hp, wp))
    xp[top : top + x.shape[0], left : left + x.shape[1]] = x
    big = np.zeros((hp, wp))
    big[:kh, :kw] = k
    y = np.fft.irfft2(np.fft.rfft2(xp) * np.conj(np.fft.rfft2(big)), s=(hp, wp))  # real in, real out
    return y[: x.shape[0], : x.shape[1]]


def compare_kernels(image, kernels: dict[str, np.ndarray], filtered: bool = False) -> dict[str, dict]:
    """For each named kernel: its centred response |K| and its band summary — blur and edge
    kernels side by side; with ``filtered``, also the image through it (circular, by FFT)."""
    x = _image(image)
    X = np.fft.fft2(x)
    out = {}
    for name, kernel in kernels.items():
        K = np.fft.fft2(embed_kernel(kernel, x.shape))
        out[name] = {"response": centred(np.abs(K)), "bands": band_summary(X, K)}
        if filtered:
            out[name]["filtered"] = np.real(np.fft.ifft2(X * np.conj(K)))
    return out


def dominant_frequency(profile: np.ndarray, oversample: int = 64) -> tuple[float, float]:
    """(f, amplitude) of the strongest non-constant sinusoid in a 1-D profile, f in cycles per sample.

    The profile's transform is evaluated on a grid ``oversample`` times finer than its own
    bins (zero padding), so a period that does not divide the length is still found to
    about 1/(n·oversample). The amplitude is 2·|Y(f)|/n: a cosine's crest above its mean.
    """
    y = np.asarray(profile, dtype=np.float64)
    n = y.size
    m = n * oversample
    Y = np.abs(np.fft.rfft(y - y.mean(), m))
    Y[0] = 0.0
    i = int(np.argmax(Y))
    return float(i / m), float(2 * Y[i] / n)


def alias_frequency(f: float, stride: int) -> float:
    """The frequency (cycles per *input* pixel) a sinusoid of frequency f appears at after
    keeping every ``stride``-th sample: f folded into [0, 1/(2·stride)]."""
    fs = 1.0 / stride  # new sampling rate, in samples per input pixel
    folded = f - fs * round(f / fs)
    return abs(folded)


def aliasing(period: float, blur, stride: int = 2, size: int = 64) -> dict:
    """Stride ``stride`` on fine vertical stripes, with and without a blur first.

    The stripes are 0.5 + 0.5·cos(2π x / period). Sampling every ``stride``-th pixel
    can represent frequencies up to 1/(2·stride) cycles per input pixel (Nyquist); a
    finer pattern folds down and shows up as coarse fake stripes. A blur (a low-pass
    kernel) applied first — a strided convolution with the blur kernel — removes most of
    the fine pattern before it can fold.

    Returns arrays ``input`` (size×size), ``strided`` and ``blurred_strided``
    (size/stride squared) and numbers: the input frequency, Nyquist, the predicted alias
    frequency and period, the measured dominant frequency and amplitude of both outputs,
    and the blur's gain at the stripe frequency.
    """
    if not 2.0 <= period <= size:
        raise InvalidArgument(f"period: {period} must be between 2 pixels (the finest pattern pixels can hold) "
                         f"and the pattern size {size}")
    b = _kernel(blur)
    kh, kw = b.shape
    if kh > size // 2 or kw > size // 2:
        raise InvalidArgument(f"blur kernel {kh}×{kw} is too large for a {size}×{size} pattern; use at most {size // 2}")
    x = stripes(size, period, 0.0).astype(np.float64)
    one = np.ones((1, 1, 1, 1))
    strided = conv2d(x, one, stride=stride)[0]
    pad = (kh // 2, kw // 2)
    # Reflect padding: the stripes do not repeat with the image size, so circular would add a seam.
    blurred_strided = conv2d(x, b[None, None], stride=stride, padding=pad, padding_mode="reflect")[0]
    blurred_strided = blurred_strided[: strided.shape[0], : strided.shape[1]]
    f = 1.0 / period
    fa = alias_frequency(f, stride)
    measured = {}
    for name, y in (("input", x[0]), ("strided", strided), ("blurred_strided", blurred_strided)):
        # Vertical stripes: every row is the same profile; average the rows, away from the border.
        f_out, amp = dominant_frequency(y[1:-1].mean(axis=0))
        step = 1 if name == "input" else stride
        measured[name] = {"frequency": f_out / step, "period": (step / f_out) if f_out else None, "amplitude": amp}
    # The blur's gain at the stripe frequency (horizontal direction): |Σ_b (Σ_a B[a,b]) e^{−2πi f b}|.
    cols = b.sum(axis=0)
    gain = abs(np.sum(cols * np.exp(-2j * np.pi * f * np.arange(kw))))
    return {
        "input": x[0],
        "strided": strided,
        "blurred_strided": blurred_strided,
        "frequency": f,
        "nyquist": 0.5 / stride,
        "aliases": f > 0.5 / stride + 1e-12,
        "alias_frequency": fa,
        "alias_period": (1.0 / fa) if fa > 1e-12 else None,
        "measured": measured,
        "blur_gain": float(gain),
        "stride": stride,
        "size": size,
        "period": period,
    }
