"""Benchmark ConvLab's kernels against NumPy im2col, a per-channel SciPy loop and PyTorch.

Run:  .venv/bin/python bench/kernels.py [--rounds 3] [--only W2,W4b,C2w] [--no-scipy]

Workloads (issue 2): W1 gray 512² one 3×3 p1; W2 RGB 512² → 8 3×3 p1 + bias;
W3 RGB 1024² → 16 5×5 s2 p2; W4 16×128² → 32 3×3 p1 (forward and backward);
W5 = W2 with dilation 2, p2; W6 max 2×2 and avg 3×3 s1 on 8×512².
The chapter model's batched layers (issue 22; batch 128, "same" 3×3):
C1 1 → 32 at 28×28 (f: forward, w: weight + bias gradient, the first layer
needs no input gradient), C2 32 → 64 at 14×14 (f, w, x: input gradient,
b: input + weight + bias gradients), P1/P2 max pool 2 on 128×32×28² and
128×64×14² (f: forward with argmax, b: backward from the argmax).
float32 throughout.

How the timing is kept fair (issue 22).  Each implementation is timed in a
block of its own (median of repeats after a warm-up call), and before every
block the harness sleeps QUIET_S seconds so that no column inherits the
previous one's spinning threads (OpenBLAS workers busy-wait ~0.1 s after a
NumPy matmul, PyTorch's OpenMP workers and Numba's spin briefly too).  The
blocks are interleaved: every round times every row's implementations, in an
order that rotates from round to round, and the table reports the range over
rounds (lo–hi of the block medians) and the CL/torch ratio of each round, so
a load spike on a shared machine shows up as a wide range rather than as a
wrong ratio.  GFLOP/s are ConvLab's best round; %peak is against the peak
measured at start-up with two threads of independent FMAs (AVX-512 where the
CPU has it: ~460 GFLOP/s on this project's 2-core machine; ~200 with AVX2).

On a machine others are using, two threads rarely get both cores for a whole
call: ``--threads 1 --stat min`` compares ConvLab and PyTorch core against
core, each block's least disturbed call (both libraries run on the calling
thread then, and %peak is against one core).

The script re-executes itself with glibc's malloc thresholds raised
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) so that no implementation pays
page faults on every call for its large temporaries (docs/PERFORMANCE.md §8), and says so.
PyTorch is optional (only for this benchmark; never a runtime or test
dependency): install with ``pip install torch==2.13.0`` (never unpinned).
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
from app.kernels import _simd  # noqa: E402

# 16-lane vectors where the CPU has AVX-512 (LLVM splits them into two AVX2 registers otherwise).
_AVX512 = "avx512f" in open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else False
if _AVX512:
    LANES, _lanes_load, _lanes_fma, _lanes_sum, _lanes_zero = 16, _simd.load16, _simd.fma16, _simd.sum16, _simd.zero16
else:
    LANES, _lanes_load, _lanes_fma, _lanes_sum, _lanes_zero = 8, _simd.load8, _simd.fma8, _simd.sum8, _simd.zero8

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

QUIET_S = 0.25  # sleep before each timed block: longer than OpenBLAS's ~0.1 s busy-wait
GHZ = 3.5  # sustained all-core clock under vector load on this project's machine (single-core FMA loop: ~230 GFLOP/s at 16 lanes)


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


def median_ms(fn, budget=0.5, min_reps=3, max_reps=25, stat=np.median):
    """Median (or ``stat``) wall time of ``fn`` in one block, after a warm-up call (JIT, caches)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (len(times) < max_reps and time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(stat(times))


@numba.njit(parallel=True, cache=False)
def _fma_peak(a, n, out):
    for t in numba.prange(out.shape[0]):
        x = _lanes_load(a, 0)
        y = _lanes_load(a, LANES)
        c0 = _lanes_zero()
        c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 = c0, c0, c0, c0, c0, c0, c0, c0, c0, c0, c0
        for _ in range(n):
            c0 = _lanes_fma(x, y, c0)
            c1 = _lanes_fma(x, y, c1)
            c2 = _lanes_fma(x, y, c2)
            c3 = _lanes_fma(x, y, c3)
            c4 = _lanes_fma(x, y, c4)
            c5 = _lanes_fma(x, y, c5)
            c6 = _lanes_fma(x, y, c6)
            c7 = _lanes_fma(x, y, c7)
            c8 = _lanes_fma(x, y, c8)
            c9 = _lanes_fma(x, y, c9)
            c10 = _lanes_fma(x, y, c10)
            c11 = _lanes_fma(x, y, c11)
        out[t] = (_lanes_sum(c0) + _lanes_sum(c1) + _lanes_sum(c2) + _lanes_sum(c3) + _lanes_sum(c4)
                  + _lanes_sum(c5) + _lanes_sum(c6) + _lanes_sum(c7) + _lanes_sum(c8) + _lanes_sum(c9)
                  + _lanes_sum(c10) + _lanes_sum(c11))


def measured_peak_gflops(threads):
    """Float32 FMA throughput of ``threads`` threads running 12 independent vector FMA chains (best of 5)."""
    a = np.full(2 * LANES, 1e-9, np.float32)
    out = np.zeros(threads, np.float32)
    n = 2_000_000
    _fma_peak(a, 10, out)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        _fma_peak(a, n, out)
        best = max(best, threads * 12 * LANES * 2 * n / (time.perf_counter() - t0) / 1e9)
    return best


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


def chapter_rows(rng, use_np):
    """Rows for the chapter model's batched layers (batch 128, float32, "same" 3×3)."""
    rows = []
    for tag, c_in, size, c_out in (("C1", 1, 28, 32), ("C2", 32, 14, 64)):
        x = rng.standard_normal((128, c_in, size, size), dtype=np.float32)
        w = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32)
        b = rng.standard_normal(c_out, dtype=np.float32)
        gy = rng.standard_normal((128, c_out, size, size), dtype=np.float32)
        flops = 2.0 * 128 * size * size * c_out * c_in * 9
        xt, wt, bt, gyt = (torch.from_numpy(a) for a in (x, w, b, gy)) if torch else (None,) * 4

        def t_back(mask, xt=xt, wt=wt, gyt=gyt, c_out=c_out):
            return lambda: torch.ops.aten.convolution_backward(
                gyt, xt, wt, [c_out], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

        def np_fwd(x=x, w=w, b=b):  # im2col + BLAS image by image
            return [np_conv(xn, w, b, 1, 1, 1) for xn in x]

        parts = [
            ("f", flops, lambda x=x, w=w, b=b: K.conv2d_batch(x, w, b, padding="same"),
             (lambda xt=xt, wt=wt, bt=bt: F.conv2d(xt, wt, bt, padding=1)) if torch else None, np_fwd),
            ("w", flops, lambda x=x, w=w, gy=gy: K.conv2d_batch_backward(x, w, gy, padding="same", input_grad=False),
             t_back([False, True, True]) if torch else None, None),
        ]
        if tag == "C2":
            parts.append(("x", flops, lambda x=x, w=w, gy=gy: K.conv2d_batch_backward(x, w, gy, padding="same",
                                                                                      weight_grad=False)[0],
                          t_back([True, False, False]) if torch else None, None))
            parts.append(("b", 2 * flops, lambda x=x, w=w, gy=gy: K.conv2d_batch_backward(x, w, gy, padding="same"),
                          t_back([True, True, True]) if torch else None, None))
        for suffix, fl, cl, tt, nn in parts:
            impls = {"convlab": cl}
            if use_np and nn is not None:
                impls["numpy"] = nn
            if tt is not None:
                impls["torch"] = tt
            rows.append({"row": tag + suffix, "flops": fl, "impls": impls})
    for tag, shape in (("P1", (128, 32, 28, 28)), ("P2", (128, 64, 14, 14))):
        x = rng.standard_normal(shape, dtype=np.float32)
        y, arg = K.pool2d_batch(x, "max", 2)
        gy = rng.standard_normal(y.shape, dtype=np.float32)
        f_impls = {"convlab": lambda x=x: K.pool2d_batch(x, "max", 2)}
        b_impls = {"convlab": lambda x=x, gy=gy, arg=arg: K.pool2d_batch_backward(x, gy, "max", 2, argmax=arg)}
        if torch:
            xt, gyt = torch.from_numpy(x), torch.from_numpy(gy)
            it = F.max_pool2d(xt, 2, return_indices=True)[1]
            f_impls["torch"] = lambda xt=xt: F.max_pool2d(xt, 2, return_indices=True)
            b_impls["torch"] = lambda xt=xt, gyt=gyt, it=it: torch.ops.aten.max_pool2d_with_indices_backward(
                gyt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, it)
        rows.append({"row": tag + "f", "flops": 0, "impls": f_impls})
        rows.append({"row": tag + "b", "flops": 0, "impls": b_impls})
    return rows


def single_image_rows(rng, use_sp):
    """Rows W1–W6 (one image, the page's workloads)."""
    rows = []
    for name, wl in conv_workloads(rng).items():
        x, w, b, s, p, d = wl["x"], wl["w"], wl["b"], wl["stride"], wl["pad"], wl["dil"]
        impls = {"convlab": lambda x=x, w=w, b=b, s=s, p=p, d=d: K.conv2d(x, w, b, stride=s, padding=p, dilation=d),
                 "numpy": lambda x=x, w=w, b=b, s=s, p=p, d=d: np_conv(x, w, b, s, p, d)}
        if use_sp:
            impls["scipy"] = lambda x=x, w=w, b=b, s=s, p=p, d=d: sp_conv(x, w, b, s, p, d)
        if torch:
            xt, wt = torch.from_numpy(x)[None], torch.from_numpy(w)
            bt = torch.from_numpy(b) if b is not None else None
            impls["torch"] = lambda xt=xt, wt=wt, bt=bt, s=s, p=p, d=d: F.conv2d(xt, wt, bt, stride=s, padding=p,
                                                                                dilation=d)
        rows.append({"row": name, "flops": conv_flops(x, w, s, p, d), "impls": impls})
        if name in ("W2", "W4"):
            gy = rng.standard_normal(K.conv2d(x, w, b, padding=p).shape, dtype=np.float32)
            impls = {"convlab": lambda x=x, w=w, gy=gy, p=p: K.conv2d_backward(x, w, gy, padding=p),
                     "numpy": lambda x=x, w=w, gy=gy, p=p: np_conv_backward(x, w, gy, p)}
            if use_sp:
                impls["scipy"] = lambda x=x, w=w, gy=gy, p=p: sp_conv_backward(x, w, gy, p)
            if torch:
                xt, wt, gyt = torch.from_numpy(x)[None], torch.from_numpy(w), torch.from_numpy(gy)[None]
                impls["torch"] = lambda xt=xt, wt=wt, gyt=gyt, p=p, c=w.shape[0]: torch.ops.aten.convolution_backward(
                    gyt, xt, wt, [c], [1, 1], [p, p], [1, 1], False, [0, 0], 1, [True, True, True])
            rows.append({"row": name + "b", "flops": 2 * conv_flops(x, w, s, p, d), "impls": impls})
    x = rng.standard_normal((8, 512, 512), dtype=np.float32)
    for name, kind, k, s in (("W6max", "max", 2, 2), ("W6avg", "avg", 3, 1)):
        win = lambda k=k, s=s: sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]  # noqa: E731
        impls = {"convlab": lambda kind=kind, k=k, s=s: K.pool2d(x, kind, k, s),
                 "numpy": (lambda win=win: win().max(axis=(3, 4))) if kind == "max" else (lambda win=win: win().mean(axis=(3, 4)))}
        if use_sp:
            filt = ndimage.maximum_filter if kind == "max" else ndimage.uniform_filter
            org = -(k // 2) if k % 2 == 0 else 0
            impls["scipy"] = lambda filt=filt, k=k, s=s, org=org: filt(x, size=(1, k, k), origin=(0, org, org))[:, ::s, ::s]
        if torch:
            xt = torch.from_numpy(x)[None]
            impls["torch"] = ((lambda k=k, s=s: F.max_pool2d(xt, k, s, return_indices=True)) if kind == "max"
                              else (lambda k=k, s=s: F.avg_pool2d(xt, k, s)))
        rows.append({"row": name, "flops": 0, "impls": impls})
    return rows


def rng_text(values, fmt="{:.2f}"):
    """'lo–hi' of a list of numbers (one value: that value), '-' when empty."""
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated rows, e.g. W1,W2b,W6max,C2w,P1f")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (ranges are over rounds)")
    ap.add_argument("--no-scipy", action="store_true", help="skip the (slow) SciPy column")
    ap.add_argument("--no-numpy", action="store_true", help="skip the NumPy column")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for ConvLab (Numba) and PyTorch alike; 1 compares single cores on a shared machine")
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="per-block statistic: min is the least disturbed call when other work shares the cores")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    numba.set_num_threads(args.threads)
    if torch:
        torch.set_num_threads(args.threads)
    stat = np.min if args.stat == "min" else np.median

    print(f"malloc env: {' '.join(f'{k}={os.environ.get(k)}' for k in MALLOC_ENV)}")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}  numba threads={numba.get_num_threads()} layer={numba.config.THREADING_LAYER}  "
          f"torch={'%s (%d threads)' % (torch.__version__, torch.get_num_threads()) if torch else 'absent'}")
    print(f"warmup(): {K.warmup():.2f} s")
    measured = measured_peak_gflops(numba.get_num_threads())
    nominal = numba.get_num_threads() * 2 * LANES * 2 * GHZ  # threads × 2 FMA units × lanes × 2 flops × clock
    peak = max(measured, nominal)
    print(f"float32 FMA peak, {numba.get_num_threads()} threads, {LANES}-lane vectors: measured {measured:.0f} GFLOP/s, "
          f"nominal {nominal:.0f}" + ("  << machine busy: figures below are noisy" if measured < 0.8 * nominal else ""))
    rng = np.random.default_rng(0)
    use_sp = signal is not None and not args.no_scipy
    rows = single_image_rows(rng, use_sp) + chapter_rows(rng, not args.no_numpy)
    if args.no_numpy:
        for r in rows:
            r["impls"].pop("numpy", None)
    rows = [r for r in rows if only is None or r["row"] in only]
    times = {(r["row"], impl): [] for r in rows for impl in r["impls"]}
    for rnd in range(args.rounds):
        for r in rows:
            names = list(r["impls"])
            names = names[rnd % len(names):] + names[:rnd % len(names)]  # rotate who goes first
            for impl in names:
                time.sleep(QUIET_S)
                slow = impl == "scipy"
                times[(r["row"], impl)].append(
                    median_ms(r["impls"][impl], budget=0.1 if slow else 0.5, min_reps=1 if slow else 3, stat=stat))
                if slow:
                    r["impls"].pop(impl)  # one round of SciPy is plenty (seconds per call)
        print(f"round {rnd + 1}/{args.rounds} done", flush=True)

    # The page's regime: one request after an idle moment (thread wake-up included).
    idle = None
    if only is None or "W1idle" in only:
        wl = conv_workloads(np.random.default_rng(0))["W1"]
        t = []
        for _ in range(7):
            time.sleep(0.3)
            t0 = time.perf_counter()
            K.conv2d(wl["x"], wl["w"], padding=1)
            t.append(time.perf_counter() - t0)
        idle = 1e3 * float(np.median(t))

    print()
    head = (f"{'row':7} {'ConvLab ms':>13} {'GFLOP/s':>8} {'%peak':>6} {'NumPy ms':>13} {'SciPy ms':>9} "
            f"{'torch ms':>13} {'CL/torch':>11}")
    print(head)
    print("-" * len(head))
    for r in rows:
        cl = times[(r["row"], "convlab")]
        gf = r["flops"] / min(cl) / 1e6 if r["flops"] else float("nan")
        tt = times.get((r["row"], "torch"), [])
        ratios = [a / b for a, b in zip(cl, tt)]
        sp = times.get((r["row"], "scipy"), [])
        print(f"{r['row']:7} {rng_text(cl):>13} {gf:8.1f} {100 * gf / peak:5.1f}% "
              f"{rng_text(times.get((r['row'], 'numpy'), [])):>13} {rng_text(sp):>9} {rng_text(tt):>13} "
              f"{rng_text(ratios):>11}")
    if idle is not None:
        print(f"{'W1idle':7} {idle:13.3f}   (one call after 0.3 s idle, thread wake-up included)")
    print(f"\nRanges are lo–hi over {args.rounds} interleaved rounds; each figure is one block's {args.stat} after "
          f"a {QUIET_S} s quiet gap. %peak of {peak:.0f} GFLOP/s. Rows ending in b: input + weight (+ bias) "
          "gradients; C*w: weight + bias gradients; C2x: input gradient. CL/torch < 1 means ConvLab is faster.")


if __name__ == "__main__":
    main()
