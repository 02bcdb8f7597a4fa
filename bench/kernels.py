"""Benchmark ConvLab's kernels against NumPy im2col, a per-channel SciPy loop and PyTorch.

Run:  .venv/bin/python bench/kernels.py [--quick] [--only W2,W4b]

Workloads (issue 2): W1 gray 512² one 3×3 p1; W2 RGB 512² → 8 3×3 p1 + bias;
W3 RGB 1024² → 16 5×5 s2 p2; W4 16×128² → 32 3×3 p1 (forward and backward);
W5 = W2 with dilation 2, p2; W6 max 2×2 and avg 3×3 s1 on 8×512².
float32; every implementation in the same run; median of repeats after a
warm-up call.  PyTorch is optional (only for this benchmark; never a runtime or
test dependency): install with ``pip install torch==2.13.0`` (never unpinned).

The script re-executes itself with glibc's malloc thresholds raised
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) so that no implementation pays
page faults on every call for its large temporaries (docs/PERFORMANCE.md §8), and says so.
"""
import argparse
import os
import sys
import time

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
if __name__ == "__main__" and any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

import numba  # noqa: E402

import app.kernels as K  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    torch.set_num_threads(2)
except ImportError:
    torch = None

try:
    from scipy import ndimage, signal  # noqa: E402
except ImportError:
    signal = ndimage = None

PEAK_GFLOPS = 200.0  # 2 cores × 2 FMA units × 8 float32 lanes × 2 flops × ~3.1 GHz


# --------------------------------------------------------------------------- baselines


def np_conv(x, w, b, stride, pad, dil):
    """im2col with a window view, then one matrix product (BLAS)."""
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    c_out, c_in, kh, kw = w.shape
    win = sliding_window_view(xp, ((kh - 1) * dil + 1, (kw - 1) * dil + 1), axis=(1, 2))
    win = win[:, ::stride, ::stride, ::dil, ::dil]  # (C_in, oh, ow, kh, kw)
    oh, ow = win.shape[1:3]
    cols = np.ascontiguousarray(win.transpose(1, 2, 0, 3, 4)).reshape(oh * ow, -1)
    y = (cols @ w.reshape(c_out, -1).T).T.reshape(c_out, oh, ow)
    return y + b[:, None, None] if b is not None else y


def np_conv_backward(x, w, gy, pad):
    """Stride 1: grad_weight from im2col, grad_input by adding kh·kw shifted products (col2im)."""
    c_out, c_in, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))
    oh, ow = win.shape[1:3]
    cols = np.ascontiguousarray(win.transpose(1, 2, 0, 3, 4)).reshape(oh * ow, -1)
    gw = (gy.reshape(c_out, -1) @ cols).reshape(w.shape)
    gcols = w.reshape(c_out, -1).T @ gy.reshape(c_out, -1)  # (C_in·kh·kw, oh·ow)
    gcols = gcols.reshape(c_in, kh, kw, oh, ow)
    gxp = np.zeros_like(xp)
    for a in range(kh):
        for bb in range(kw):
            gxp[:, a:a + oh, bb:bb + ow] += gcols[:, a, bb]
    return gxp[:, pad:pad + x.shape[1], pad:pad + x.shape[2]], gw, gy.sum(axis=(1, 2))


def dilate(k, d):
    if d == 1:
        return k
    out = np.zeros(((k.shape[0] - 1) * d + 1, (k.shape[1] - 1) * d + 1), k.dtype)
    out[::d, ::d] = k
    return out


def sp_conv(x, w, b, stride, pad, dil):
    """One scipy.signal.correlate2d per (output, input) channel pair."""
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = []
    for o in range(w.shape[0]):
        acc = sum(signal.correlate2d(xp[c], dilate(w[o, c], dil), mode="valid") for c in range(w.shape[1]))
        out.append(acc[::stride, ::stride] + (b[o] if b is not None else 0))
    return np.stack(out)


def sp_conv_backward(x, w, gy, pad):
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    gw = np.empty_like(w)
    gxp = np.zeros_like(xp)
    for o in range(w.shape[0]):
        for c in range(w.shape[1]):
            gw[o, c] = signal.correlate2d(xp[c], gy[o], mode="valid")
            gxp[c] += signal.convolve2d(gy[o], w[o, c], mode="full")
    return gxp[:, pad:pad + x.shape[1], pad:pad + x.shape[2]], gw, gy.sum(axis=(1, 2))


# --------------------------------------------------------------------------- timing


def median_ms(fn, budget=1.0, min_reps=3, max_reps=25):
    fn()  # warm-up (and JIT)
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (len(times) < max_reps and time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def conv_workloads(rng):
    def make(c_in, n, c_out, k, stride, pad, dil, bias):
        x = rng.standard_normal((c_in, n, n), dtype=np.float32)
        w = rng.standard_normal((c_out, c_in, k, k), dtype=np.float32)
        b = rng.standard_normal(c_out, dtype=np.float32) if bias else None
        return dict(x=x, w=w, b=b, stride=stride, pad=pad, dil=dil)

    return {
        "W1": make(1, 512, 1, 3, 1, 1, 1, False),
        "W2": make(3, 512, 8, 3, 1, 1, 1, True),
        "W3": make(3, 1024, 16, 5, 2, 2, 1, False),
        "W4": make(16, 128, 32, 3, 1, 1, 1, False),
        "W5": make(3, 512, 8, 3, 1, 2, 2, True),
    }


def conv_flops(x, w, stride, pad, dil):
    _, n, _ = x.shape
    c_out, c_in, k, _ = w.shape
    o = (n + 2 * pad - dil * (k - 1) - 1) // stride + 1
    return 2.0 * o * o * c_out * c_in * k * k


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated rows, e.g. W1,W2b,W6max")
    ap.add_argument("--no-scipy", action="store_true", help="skip the (slow) SciPy column")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None

    print(f"malloc env: {' '.join(f'{k}={os.environ.get(k)}' for k in MALLOC_ENV)}")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}  numba threads={numba.get_num_threads()} layer={numba.config.THREADING_LAYER}  "
          f"torch={'%s (%d threads)' % (torch.__version__, torch.get_num_threads()) if torch else 'absent'}")
    print(f"warmup(): {K.warmup():.2f} s")
    rng = np.random.default_rng(0)
    rows = []
    use_sp = signal is not None and not args.no_scipy

    for name, wl in conv_workloads(rng).items():
        x, w, b, s, p, d = wl["x"], wl["w"], wl["b"], wl["stride"], wl["pad"], wl["dil"]
        if only is None or name in only:
            flops = conv_flops(x, w, s, p, d)
            r = {"row": name, "flops": flops}
            r["convlab"] = median_ms(lambda: K.conv2d(x, w, b, stride=s, padding=p, dilation=d))
            r["numpy"] = median_ms(lambda: np_conv(x, w, b, s, p, d))
            if use_sp:
                r["scipy"] = median_ms(lambda: sp_conv(x, w, b, s, p, d), budget=0.1, min_reps=1)
            if torch:
                xt, wt = torch.from_numpy(x)[None], torch.from_numpy(w)
                bt = torch.from_numpy(b) if b is not None else None
                r["torch"] = median_ms(lambda: F.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d))
            rows.append(r)
        if name in ("W2", "W4") and (only is None or name + "b" in only):
            gy = rng.standard_normal(K.conv2d(x, w, b, padding=p).shape, dtype=np.float32)
            r = {"row": name + "b", "flops": 2 * conv_flops(x, w, s, p, d)}
            r["convlab"] = median_ms(lambda: K.conv2d_backward(x, w, gy, padding=p))
            r["numpy"] = median_ms(lambda: np_conv_backward(x, w, gy, p))
            if use_sp:
                r["scipy"] = median_ms(lambda: sp_conv_backward(x, w, gy, p), budget=0.1, min_reps=1)
            if torch:
                xt, wt, gyt = torch.from_numpy(x)[None], torch.from_numpy(w), torch.from_numpy(gy)[None]
                r["torch"] = median_ms(lambda: torch.ops.aten.convolution_backward(
                    gyt, xt, wt, [w.shape[0]], [1, 1], [p, p], [1, 1], False, [0, 0], 1, [True, True, True]))
            rows.append(r)

    x = rng.standard_normal((8, 512, 512), dtype=np.float32)
    for name, kind, k, s in (("W6max", "max", 2, 2), ("W6avg", "avg", 3, 1)):
        if only is not None and name not in only:
            continue
        r = {"row": name, "flops": 0}
        r["convlab"] = median_ms(lambda: K.pool2d(x, kind, k, s))
        win = lambda: sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]  # noqa: E731
        r["numpy"] = median_ms(lambda: win().max(axis=(3, 4)) if kind == "max" else win().mean(axis=(3, 4)))
        if use_sp:
            filt = ndimage.maximum_filter if kind == "max" else ndimage.uniform_filter
            r["scipy"] = median_ms(lambda: filt(x, size=(1, k, k), origin=(0, -(k // 2) if k % 2 == 0 else 0,
                                                                             -(k // 2) if k % 2 == 0 else 0))[:, ::s, ::s])
        if torch:
            xt = torch.from_numpy(x)[None]
            if kind == "max":
                r["torch"] = median_ms(lambda: F.max_pool2d(xt, k, s, return_indices=True))
            else:
                r["torch"] = median_ms(lambda: F.avg_pool2d(xt, k, s))
        rows.append(r)

    # The page's regime: one request after an idle moment (thread wake-up included).
    if only is None or "W1idle" in only:
        wl = conv_workloads(np.random.default_rng(0))["W1"]
        t = []
        for _ in range(7):
            time.sleep(0.3)
            t0 = time.perf_counter()
            K.conv2d(wl["x"], wl["w"], padding=1)
            t.append(time.perf_counter() - t0)
        rows.append({"row": "W1idle", "flops": conv_flops(wl["x"], wl["w"], 1, 1, 1), "convlab": 1e3 * float(np.median(t))})

    print()
    head = f"{'row':7} {'ConvLab ms':>10} {'GFLOP/s':>8} {'%peak':>6} {'NumPy ms':>9} {'SciPy ms':>9} {'torch ms':>9} {'CL/torch':>9} {'SciPy/CL':>9} {'NumPy/CL':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        cl = r["convlab"]
        gf = r["flops"] / cl / 1e6 if r["flops"] else float("nan")
        cell = lambda v: f"{v:9.2f}" if v is not None else f"{'-':>9}"  # noqa: E731
        ratio = lambda a, b: f"{a / b:9.2f}" if a is not None and b is not None else f"{'-':>9}"  # noqa: E731
        print(f"{r['row']:7} {cl:10.3f} {gf:8.1f} {100 * gf / PEAK_GFLOPS:5.1f}% {cell(r.get('numpy'))} "
              f"{cell(r.get('scipy'))} {cell(r.get('torch'))} {ratio(cl, r.get('torch'))} "
              f"{ratio(r.get('scipy'), cl)} {ratio(r.get('numpy'), cl)}")
    print(f"\nPeak ~{PEAK_GFLOPS:.0f} GFLOP/s float32 (2 cores × AVX2 FMA). Rows ending in b: grad_input + grad_weight "
          "(+ grad_bias). CL/torch < 1 means ConvLab is faster.")


if __name__ == "__main__":
    main()
