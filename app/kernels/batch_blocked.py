"""Register-blocked float32 kernels for a batch (N, C, H, W): forward and weight gradient.

Why a kernel of its own.  A network layer's maps are small (the chapter
model's: 28×28 and 14×14) and many (a batch of 128 images), so the per-image
kernels spend their time on per-call and per-row set-up, their 16-column
blocks do not fit a 14-wide row, and the weight gradient summed image by image
re-reads every partial sum.  Here:

- Rows are cut into 16-lane vectors (``_simd.F32x16``: one AVX-512 register —
  used only where the CPU has AVX-512, see ``HOST_AVX512``;
  a 14-wide row is one vector, a 28-wide row two), the last vector of a row
  masked, so any width runs without a leftover loop.
- Forward (eq. 36.3): each image is padded into a scratch that stays in L1/L2
  (``_fill_padded``; every padding mode), then blocks of RO = 3 output
  channels × RI = 7 row vectors (21 registers) sweep all input channels and
  taps: per tap 7 vector loads and 3 weight broadcasts feed 21 FMAs.  The tap
  offsets ``off[k] = a·d_h·Wp + b'·d_w`` carry kernel size and dilation, so
  one compiled kernel serves every stride-1 convolution.  A last block shorter
  than 3 channels or 7 vectors repeats the last one (same values stored twice).
- Weight gradient (eq. 36.9 summed over the batch): blocks of GO = 3 output
  channels × GT = 9 taps (27 registers) of one input channel accumulate over
  a chunk of images and all their row vectors — per row vector 3 masked δ
  loads and 9 input loads feed 27 FMAs — then fold into a per-slab sum.
  Slabs of images run in parallel; their few partial sums are added at the end.
- Forward with many input taps (C_in·kh·kw >= 64): output channels in the
  lanes (``_conv_forward_batch_cv``: 32 channels × 14 or 13 positions;
  ``_conv_forward_batch_cv16``/``cv16w3``: 16 channels × 26 positions), input
  values broadcast; blocks leave through in-register 16×16 transposes.
- Weight gradient with many input channels (more than half of 16 or 32 lanes
  filled): input channels in the lanes instead (``_conv_grad_weight_batch_cl``,
  ``cl16``).  Each image is copied channels-last (padded) into a scratch, and
  blocks of 4 output channels × 3 taps × 32 input channels (24 registers)
  take, per output position, 4 δ broadcasts and 6 aligned input loads into
  24 FMAs — no lane idles on a 14-wide row and no accumulator needs its lanes
  summed.
- The input gradient (eq. 36.10) is the forward kernel run on δ with the
  transposed, flipped kernel (``batched.py``).

Parallel loops split (image, band of output rows) units over
``CHUNKS_PER_THREAD × numba.get_num_threads()`` tasks — one band per image in
a batch, several when there are fewer images than tasks (a single W4 image,
``conv.py`` routes it here) — so a caller that set one thread
(app/api/cores.py) gets one.
"""
import functools

import numba
import numpy as np
from numba import prange

from ._jit import kernel
from ._simd import LANES16 as LANES
from ._simd import (add16, fma16, load16, load16n, prefetch_read, prefetch_read_l2, prefetch_write, splat16,
                    store16n, sum16, transpose16, zero16)

RO = 3  # output channels per forward block
RI = 7  # row vectors per forward block (a 14-row map: 2 blocks; a 28×28 map, 56 vectors: 8)
GO = 3  # output channels per weight-gradient block
GT = 9  # taps per weight-gradient block (a 3×3 kernel: all of them)
GCHUNK = 8  # images per weight-gradient sweep: their δ maps of a block and input plane stay in L1 (16: L2-bound)
CHUNKS_PER_THREAD = 2


@kernel()
def _fill_padded(xf, x0, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, r0, nr, rows, wp, buf, b0, refill):
    """Pad rows ``r0 .. r0+nr-1`` of one image ``xf[x0:]`` (C_in, H, W) into ``buf[b0:]`` laid out (C_in, rows, Wp).

    rowmap (Hp,) and colmap (Wp,) give each padded cell's source row/column, -1
    for a zero cell (``blocked._band_maps`` with stride 1); columns
    ``q_lo <= q < q_hi`` copy the input row directly.  Whole images: r0 = 0,
    nr = rows = Hp; a band of output rows needs its rows plus the kernel's reach.
    Rows move in masked 16-lane pieces (a 14-wide row: one load and one store;
    a copy loop per row cost 17 % of the chapter's batched input gradient).
    ``refill``: ``buf`` holds an earlier fill of the same rows, so its zero cells
    are left as they are (the next image of a batch only copies pixels).
    """
    zz = zero16()
    n_in = q_hi - q_lo
    edges = not refill  # whether the columns outside q_lo..q_hi-1 need writing
    for q in range(q_lo):
        edges = edges or colmap[q] >= 0
    for q in range(q_hi, wp):
        edges = edges or colmap[q] >= 0
    for c in range(c_in):
        for r in range(nr):
            out = b0 + (c * rows + r) * wp
            src_r = rowmap[r0 + r]
            if src_r < 0:
                if not refill:
                    for q in range(0, wp, LANES):
                        store16n(buf, out + q, zz, min(LANES, wp - q))
                continue
            xrow = x0 + (c * h + src_r) * w
            src = xrow + q_lo - left
            if n_in <= LANES:
                store16n(buf, out + q_lo, load16n(xf, src, n_in), n_in)
            else:
                for m in range(0, n_in, LANES):
                    cnt = min(LANES, n_in - m)
                    store16n(buf, out + q_lo + m, load16n(xf, src + m, cnt), cnt)
            if not edges:
                continue
            for q in range(q_lo):
                k = colmap[q]
                if k >= 0:
                    buf[out + q] = xf[xrow + k]
                elif not refill:
                    buf[out + q] = 0
            for q in range(q_hi, wp):
                k = colmap[q]
                if k >= 0:
                    buf[out + q] = xf[xrow + k]
                elif not refill:
                    buf[out + q] = 0


@kernel(parallel=True)
def _conv_forward_batch(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, wf, b, c_out,
                        oh, ow, yf, n_bands, scratch):
    """Eq. 36.3 at stride 1 for every image: ``yf`` (N, C_out, H_out, W_out) flattened.

    wf: weights (C_out, C_in, T) flattened; off (T,): tap offsets in the padded
    image; each image is cut into ``n_bands`` bands of output rows (1 for a
    batch; more when there are fewer images than tasks, so that one image keeps
    every thread busy); scratch (tasks, C_in·(band + Hp - H_out)·Wp + LANES):
    one padded band per task (the tail is zeroed here: the masked-off lanes of a
    row's last vector read it).  One prange iteration owns a contiguous run of
    (image, band) units.
    """
    n_chunks = scratch.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    rows = band + extra
    plane = rows * wp
    n_taps = off.shape[0]
    nv = (ow + LANES - 1) // LANES
    ohw = oh * ow
    step = c_in * n_taps
    n_units = n_img * n_bands
    for t in prange(n_chunks):
        buf = scratch[t]
        for q in range(c_in * plane, buf.shape[0]):
            buf[q] = 0
        unit_lo = t * n_units // n_chunks
        for unit in range(unit_lo, (t + 1) * n_units // n_chunks):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            total = nb * nv
            _fill_padded(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0, nb + extra, rows, wp,
                         buf, 0, n_bands == 1 and unit > unit_lo)
            for oa in range(0, c_out, RO):
                o0 = oa
                o1 = min(oa + 1, c_out - 1)
                o2 = min(oa + 2, c_out - 1)
                y0 = (n * c_out + o0) * ohw
                y1 = (n * c_out + o1) * ohw
                y2 = (n * c_out + o2) * ohw
                for u0 in range(0, total, RI):
                    us = max(0, min(u0, total - RI))
                    u = min(us + 0, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x0 = i * wp + LANES * v
                    y0_ = (i0 + i) * ow + LANES * v
                    n0 = ow - LANES * v
                    u = min(us + 1, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x1 = i * wp + LANES * v
                    y1_ = (i0 + i) * ow + LANES * v
                    n1 = ow - LANES * v
                    u = min(us + 2, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x2 = i * wp + LANES * v
                    y2_ = (i0 + i) * ow + LANES * v
                    n2 = ow - LANES * v
                    u = min(us + 3, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x3 = i * wp + LANES * v
                    y3_ = (i0 + i) * ow + LANES * v
                    n3 = ow - LANES * v
                    u = min(us + 4, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x4 = i * wp + LANES * v
                    y4_ = (i0 + i) * ow + LANES * v
                    n4 = ow - LANES * v
                    u = min(us + 5, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x5 = i * wp + LANES * v
                    y5_ = (i0 + i) * ow + LANES * v
                    n5 = ow - LANES * v
                    u = min(us + 6, total - 1)
                    i = u // nv
                    v = u - i * nv
                    x6 = i * wp + LANES * v
                    y6_ = (i0 + i) * ow + LANES * v
                    n6 = ow - LANES * v
                    a00 = splat16(b, o0)
                    a01 = a00
                    a02 = a00
                    a03 = a00
                    a04 = a00
                    a05 = a00
                    a06 = a00
                    a10 = splat16(b, o1)
                    a11 = a10
                    a12 = a10
                    a13 = a10
                    a14 = a10
                    a15 = a10
                    a16 = a10
                    a20 = splat16(b, o2)
                    a21 = a20
                    a22 = a20
                    a23 = a20
                    a24 = a20
                    a25 = a20
                    a26 = a20
                    w0i = o0 * step
                    w1i = o1 * step
                    w2i = o2 * step
                    xc = 0
                    for c in range(c_in):
                        for k in range(n_taps):
                            xo = xc + off[k]
                            w0 = splat16(wf, w0i + k)
                            w1 = splat16(wf, w1i + k)
                            w2 = splat16(wf, w2i + k)
                            x = load16(buf, xo + x0)
                            a00 = fma16(w0, x, a00)
                            a10 = fma16(w1, x, a10)
                            a20 = fma16(w2, x, a20)
                            x = load16(buf, xo + x1)
                            a01 = fma16(w0, x, a01)
                            a11 = fma16(w1, x, a11)
                            a21 = fma16(w2, x, a21)
                            x = load16(buf, xo + x2)
                            a02 = fma16(w0, x, a02)
                            a12 = fma16(w1, x, a12)
                            a22 = fma16(w2, x, a22)
                            x = load16(buf, xo + x3)
                            a03 = fma16(w0, x, a03)
                            a13 = fma16(w1, x, a13)
                            a23 = fma16(w2, x, a23)
                            x = load16(buf, xo + x4)
                            a04 = fma16(w0, x, a04)
                            a14 = fma16(w1, x, a14)
                            a24 = fma16(w2, x, a24)
                            x = load16(buf, xo + x5)
                            a05 = fma16(w0, x, a05)
                            a15 = fma16(w1, x, a15)
                            a25 = fma16(w2, x, a25)
                            x = load16(buf, xo + x6)
                            a06 = fma16(w0, x, a06)
                            a16 = fma16(w1, x, a16)
                            a26 = fma16(w2, x, a26)
                        w0i += n_taps
                        w1i += n_taps
                        w2i += n_taps
                        xc += plane
                    store16n(yf, y0 + y0_, a00, n0)
                    store16n(yf, y0 + y1_, a01, n1)
                    store16n(yf, y0 + y2_, a02, n2)
                    store16n(yf, y0 + y3_, a03, n3)
                    store16n(yf, y0 + y4_, a04, n4)
                    store16n(yf, y0 + y5_, a05, n5)
                    store16n(yf, y0 + y6_, a06, n6)
                    store16n(yf, y1 + y0_, a10, n0)
                    store16n(yf, y1 + y1_, a11, n1)
                    store16n(yf, y1 + y2_, a12, n2)
                    store16n(yf, y1 + y3_, a13, n3)
                    store16n(yf, y1 + y4_, a14, n4)
                    store16n(yf, y1 + y5_, a15, n5)
                    store16n(yf, y1 + y6_, a16, n6)
                    store16n(yf, y2 + y0_, a20, n0)
                    store16n(yf, y2 + y1_, a21, n1)
                    store16n(yf, y2 + y2_, a22, n2)
                    store16n(yf, y2 + y3_, a23, n3)
                    store16n(yf, y2 + y4_, a24, n4)
                    store16n(yf, y2 + y5_, a25, n5)
                    store16n(yf, y2 + y6_, a26, n6)


PM = 14  # output positions (of one row) per channel-vector block
OV = 2  # 16-channel vectors per channel-vector block


@kernel(parallel=True)
def _conv_forward_batch_cv(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, wpk, b, c_out,
                           oh, ow, yf, n_bands, scratch, k_rows, c_split, partial):
    """Eq. 36.3 at stride 1 with output channels in the vector lanes (many input channels).

    Blocks of OV·16 = 32 output channels × PM = 14 positions of one output row
    (28 registers): per tap, two weight vectors and 14 broadcast input values
    feed 28 FMAs, and no lane is wasted on a row's end.  wpk: weights packed
    (C_out/32 rounded up, C_in, T, 32), zero beyond C_out.  Each 16-channel
    half of a block is transposed in registers (``transpose16``: positions ×
    channels → channels × positions) and stored with one masked store per
    channel (copying it through a memory tile cost 18 % of W4's forward); the
    output lines a block will write are requested when it starts
    (``prefetch_write``: C2 forward 7.10 -> 6.75 ms, W4 1.02 -> 0.94, 1 thread),
    and each block fetches a share of the task's next image when it starts; in
    chunked blocks (below) each input channel fetches its share into L2 instead
    (``prefetch_read_l2``: a block's whole share at its start, into L1, evicted
    the chunk's weights and held the line-fill buffers its loads need).
    Needs W_out >= PM (a row's last block is shifted left to end at W_out).
    n_bands and scratch as for ``_conv_forward_batch``.

    k_rows (H_out, 2): taps k_lo <= k < k_hi of output row i read at least one
    row that is not zero padding (taps are row-major, so a border row of a
    "same" 3×3 skips the kernel row that reads the zero row: 1/21 of the FMAs at
    14×14).  c_split: input channels per pass; with fewer than C_in, a block
    sums its channels in chunks whose packed weights (c_split·T·32 floats) stay
    in L1 while every row of the image reuses them, and keeps the 28 partial
    sums between chunks in ``partial`` (tasks, band·ceil(W_out/PM)·2·PM·16).
    With all three changes the chapter's input gradient (64 → 32 channels, 73 KiB
    of weights per block, more than L1 holds) went from 5.36 to 5.04 ms on one
    core (min of 40 interleaved calls on a shared machine); its forward (32 → 64,
    36 KiB per block) is unchanged.
    """
    n_chunks = scratch.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    rows = band + extra
    plane = rows * wp
    n_taps = off.shape[0]
    ohw = oh * ow
    ob_size = c_in * n_taps * 2 * LANES
    n_ob = wpk.shape[0] // ob_size
    n_units = n_img * n_bands
    for t in prange(n_chunks):
        buf = scratch[t]
        part = partial[t]
        for q in range(c_in * plane, buf.shape[0]):
            buf[q] = 0
        unit_lo = t * n_units // n_chunks
        unit_hi = (t + 1) * n_units // n_chunks
        for unit in range(unit_lo, unit_hi):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            _fill_padded(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0, nb + extra, rows, wp,
                         buf, 0, n_bands == 1 and unit > unit_lo)
            # While this image computes, its blocks fetch the task's next image a share at a time.
            pf_pos = (n + 1) * c_in * h * w
            pf_end = pf_pos + c_in * h * w if n_bands == 1 and unit + 1 < unit_hi else pf_pos
            n_cs = (c_in + c_split - 1) // c_split
            pf_blocks = n_ob * nb * ((ow + PM - 1) // PM)  # blocks per image (each chunk: per channel instead)
            pf_step = (c_in * h * w // LANES + 1) // (pf_blocks if n_cs == 1 else pf_blocks * c_in) + 1
            for obcs in range(n_ob * n_cs):
                ob = obcs // n_cs
                cs = (obcs - ob * n_cs) * c_split
                ce = min(c_in, cs + c_split)
                o_first = ob * 2 * LANES
                o_n = min(2 * LANES, c_out - o_first)
                for i in range(nb):
                    for j00 in range(0, ow, PM):
                        j0 = min(j00, ow - PM)
                        pi = (i * ((ow + PM - 1) // PM) + j00 // PM) * (2 * PM * LANES)
                        if cs == 0:
                            c0_0 = zero16()
                            c0_1 = c0_0
                            c1_0 = c0_0
                            c1_1 = c0_0
                            c2_0 = c0_0
                            c2_1 = c0_0
                            c3_0 = c0_0
                            c3_1 = c0_0
                            c4_0 = c0_0
                            c4_1 = c0_0
                            c5_0 = c0_0
                            c5_1 = c0_0
                            c6_0 = c0_0
                            c6_1 = c0_0
                            c7_0 = c0_0
                            c7_1 = c0_0
                            c8_0 = c0_0
                            c8_1 = c0_0
                            c9_0 = c0_0
                            c9_1 = c0_0
                            c10_0 = c0_0
                            c10_1 = c0_0
                            c11_0 = c0_0
                            c11_1 = c0_0
                            c12_0 = c0_0
                            c12_1 = c0_0
                            c13_0 = c0_0
                            c13_1 = c0_0
                        else:
                            c0_0 = load16(part, pi + 0 * LANES)
                            c0_1 = load16(part, pi + 1 * LANES)
                            c1_0 = load16(part, pi + 2 * LANES)
                            c1_1 = load16(part, pi + 3 * LANES)
                            c2_0 = load16(part, pi + 4 * LANES)
                            c2_1 = load16(part, pi + 5 * LANES)
                            c3_0 = load16(part, pi + 6 * LANES)
                            c3_1 = load16(part, pi + 7 * LANES)
                            c4_0 = load16(part, pi + 8 * LANES)
                            c4_1 = load16(part, pi + 9 * LANES)
                            c5_0 = load16(part, pi + 10 * LANES)
                            c5_1 = load16(part, pi + 11 * LANES)
                            c6_0 = load16(part, pi + 12 * LANES)
                            c6_1 = load16(part, pi + 13 * LANES)
                            c7_0 = load16(part, pi + 14 * LANES)
                            c7_1 = load16(part, pi + 15 * LANES)
                            c8_0 = load16(part, pi + 16 * LANES)
                            c8_1 = load16(part, pi + 17 * LANES)
                            c9_0 = load16(part, pi + 18 * LANES)
                            c9_1 = load16(part, pi + 19 * LANES)
                            c10_0 = load16(part, pi + 20 * LANES)
                            c10_1 = load16(part, pi + 21 * LANES)
                            c11_0 = load16(part, pi + 22 * LANES)
                            c11_1 = load16(part, pi + 23 * LANES)
                            c12_0 = load16(part, pi + 24 * LANES)
                            c12_1 = load16(part, pi + 25 * LANES)
                            c13_0 = load16(part, pi + 26 * LANES)
                            c13_1 = load16(part, pi + 27 * LANES)
                        yb = (n * c_out + o_first) * ohw + (i0 + i) * ow + j0
                        for ch in range(o_n if ce == c_in else 0):
                            prefetch_write(yf, yb + ch * ohw)
                            prefetch_write(yf, yb + ch * ohw + PM - 1)
                        for q in range(pf_step if n_cs == 1 else 0):
                            if pf_pos < pf_end:
                                prefetch_read(xf, pf_pos)
                                pf_pos += LANES
                        k_lo = k_rows[i0 + i, 0]
                        k_hi = k_rows[i0 + i, 1]
                        wi = ob * ob_size + (cs * n_taps + k_lo) * 2 * LANES
                        w_skip = (n_taps - k_hi + k_lo) * 2 * LANES
                        xc = i * wp + j0 + cs * plane
                        for c in range(cs, ce):
                            for q in range(pf_step if n_cs > 1 else 0):
                                if pf_pos < pf_end:
                                    prefetch_read_l2(xf, pf_pos)
                                    pf_pos += LANES
                            for k in range(k_lo, k_hi):
                                xo = xc + off[k]
                                w0 = load16(wpk, wi)
                                w1 = load16(wpk, wi + 1 * LANES)
                                wi += 2 * LANES
                                xb = splat16(buf, xo + 0)
                                c0_0 = fma16(w0, xb, c0_0)
                                c0_1 = fma16(w1, xb, c0_1)
                                xb = splat16(buf, xo + 1)
                                c1_0 = fma16(w0, xb, c1_0)
                                c1_1 = fma16(w1, xb, c1_1)
                                xb = splat16(buf, xo + 2)
                                c2_0 = fma16(w0, xb, c2_0)
                                c2_1 = fma16(w1, xb, c2_1)
                                xb = splat16(buf, xo + 3)
                                c3_0 = fma16(w0, xb, c3_0)
                                c3_1 = fma16(w1, xb, c3_1)
                                xb = splat16(buf, xo + 4)
                                c4_0 = fma16(w0, xb, c4_0)
                                c4_1 = fma16(w1, xb, c4_1)
                                xb = splat16(buf, xo + 5)
                                c5_0 = fma16(w0, xb, c5_0)
                                c5_1 = fma16(w1, xb, c5_1)
                                xb = splat16(buf, xo + 6)
                                c6_0 = fma16(w0, xb, c6_0)
                                c6_1 = fma16(w1, xb, c6_1)
                                xb = splat16(buf, xo + 7)
                                c7_0 = fma16(w0, xb, c7_0)
                                c7_1 = fma16(w1, xb, c7_1)
                                xb = splat16(buf, xo + 8)
                                c8_0 = fma16(w0, xb, c8_0)
                                c8_1 = fma16(w1, xb, c8_1)
                                xb = splat16(buf, xo + 9)
                                c9_0 = fma16(w0, xb, c9_0)
                                c9_1 = fma16(w1, xb, c9_1)
                                xb = splat16(buf, xo + 10)
                                c10_0 = fma16(w0, xb, c10_0)
                                c10_1 = fma16(w1, xb, c10_1)
                                xb = splat16(buf, xo + 11)
                                c11_0 = fma16(w0, xb, c11_0)
                                c11_1 = fma16(w1, xb, c11_1)
                                xb = splat16(buf, xo + 12)
                                c12_0 = fma16(w0, xb, c12_0)
                                c12_1 = fma16(w1, xb, c12_1)
                                xb = splat16(buf, xo + 13)
                                c13_0 = fma16(w0, xb, c13_0)
                                c13_1 = fma16(w1, xb, c13_1)
                            xc += plane
                            wi += w_skip
                        if ce < c_in:  # a partial sum over channels cs..ce-1: kept as it is for the next chunk
                            store16n(part, pi + 0 * LANES, c0_0, LANES)
                            store16n(part, pi + 1 * LANES, c0_1, LANES)
                            store16n(part, pi + 2 * LANES, c1_0, LANES)
                            store16n(part, pi + 3 * LANES, c1_1, LANES)
                            store16n(part, pi + 4 * LANES, c2_0, LANES)
                            store16n(part, pi + 5 * LANES, c2_1, LANES)
                            store16n(part, pi + 6 * LANES, c3_0, LANES)
                            store16n(part, pi + 7 * LANES, c3_1, LANES)
                            store16n(part, pi + 8 * LANES, c4_0, LANES)
                            store16n(part, pi + 9 * LANES, c4_1, LANES)
                            store16n(part, pi + 10 * LANES, c5_0, LANES)
                            store16n(part, pi + 11 * LANES, c5_1, LANES)
                            store16n(part, pi + 12 * LANES, c6_0, LANES)
                            store16n(part, pi + 13 * LANES, c6_1, LANES)
                            store16n(part, pi + 14 * LANES, c7_0, LANES)
                            store16n(part, pi + 15 * LANES, c7_1, LANES)
                            store16n(part, pi + 16 * LANES, c8_0, LANES)
                            store16n(part, pi + 17 * LANES, c8_1, LANES)
                            store16n(part, pi + 18 * LANES, c9_0, LANES)
                            store16n(part, pi + 19 * LANES, c9_1, LANES)
                            store16n(part, pi + 20 * LANES, c10_0, LANES)
                            store16n(part, pi + 21 * LANES, c10_1, LANES)
                            store16n(part, pi + 22 * LANES, c11_0, LANES)
                            store16n(part, pi + 23 * LANES, c11_1, LANES)
                            store16n(part, pi + 24 * LANES, c12_0, LANES)
                            store16n(part, pi + 25 * LANES, c12_1, LANES)
                            store16n(part, pi + 26 * LANES, c13_0, LANES)
                            store16n(part, pi + 27 * LANES, c13_1, LANES)
                            continue
                        zz = zero16()
                        t = transpose16(c0_0, c1_0, c2_0, c3_0, c4_0, c5_0, c6_0, c7_0,
                                        c8_0, c9_0, c10_0, c11_0, c12_0, c13_0, zz, zz)
                        store16n(yf, yb + 0 * ohw + 0, add16(t[0], splat16(b, o_first + 0)), 14)
                        if 1 < o_n:
                            store16n(yf, yb + 1 * ohw + 0, add16(t[1], splat16(b, o_first + 1)), 14)
                        if 2 < o_n:
                            store16n(yf, yb + 2 * ohw + 0, add16(t[2], splat16(b, o_first + 2)), 14)
                        if 3 < o_n:
                            store16n(yf, yb + 3 * ohw + 0, add16(t[3], splat16(b, o_first + 3)), 14)
                        if 4 < o_n:
                            store16n(yf, yb + 4 * ohw + 0, add16(t[4], splat16(b, o_first + 4)), 14)
                        if 5 < o_n:
                            store16n(yf, yb + 5 * ohw + 0, add16(t[5], splat16(b, o_first + 5)), 14)
                        if 6 < o_n:
                            store16n(yf, yb + 6 * ohw + 0, add16(t[6], splat16(b, o_first + 6)), 14)
                        if 7 < o_n:
                            store16n(yf, yb + 7 * ohw + 0, add16(t[7], splat16(b, o_first + 7)), 14)
                        if 8 < o_n:
                            store16n(yf, yb + 8 * ohw + 0, add16(t[8], splat16(b, o_first + 8)), 14)
                        if 9 < o_n:
                            store16n(yf, yb + 9 * ohw + 0, add16(t[9], splat16(b, o_first + 9)), 14)
                        if 10 < o_n:
                            store16n(yf, yb + 10 * ohw + 0, add16(t[10], splat16(b, o_first + 10)), 14)
                        if 11 < o_n:
                            store16n(yf, yb + 11 * ohw + 0, add16(t[11], splat16(b, o_first + 11)), 14)
                        if 12 < o_n:
                            store16n(yf, yb + 12 * ohw + 0, add16(t[12], splat16(b, o_first + 12)), 14)
                        if 13 < o_n:
                            store16n(yf, yb + 13 * ohw + 0, add16(t[13], splat16(b, o_first + 13)), 14)
                        if 14 < o_n:
                            store16n(yf, yb + 14 * ohw + 0, add16(t[14], splat16(b, o_first + 14)), 14)
                        if 15 < o_n:
                            store16n(yf, yb + 15 * ohw + 0, add16(t[15], splat16(b, o_first + 15)), 14)
                        t = transpose16(c0_1, c1_1, c2_1, c3_1, c4_1, c5_1, c6_1, c7_1,
                                        c8_1, c9_1, c10_1, c11_1, c12_1, c13_1, zz, zz)
                        if 16 < o_n:
                            store16n(yf, yb + 16 * ohw + 0, add16(t[0], splat16(b, o_first + 16)), 14)
                        if 17 < o_n:
                            store16n(yf, yb + 17 * ohw + 0, add16(t[1], splat16(b, o_first + 17)), 14)
                        if 18 < o_n:
                            store16n(yf, yb + 18 * ohw + 0, add16(t[2], splat16(b, o_first + 18)), 14)
                        if 19 < o_n:
                            store16n(yf, yb + 19 * ohw + 0, add16(t[3], splat16(b, o_first + 19)), 14)
                        if 20 < o_n:
                            store16n(yf, yb + 20 * ohw + 0, add16(t[4], splat16(b, o_first + 20)), 14)
                        if 21 < o_n:
                            store16n(yf, yb + 21 * ohw + 0, add16(t[5], splat16(b, o_first + 21)), 14)
                        if 22 < o_n:
                            store16n(yf, yb + 22 * ohw + 0, add16(t[6], splat16(b, o_first + 22)), 14)
                        if 23 < o_n:
                            store16n(yf, yb + 23 * ohw + 0, add16(t[7], splat16(b, o_first + 23)), 14)
                        if 24 < o_n:
                            store16n(yf, yb + 24 * ohw + 0, add16(t[8], splat16(b, o_first + 24)), 14)
                        if 25 < o_n:
                            store16n(yf, yb + 25 * ohw + 0, add16(t[9], splat16(b, o_first + 25)), 14)
                        if 26 < o_n:
                            store16n(yf, yb + 26 * ohw + 0, add16(t[10], splat16(b, o_first + 26)), 14)
                        if 27 < o_n:
                            store16n(yf, yb + 27 * ohw + 0, add16(t[11], splat16(b, o_first + 27)), 14)
                        if 28 < o_n:
                            store16n(yf, yb + 28 * ohw + 0, add16(t[12], splat16(b, o_first + 28)), 14)
                        if 29 < o_n:
                            store16n(yf, yb + 29 * ohw + 0, add16(t[13], splat16(b, o_first + 29)), 14)
                        if 30 < o_n:
                            store16n(yf, yb + 30 * ohw + 0, add16(t[14], splat16(b, o_first + 30)), 14)
                        if 31 < o_n:
                            store16n(yf, yb + 31 * ohw + 0, add16(t[15], splat16(b, o_first + 31)), 14)


PM13 = 13  # output positions per block of the 32-channel kernel's variant for other row widths


@kernel(parallel=True)
def _conv_forward_batch_cv13(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, wpk, b, c_out,
                             oh, ow, yf, n_bands, scratch):
    """``_conv_forward_batch_cv`` with 32 output channels × PM13 = 13 positions (26 registers).

    For rows that 13 divides better than 14 (W4's 128 = 9·13 + 11: 130 positions
    computed instead of 140).
    """
    n_chunks = scratch.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    rows = band + extra
    plane = rows * wp
    n_taps = off.shape[0]
    ohw = oh * ow
    ob_size = c_in * n_taps * 2 * LANES
    n_ob = wpk.shape[0] // ob_size
    n_units = n_img * n_bands
    for t in prange(n_chunks):
        buf = scratch[t]
        for q in range(c_in * plane, buf.shape[0]):
            buf[q] = 0
        unit_lo = t * n_units // n_chunks
        unit_hi = (t + 1) * n_units // n_chunks
        for unit in range(unit_lo, unit_hi):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            _fill_padded(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0, nb + extra, rows, wp,
                         buf, 0, n_bands == 1 and unit > unit_lo)
            # While this image computes, its blocks fetch the task's next image a share at a time.
            pf_pos = (n + 1) * c_in * h * w
            pf_end = pf_pos + c_in * h * w if n_bands == 1 and unit + 1 < unit_hi else pf_pos
            pf_step = (c_in * h * w // LANES + 1) // (n_ob * nb * ((ow + PM13 - 1) // PM13)) + 1
            for ob in range(n_ob):
                o_first = ob * 2 * LANES
                o_n = min(2 * LANES, c_out - o_first)
                for i in range(nb):
                    for j00 in range(0, ow, PM13):
                        j0 = min(j00, ow - PM13)
                        c0_0 = zero16()
                        c0_1 = c0_0
                        c1_0 = c0_0
                        c1_1 = c0_0
                        c2_0 = c0_0
                        c2_1 = c0_0
                        c3_0 = c0_0
                        c3_1 = c0_0
                        c4_0 = c0_0
                        c4_1 = c0_0
                        c5_0 = c0_0
                        c5_1 = c0_0
                        c6_0 = c0_0
                        c6_1 = c0_0
                        c7_0 = c0_0
                        c7_1 = c0_0
                        c8_0 = c0_0
                        c8_1 = c0_0
                        c9_0 = c0_0
                        c9_1 = c0_0
                        c10_0 = c0_0
                        c10_1 = c0_0
                        c11_0 = c0_0
                        c11_1 = c0_0
                        c12_0 = c0_0
                        c12_1 = c0_0
                        yb = (n * c_out + o_first) * ohw + (i0 + i) * ow + j0
                        for ch in range(o_n):
                            prefetch_write(yf, yb + ch * ohw)
                            prefetch_write(yf, yb + ch * ohw + PM13 - 1)
                        for q in range(pf_step):
                            if pf_pos < pf_end:
                                prefetch_read(xf, pf_pos)
                                pf_pos += LANES
                        wi = ob * ob_size
                        xc = i * wp + j0
                        for c in range(c_in):
                            for k in range(n_taps):
                                xo = xc + off[k]
                                w0 = load16(wpk, wi)
                                w1 = load16(wpk, wi + 1 * LANES)
                                wi += 2 * LANES
                                xb = splat16(buf, xo + 0)
                                c0_0 = fma16(w0, xb, c0_0)
                                c0_1 = fma16(w1, xb, c0_1)
                                xb = splat16(buf, xo + 1)
                                c1_0 = fma16(w0, xb, c1_0)
                                c1_1 = fma16(w1, xb, c1_1)
                                xb = splat16(buf, xo + 2)
                                c2_0 = fma16(w0, xb, c2_0)
                                c2_1 = fma16(w1, xb, c2_1)
                                xb = splat16(buf, xo + 3)
                                c3_0 = fma16(w0, xb, c3_0)
                                c3_1 = fma16(w1, xb, c3_1)
                                xb = splat16(buf, xo + 4)
                                c4_0 = fma16(w0, xb, c4_0)
                                c4_1 = fma16(w1, xb, c4_1)
                                xb = splat16(buf, xo + 5)
                                c5_0 = fma16(w0, xb, c5_0)
                                c5_1 = fma16(w1, xb, c5_1)
                                xb = splat16(buf, xo + 6)
                                c6_0 = fma16(w0, xb, c6_0)
                                c6_1 = fma16(w1, xb, c6_1)
                                xb = splat16(buf, xo + 7)
                                c7_0 = fma16(w0, xb, c7_0)
                                c7_1 = fma16(w1, xb, c7_1)
                                xb = splat16(buf, xo + 8)
                                c8_0 = fma16(w0, xb, c8_0)
                                c8_1 = fma16(w1, xb, c8_1)
                                xb = splat16(buf, xo + 9)
                                c9_0 = fma16(w0, xb, c9_0)
                                c9_1 = fma16(w1, xb, c9_1)
                                xb = splat16(buf, xo + 10)
                                c10_0 = fma16(w0, xb, c10_0)
                                c10_1 = fma16(w1, xb, c10_1)
                                xb = splat16(buf, xo + 11)
                                c11_0 = fma16(w0, xb, c11_0)
                                c11_1 = fma16(w1, xb, c11_1)
                                xb = splat16(buf, xo + 12)
                                c12_0 = fma16(w0, xb, c12_0)
                                c12_1 = fma16(w1, xb, c12_1)
                            xc += plane
                        zz = zero16()
                        t = transpose16(c0_0, c1_0, c2_0, c3_0, c4_0, c5_0, c6_0, c7_0,
                                        c8_0, c9_0, c10_0, c11_0, c12_0, zz, zz, zz)
                        store16n(yf, yb + 0 * ohw + 0, add16(t[0], splat16(b, o_first + 0)), 13)
                        if 1 < o_n:
                            store16n(yf, yb + 1 * ohw + 0, add16(t[1], splat16(b, o_first + 1)), 13)
                        if 2 < o_n:
                            store16n(yf, yb + 2 * ohw + 0, add16(t[2], splat16(b, o_first + 2)), 13)
                        if 3 < o_n:
                            store16n(yf, yb + 3 * ohw + 0, add16(t[3], splat16(b, o_first + 3)), 13)
                        if 4 < o_n:
                            store16n(yf, yb + 4 * ohw + 0, add16(t[4], splat16(b, o_first + 4)), 13)
                        if 5 < o_n:
                            store16n(yf, yb + 5 * ohw + 0, add16(t[5], splat16(b, o_first + 5)), 13)
                        if 6 < o_n:
                            store16n(yf, yb + 6 * ohw + 0, add16(t[6], splat16(b, o_first + 6)), 13)
                        if 7 < o_n:
                            store16n(yf, yb + 7 * ohw + 0, add16(t[7], splat16(b, o_first + 7)), 13)
                        if 8 < o_n:
                            store16n(yf, yb + 8 * ohw + 0, add16(t[8], splat16(b, o_first + 8)), 13)
                        if 9 < o_n:
                            store16n(yf, yb + 9 * ohw + 0, add16(t[9], splat16(b, o_first + 9)), 13)
                        if 10 < o_n:
                            store16n(yf, yb + 10 * ohw + 0, add16(t[10], splat16(b, o_first + 10)), 13)
                        if 11 < o_n:
                            store16n(yf, yb + 11 * ohw + 0, add16(t[11], splat16(b, o_first + 11)), 13)
                        if 12 < o_n:
                            store16n(yf, yb + 12 * ohw + 0, add16(t[12], splat16(b, o_first + 12)), 13)
                        if 13 < o_n:
                            store16n(yf, yb + 13 * ohw + 0, add16(t[13], splat16(b, o_first + 13)), 13)
                        if 14 < o_n:
                            store16n(yf, yb + 14 * ohw + 0, add16(t[14], splat16(b, o_first + 14)), 13)
                        if 15 < o_n:
                            store16n(yf, yb + 15 * ohw + 0, add16(t[15], splat16(b, o_first + 15)), 13)
                        t = transpose16(c0_1, c1_1, c2_1, c3_1, c4_1, c5_1, c6_1, c7_1,
                                        c8_1, c9_1, c10_1, c11_1, c12_1, zz, zz, zz)
                        if 16 < o_n:
                            store16n(yf, yb + 16 * ohw + 0, add16(t[0], splat16(b, o_first + 16)), 13)
                        if 17 < o_n:
                            store16n(yf, yb + 17 * ohw + 0, add16(t[1], splat16(b, o_first + 17)), 13)
                        if 18 < o_n:
                            store16n(yf, yb + 18 * ohw + 0, add16(t[2], splat16(b, o_first + 18)), 13)
                        if 19 < o_n:
                            store16n(yf, yb + 19 * ohw + 0, add16(t[3], splat16(b, o_first + 19)), 13)
                        if 20 < o_n:
                            store16n(yf, yb + 20 * ohw + 0, add16(t[4], splat16(b, o_first + 20)), 13)
                        if 21 < o_n:
                            store16n(yf, yb + 21 * ohw + 0, add16(t[5], splat16(b, o_first + 21)), 13)
                        if 22 < o_n:
                            store16n(yf, yb + 22 * ohw + 0, add16(t[6], splat16(b, o_first + 22)), 13)
                        if 23 < o_n:
                            store16n(yf, yb + 23 * ohw + 0, add16(t[7], splat16(b, o_first + 23)), 13)
                        if 24 < o_n:
                            store16n(yf, yb + 24 * ohw + 0, add16(t[8], splat16(b, o_first + 24)), 13)
                        if 25 < o_n:
                            store16n(yf, yb + 25 * ohw + 0, add16(t[9], splat16(b, o_first + 25)), 13)
                        if 26 < o_n:
                            store16n(yf, yb + 26 * ohw + 0, add16(t[10], splat16(b, o_first + 26)), 13)
                        if 27 < o_n:
                            store16n(yf, yb + 27 * ohw + 0, add16(t[11], splat16(b, o_first + 27)), 13)
                        if 28 < o_n:
                            store16n(yf, yb + 28 * ohw + 0, add16(t[12], splat16(b, o_first + 28)), 13)
                        if 29 < o_n:
                            store16n(yf, yb + 29 * ohw + 0, add16(t[13], splat16(b, o_first + 29)), 13)
                        if 30 < o_n:
                            store16n(yf, yb + 30 * ohw + 0, add16(t[14], splat16(b, o_first + 30)), 13)
                        if 31 < o_n:
                            store16n(yf, yb + 31 * ohw + 0, add16(t[15], splat16(b, o_first + 31)), 13)


PM16 = 26  # output positions per block of the one-vector channel kernel (128 = 4·26 + 24)


@kernel(parallel=True)
def _conv_forward_batch_cv16(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, wpk, b, c_out,
                             oh, ow, yf, n_bands, scratch):
    """``_conv_forward_batch_cv`` with one 16-channel vector × PM16 = 26 positions (26 registers).

    For 9–16 output channels (a 32-channel block would idle half its lanes).
    Per tap one weight vector and 26 broadcast input values feed 26 FMAs; no
    input vector load straddles a cache line.  wpk: weights packed (C_out/16
    rounded up, C_in, T, 16), zero beyond C_out.  Needs W_out >= PM16.
    """
    n_chunks = scratch.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    rows = band + extra
    plane = rows * wp
    n_taps = off.shape[0]
    ohw = oh * ow
    ob_size = c_in * n_taps * 1 * LANES
    n_ob = wpk.shape[0] // ob_size
    n_units = n_img * n_bands
    for t in prange(n_chunks):
        buf = scratch[t]
        for q in range(c_in * plane, buf.shape[0]):
            buf[q] = 0
        unit_lo = t * n_units // n_chunks
        unit_hi = (t + 1) * n_units // n_chunks
        for unit in range(unit_lo, unit_hi):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            _fill_padded(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0, nb + extra, rows, wp,
                         buf, 0, n_bands == 1 and unit > unit_lo)
            # While this image computes, its blocks fetch the task's next image a share at a time.
            pf_pos = (n + 1) * c_in * h * w
            pf_end = pf_pos + c_in * h * w if n_bands == 1 and unit + 1 < unit_hi else pf_pos
            pf_step = (c_in * h * w // LANES + 1) // (n_ob * nb * ((ow + PM16 - 1) // PM16)) + 1
            for ob in range(n_ob):
                o_first = ob * 1 * LANES
                o_n = min(1 * LANES, c_out - o_first)
                for i in range(nb):
                    for j00 in range(0, ow, PM16):
                        j0 = min(j00, ow - PM16)
                        c0_0 = zero16()
                        c1_0 = c0_0
                        c2_0 = c0_0
                        c3_0 = c0_0
                        c4_0 = c0_0
                        c5_0 = c0_0
                        c6_0 = c0_0
                        c7_0 = c0_0
                        c8_0 = c0_0
                        c9_0 = c0_0
                        c10_0 = c0_0
                        c11_0 = c0_0
                        c12_0 = c0_0
                        c13_0 = c0_0
                        c14_0 = c0_0
                        c15_0 = c0_0
                        c16_0 = c0_0
                        c17_0 = c0_0
                        c18_0 = c0_0
                        c19_0 = c0_0
                        c20_0 = c0_0
                        c21_0 = c0_0
                        c22_0 = c0_0
                        c23_0 = c0_0
                        c24_0 = c0_0
                        c25_0 = c0_0
                        yb = (n * c_out + o_first) * ohw + (i0 + i) * ow + j0
                        for ch in range(o_n):
                            prefetch_write(yf, yb + ch * ohw)
                            prefetch_write(yf, yb + ch * ohw + PM16 - 1)
                        for q in range(pf_step):
                            if pf_pos < pf_end:
                                prefetch_read(xf, pf_pos)
                                pf_pos += LANES
                        wi = ob * ob_size
                        xc = i * wp + j0
                        for c in range(c_in):
                            for k in range(n_taps):
                                xo = xc + off[k]
                                w0 = load16(wpk, wi)
                                wi += LANES
                                xb = splat16(buf, xo + 0)
                                c0_0 = fma16(w0, xb, c0_0)
                                xb = splat16(buf, xo + 1)
                                c1_0 = fma16(w0, xb, c1_0)
                                xb = splat16(buf, xo + 2)
                                c2_0 = fma16(w0, xb, c2_0)
                                xb = splat16(buf, xo + 3)
                                c3_0 = fma16(w0, xb, c3_0)
                                xb = splat16(buf, xo + 4)
                                c4_0 = fma16(w0, xb, c4_0)
                                xb = splat16(buf, xo + 5)
                                c5_0 = fma16(w0, xb, c5_0)
                                xb = splat16(buf, xo + 6)
                                c6_0 = fma16(w0, xb, c6_0)
                                xb = splat16(buf, xo + 7)
                                c7_0 = fma16(w0, xb, c7_0)
                                xb = splat16(buf, xo + 8)
                                c8_0 = fma16(w0, xb, c8_0)
                                xb = splat16(buf, xo + 9)
                                c9_0 = fma16(w0, xb, c9_0)
                                xb = splat16(buf, xo + 10)
                                c10_0 = fma16(w0, xb, c10_0)
                                xb = splat16(buf, xo + 11)
                                c11_0 = fma16(w0, xb, c11_0)
                                xb = splat16(buf, xo + 12)
                                c12_0 = fma16(w0, xb, c12_0)
                                xb = splat16(buf, xo + 13)
                                c13_0 = fma16(w0, xb, c13_0)
                                xb = splat16(buf, xo + 14)
                                c14_0 = fma16(w0, xb, c14_0)
                                xb = splat16(buf, xo + 15)
                                c15_0 = fma16(w0, xb, c15_0)
                                xb = splat16(buf, xo + 16)
                                c16_0 = fma16(w0, xb, c16_0)
                                xb = splat16(buf, xo + 17)
                                c17_0 = fma16(w0, xb, c17_0)
                                xb = splat16(buf, xo + 18)
                                c18_0 = fma16(w0, xb, c18_0)
                                xb = splat16(buf, xo + 19)
                                c19_0 = fma16(w0, xb, c19_0)
                                xb = splat16(buf, xo + 20)
                                c20_0 = fma16(w0, xb, c20_0)
                                xb = splat16(buf, xo + 21)
                                c21_0 = fma16(w0, xb, c21_0)
                                xb = splat16(buf, xo + 22)
                                c22_0 = fma16(w0, xb, c22_0)
                                xb = splat16(buf, xo + 23)
                                c23_0 = fma16(w0, xb, c23_0)
                                xb = splat16(buf, xo + 24)
                                c24_0 = fma16(w0, xb, c24_0)
                                xb = splat16(buf, xo + 25)
                                c25_0 = fma16(w0, xb, c25_0)
                            xc += plane
                        zz = zero16()
                        t = transpose16(c0_0, c1_0, c2_0, c3_0, c4_0, c5_0, c6_0, c7_0,
                                        c8_0, c9_0, c10_0, c11_0, c12_0, c13_0, c14_0, c15_0)
                        store16n(yf, yb + 0 * ohw + 0, add16(t[0], splat16(b, o_first + 0)), 16)
                        if 1 < o_n:
                            store16n(yf, yb + 1 * ohw + 0, add16(t[1], splat16(b, o_first + 1)), 16)
                        if 2 < o_n:
                            store16n(yf, yb + 2 * ohw + 0, add16(t[2], splat16(b, o_first + 2)), 16)
                        if 3 < o_n:
                            store16n(yf, yb + 3 * ohw + 0, add16(t[3], splat16(b, o_first + 3)), 16)
                        if 4 < o_n:
                            store16n(yf, yb + 4 * ohw + 0, add16(t[4], splat16(b, o_first + 4)), 16)
                        if 5 < o_n:
                            store16n(yf, yb + 5 * ohw + 0, add16(t[5], splat16(b, o_first + 5)), 16)
                        if 6 < o_n:
                            store16n(yf, yb + 6 * ohw + 0, add16(t[6], splat16(b, o_first + 6)), 16)
                        if 7 < o_n:
                            store16n(yf, yb + 7 * ohw + 0, add16(t[7], splat16(b, o_first + 7)), 16)
                        if 8 < o_n:
                            store16n(yf, yb + 8 * ohw + 0, add16(t[8], splat16(b, o_first + 8)), 16)
                        if 9 < o_n:
                            store16n(yf, yb + 9 * ohw + 0, add16(t[9], splat16(b, o_first + 9)), 16)
                        if 10 < o_n:
                            store16n(yf, yb + 10 * ohw + 0, add16(t[10], splat16(b, o_first + 10)), 16)
                        if 11 < o_n:
                            store16n(yf, yb + 11 * ohw + 0, add16(t[11], splat16(b, o_first + 11)), 16)
                        if 12 < o_n:
                            store16n(yf, yb + 12 * ohw + 0, add16(t[12], splat16(b, o_first + 12)), 16)
                        if 13 < o_n:
                            store16n(yf, yb + 13 * ohw + 0, add16(t[13], splat16(b, o_first + 13)), 16)
                        if 14 < o_n:
                            store16n(yf, yb + 14 * ohw + 0, add16(t[14], splat16(b, o_first + 14)), 16)
                        if 15 < o_n:
                            store16n(yf, yb + 15 * ohw + 0, add16(t[15], splat16(b, o_first + 15)), 16)
                        t = transpose16(c16_0, c17_0, c18_0, c19_0, c20_0, c21_0, c22_0, c23_0,
                                        c24_0, c25_0, zz, zz, zz, zz, zz, zz)
                        store16n(yf, yb + 0 * ohw + 16, add16(t[0], splat16(b, o_first + 0)), 10)
                        if 1 < o_n:
                            store16n(yf, yb + 1 * ohw + 16, add16(t[1], splat16(b, o_first + 1)), 10)
                        if 2 < o_n:
                            store16n(yf, yb + 2 * ohw + 16, add16(t[2], splat16(b, o_first + 2)), 10)
                        if 3 < o_n:
                            store16n(yf, yb + 3 * ohw + 16, add16(t[3], splat16(b, o_first + 3)), 10)
                        if 4 < o_n:
                            store16n(yf, yb + 4 * ohw + 16, add16(t[4], splat16(b, o_first + 4)), 10)
                        if 5 < o_n:
                            store16n(yf, yb + 5 * ohw + 16, add16(t[5], splat16(b, o_first + 5)), 10)
                        if 6 < o_n:
                            store16n(yf, yb + 6 * ohw + 16, add16(t[6], splat16(b, o_first + 6)), 10)
                        if 7 < o_n:
                            store16n(yf, yb + 7 * ohw + 16, add16(t[7], splat16(b, o_first + 7)), 10)
                        if 8 < o_n:
                            store16n(yf, yb + 8 * ohw + 16, add16(t[8], splat16(b, o_first + 8)), 10)
                        if 9 < o_n:
                            store16n(yf, yb + 9 * ohw + 16, add16(t[9], splat16(b, o_first + 9)), 10)
                        if 10 < o_n:
                            store16n(yf, yb + 10 * ohw + 16, add16(t[10], splat16(b, o_first + 10)), 10)
                        if 11 < o_n:
                            store16n(yf, yb + 11 * ohw + 16, add16(t[11], splat16(b, o_first + 11)), 10)
                        if 12 < o_n:
                            store16n(yf, yb + 12 * ohw + 16, add16(t[12], splat16(b, o_first + 12)), 10)
                        if 13 < o_n:
                            store16n(yf, yb + 13 * ohw + 16, add16(t[13], splat16(b, o_first + 13)), 10)
                        if 14 < o_n:
                            store16n(yf, yb + 14 * ohw + 16, add16(t[14], splat16(b, o_first + 14)), 10)
                        if 15 < o_n:
                            store16n(yf, yb + 15 * ohw + 16, add16(t[15], splat16(b, o_first + 15)), 10)

@kernel(parallel=True)
def _conv_forward_batch_cv16w3(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, wpk, b, c_out,
                               oh, ow, yf, n_bands, scratch):
    """``_conv_forward_batch_cv16`` for kernels 3 taps wide without column dilation (the chapter's 3×3).

    Each broadcast input value feeds the three outputs it reaches along a kernel
    row (three weight vectors held per input channel and kernel row): 28
    broadcasts and 3 weight loads feed 78 FMAs, where the one-tap-at-a-time
    kernel needs one load per FMA and waits on the load ports (W4's input
    gradient, 32 → 16 channels).  ``off[3a]`` gives kernel row a's offset.
    """
    n_chunks = scratch.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    rows = band + extra
    plane = rows * wp
    n_taps = off.shape[0]
    ohw = oh * ow
    ob_size = c_in * n_taps * 1 * LANES
    n_ob = wpk.shape[0] // ob_size
    n_units = n_img * n_bands
    for t in prange(n_chunks):
        buf = scratch[t]
        for q in range(c_in * plane, buf.shape[0]):
            buf[q] = 0
        unit_lo = t * n_units // n_chunks
        unit_hi = (t + 1) * n_units // n_chunks
        for unit in range(unit_lo, unit_hi):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            _fill_padded(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0, nb + extra, rows, wp,
                         buf, 0, n_bands == 1 and unit > unit_lo)
            # While this image computes, its blocks fetch the task's next image a share at a time.
            pf_pos = (n + 1) * c_in * h * w
            pf_end = pf_pos + c_in * h * w if n_bands == 1 and unit + 1 < unit_hi else pf_pos
            pf_step = (c_in * h * w // LANES + 1) // (n_ob * nb * ((ow + PM16 - 1) // PM16)) + 1
            for ob in range(n_ob):
                o_first = ob * 1 * LANES
                o_n = min(1 * LANES, c_out - o_first)
                for i in range(nb):
                    for j00 in range(0, ow, PM16):
                        j0 = min(j00, ow - PM16)
                        c0_0 = zero16()
                        c1_0 = c0_0
                        c2_0 = c0_0
                        c3_0 = c0_0
                        c4_0 = c0_0
                        c5_0 = c0_0
                        c6_0 = c0_0
                        c7_0 = c0_0
                        c8_0 = c0_0
                        c9_0 = c0_0
                        c10_0 = c0_0
                        c11_0 = c0_0
                        c12_0 = c0_0
                        c13_0 = c0_0
                        c14_0 = c0_0
                        c15_0 = c0_0
                        c16_0 = c0_0
                        c17_0 = c0_0
                        c18_0 = c0_0
                        c19_0 = c0_0
                        c20_0 = c0_0
                        c21_0 = c0_0
                        c22_0 = c0_0
                        c23_0 = c0_0
                        c24_0 = c0_0
                        c25_0 = c0_0
                        yb = (n * c_out + o_first) * ohw + (i0 + i) * ow + j0
                        for ch in range(o_n):
                            prefetch_write(yf, yb + ch * ohw)
                            prefetch_write(yf, yb + ch * ohw + PM16 - 1)
                        for q in range(pf_step):
                            if pf_pos < pf_end:
                                prefetch_read(xf, pf_pos)
                                pf_pos += LANES
                        wi = ob * ob_size
                        xc = i * wp + j0
                        for c in range(c_in):
                            for a in range(0, n_taps, 3):
                                xo = xc + off[a]
                                w0 = load16(wpk, wi)
                                w1 = load16(wpk, wi + LANES)
                                w2 = load16(wpk, wi + 2 * LANES)
                                wi += 3 * LANES
                                xb = splat16(buf, xo + 0)
                                c0_0 = fma16(w0, xb, c0_0)
                                xb = splat16(buf, xo + 1)
                                c1_0 = fma16(w0, xb, c1_0)
                                c0_0 = fma16(w1, xb, c0_0)
                                xb = splat16(buf, xo + 2)
                                c2_0 = fma16(w0, xb, c2_0)
                                c1_0 = fma16(w1, xb, c1_0)
                                c0_0 = fma16(w2, xb, c0_0)
                                xb = splat16(buf, xo + 3)
                                c3_0 = fma16(w0, xb, c3_0)
                                c2_0 = fma16(w1, xb, c2_0)
                                c1_0 = fma16(w2, xb, c1_0)
                                xb = splat16(buf, xo + 4)
                                c4_0 = fma16(w0, xb, c4_0)
                                c3_0 = fma16(w1, xb, c3_0)
                                c2_0 = fma16(w2, xb, c2_0)
                                xb = splat16(buf, xo + 5)
                                c5_0 = fma16(w0, xb, c5_0)
                                c4_0 = fma16(w1, xb, c4_0)
                                c3_0 = fma16(w2, xb, c3_0)
                                xb = splat16(buf, xo + 6)
                                c6_0 = fma16(w0, xb, c6_0)
                                c5_0 = fma16(w1, xb, c5_0)
                                c4_0 = fma16(w2, xb, c4_0)
                                xb = splat16(buf, xo + 7)
                                c7_0 = fma16(w0, xb, c7_0)
                                c6_0 = fma16(w1, xb, c6_0)
                                c5_0 = fma16(w2, xb, c5_0)
                                xb = splat16(buf, xo + 8)
                                c8_0 = fma16(w0, xb, c8_0)
                                c7_0 = fma16(w1, xb, c7_0)
                                c6_0 = fma16(w2, xb, c6_0)
                                xb = splat16(buf, xo + 9)
                                c9_0 = fma16(w0, xb, c9_0)
                                c8_0 = fma16(w1, xb, c8_0)
                                c7_0 = fma16(w2, xb, c7_0)
                                xb = splat16(buf, xo + 10)
                                c10_0 = fma16(w0, xb, c10_0)
                                c9_0 = fma16(w1, xb, c9_0)
                                c8_0 = fma16(w2, xb, c8_0)
                                xb = splat16(buf, xo + 11)
                                c11_0 = fma16(w0, xb, c11_0)
                                c10_0 = fma16(w1, xb, c10_0)
                                c9_0 = fma16(w2, xb, c9_0)
                                xb = splat16(buf, xo + 12)
                                c12_0 = fma16(w0, xb, c12_0)
                                c11_0 = fma16(w1, xb, c11_0)
                                c10_0 = fma16(w2, xb, c10_0)
                                xb = splat16(buf, xo + 13)
                                c13_0 = fma16(w0, xb, c13_0)
                                c12_0 = fma16(w1, xb, c12_0)
                                c11_0 = fma16(w2, xb, c11_0)
                                xb = splat16(buf, xo + 14)
                                c14_0 = fma16(w0, xb, c14_0)
                                c13_0 = fma16(w1, xb, c13_0)
                                c12_0 = fma16(w2, xb, c12_0)
                                xb = splat16(buf, xo + 15)
                                c15_0 = fma16(w0, xb, c15_0)
                                c14_0 = fma16(w1, xb, c14_0)
                                c13_0 = fma16(w2, xb, c13_0)
                                xb = splat16(buf, xo + 16)
                                c16_0 = fma16(w0, xb, c16_0)
                                c15_0 = fma16(w1, xb, c15_0)
                                c14_0 = fma16(w2, xb, c14_0)
                                xb = splat16(buf, xo + 17)
                                c17_0 = fma16(w0, xb, c17_0)
                                c16_0 = fma16(w1, xb, c16_0)
                                c15_0 = fma16(w2, xb, c15_0)
                                xb = splat16(buf, xo + 18)
                                c18_0 = fma16(w0, xb, c18_0)
                                c17_0 = fma16(w1, xb, c17_0)
                                c16_0 = fma16(w2, xb, c16_0)
                                xb = splat16(buf, xo + 19)
                                c19_0 = fma16(w0, xb, c19_0)
                                c18_0 = fma16(w1, xb, c18_0)
                                c17_0 = fma16(w2, xb, c17_0)
                                xb = splat16(buf, xo + 20)
                                c20_0 = fma16(w0, xb, c20_0)
                                c19_0 = fma16(w1, xb, c19_0)
                                c18_0 = fma16(w2, xb, c18_0)
                                xb = splat16(buf, xo + 21)
                                c21_0 = fma16(w0, xb, c21_0)
                                c20_0 = fma16(w1, xb, c20_0)
                                c19_0 = fma16(w2, xb, c19_0)
                                xb = splat16(buf, xo + 22)
                                c22_0 = fma16(w0, xb, c22_0)
                                c21_0 = fma16(w1, xb, c21_0)
                                c20_0 = fma16(w2, xb, c20_0)
                                xb = splat16(buf, xo + 23)
                                c23_0 = fma16(w0, xb, c23_0)
                                c22_0 = fma16(w1, xb, c22_0)
                                c21_0 = fma16(w2, xb, c21_0)
                                xb = splat16(buf, xo + 24)
                                c24_0 = fma16(w0, xb, c24_0)
                                c23_0 = fma16(w1, xb, c23_0)
                                c22_0 = fma16(w2, xb, c22_0)
                                xb = splat16(buf, xo + 25)
                                c25_0 = fma16(w0, xb, c25_0)
                                c24_0 = fma16(w1, xb, c24_0)
                                c23_0 = fma16(w2, xb, c23_0)
                                xb = splat16(buf, xo + 26)
                                c25_0 = fma16(w1, xb, c25_0)
                                c24_0 = fma16(w2, xb, c24_0)
                                xb = splat16(buf, xo + 27)
                                c25_0 = fma16(w2, xb, c25_0)
                            xc += plane
                        zz = zero16()
                        t = transpose16(c0_0, c1_0, c2_0, c3_0, c4_0, c5_0, c6_0, c7_0,
                                        c8_0, c9_0, c10_0, c11_0, c12_0, c13_0, c14_0, c15_0)
                        store16n(yf, yb + 0 * ohw + 0, add16(t[0], splat16(b, o_first + 0)), 16)
                        if 1 < o_n:
                            store16n(yf, yb + 1 * ohw + 0, add16(t[1], splat16(b, o_first + 1)), 16)
                        if 2 < o_n:
                            store16n(yf, yb + 2 * ohw + 0, add16(t[2], splat16(b, o_first + 2)), 16)
                        if 3 < o_n:
                            store16n(yf, yb + 3 * ohw + 0, add16(t[3], splat16(b, o_first + 3)), 16)
                        if 4 < o_n:
                            store16n(yf, yb + 4 * ohw + 0, add16(t[4], splat16(b, o_first + 4)), 16)
                        if 5 < o_n:
                            store16n(yf, yb + 5 * ohw + 0, add16(t[5], splat16(b, o_first + 5)), 16)
                        if 6 < o_n:
                            store16n(yf, yb + 6 * ohw + 0, add16(t[6], splat16(b, o_first + 6)), 16)
                        if 7 < o_n:
                            store16n(yf, yb + 7 * ohw + 0, add16(t[7], splat16(b, o_first + 7)), 16)
                        if 8 < o_n:
                            store16n(yf, yb + 8 * ohw + 0, add16(t[8], splat16(b, o_first + 8)), 16)
                        if 9 < o_n:
                            store16n(yf, yb + 9 * ohw + 0, add16(t[9], splat16(b, o_first + 9)), 16)
                        if 10 < o_n:
                            store16n(yf, yb + 10 * ohw + 0, add16(t[10], splat16(b, o_first + 10)), 16)
                        if 11 < o_n:
                            store16n(yf, yb + 11 * ohw + 0, add16(t[11], splat16(b, o_first + 11)), 16)
                        if 12 < o_n:
                            store16n(yf, yb + 12 * ohw + 0, add16(t[12], splat16(b, o_first + 12)), 16)
                        if 13 < o_n:
                            store16n(yf, yb + 13 * ohw + 0, add16(t[13], splat16(b, o_first + 13)), 16)
                        if 14 < o_n:
                            store16n(yf, yb + 14 * ohw + 0, add16(t[14], splat16(b, o_first + 14)), 16)
                        if 15 < o_n:
                            store16n(yf, yb + 15 * ohw + 0, add16(t[15], splat16(b, o_first + 15)), 16)
                        t = transpose16(c16_0, c17_0, c18_0, c19_0, c20_0, c21_0, c22_0, c23_0,
                                        c24_0, c25_0, zz, zz, zz, zz, zz, zz)
                        store16n(yf, yb + 0 * ohw + 16, add16(t[0], splat16(b, o_first + 0)), 10)
                        if 1 < o_n:
                            store16n(yf, yb + 1 * ohw + 16, add16(t[1], splat16(b, o_first + 1)), 10)
                        if 2 < o_n:
                            store16n(yf, yb + 2 * ohw + 16, add16(t[2], splat16(b, o_first + 2)), 10)
                        if 3 < o_n:
                            store16n(yf, yb + 3 * ohw + 16, add16(t[3], splat16(b, o_first + 3)), 10)
                        if 4 < o_n:
                            store16n(yf, yb + 4 * ohw + 16, add16(t[4], splat16(b, o_first + 4)), 10)
                        if 5 < o_n:
                            store16n(yf, yb + 5 * ohw + 16, add16(t[5], splat16(b, o_first + 5)), 10)
                        if 6 < o_n:
                            store16n(yf, yb + 6 * ohw + 16, add16(t[6], splat16(b, o_first + 6)), 10)
                        if 7 < o_n:
                            store16n(yf, yb + 7 * ohw + 16, add16(t[7], splat16(b, o_first + 7)), 10)
                        if 8 < o_n:
                            store16n(yf, yb + 8 * ohw + 16, add16(t[8], splat16(b, o_first + 8)), 10)
                        if 9 < o_n:
                            store16n(yf, yb + 9 * ohw + 16, add16(t[9], splat16(b, o_first + 9)), 10)
                        if 10 < o_n:
                            store16n(yf, yb + 10 * ohw + 16, add16(t[10], splat16(b, o_first + 10)), 10)
                        if 11 < o_n:
                            store16n(yf, yb + 11 * ohw + 16, add16(t[11], splat16(b, o_first + 11)), 10)
                        if 12 < o_n:
                            store16n(yf, yb + 12 * ohw + 16, add16(t[12], splat16(b, o_first + 12)), 10)
                        if 13 < o_n:
                            store16n(yf, yb + 13 * ohw + 16, add16(t[13], splat16(b, o_first + 13)), 10)
                        if 14 < o_n:
                            store16n(yf, yb + 14 * ohw + 16, add16(t[14], splat16(b, o_first + 14)), 10)
                        if 15 < o_n:
                            store16n(yf, yb + 15 * ohw + 16, add16(t[15], splat16(b, o_first + 15)), 10)

@kernel()
def _sum_run(af, start, n):
    """``af[start:start + n].sum()`` in float32: four 16-lane accumulators, the last vector masked.

    The bias gradient (the sum of each δ map) of the weight-gradient kernels.  As a plain loop LLVM
    kept one 4-lane accumulator (a latency-bound chain): 0.3 ms of a 1.0 ms C1w call on one core.
    """
    a0 = zero16()
    a1 = a0
    a2 = a0
    a3 = a0
    q = start
    end = start + n
    while q + 4 * LANES <= end:
        a0 = add16(a0, load16(af, q))
        a1 = add16(a1, load16(af, q + LANES))
        a2 = add16(a2, load16(af, q + 2 * LANES))
        a3 = add16(a3, load16(af, q + 3 * LANES))
        q += 4 * LANES
    while q < end:
        a0 = add16(a0, load16n(af, q, end - q))
        q += LANES
    return sum16(add16(add16(a0, a1), add16(a2, a3)))


@kernel(parallel=True)
def _pad_batch(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, xpf):
    """Pad every image into ``xpf`` (N, C_in, Hp, Wp) flattened, plus a zeroed tail of LANES."""
    size = c_in * hp * wp
    for n in prange(n_img):
        _fill_padded(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, 0, hp, hp, wp, xpf, n * size,
                     False)
    for q in range(n_img * size, xpf.shape[0]):
        xpf[q] = 0


@kernel(parallel=True, reduce=True)
def _conv_grad_weight_batch(xpf, plane, wp, off, gyf, n_img, c_in, c_out, oh, ow, partial, pbias):
    """Eq. 36.9 summed over the images of each slab: ``partial[s]`` (C_out, C_in·T), ``pbias[s]`` (C_out,).

    xpf: padded inputs (N, C_in, Hp, Wp) flattened with a zeroed tail; gyf: δ
    (N, C_out, H_out, W_out) flattened, read in place (masked loads: the lanes
    past a row's end are zero, so the input lanes they meet add nothing).  One
    prange iteration owns slab s (a run of images) and writes only
    ``partial[s]``/``pbias[s]``, which must arrive zeroed.
    """
    n_slabs = partial.shape[0]
    n_taps = off.shape[0]
    nv = (ow + LANES - 1) // LANES
    ohw = oh * ow
    for sl in prange(n_slabs):
        s = np.empty(GO * GT, np.float32)
        n_lo = sl * n_img // n_slabs
        n_hi = (sl + 1) * n_img // n_slabs
        for nc in range(n_lo, n_hi, GCHUNK):
            nc_hi = min(nc + GCHUNK, n_hi)
            for oa in range(0, c_out, GO):
                o0 = oa
                o1 = min(oa + 1, c_out - 1)
                o2 = min(oa + 2, c_out - 1)
                for m in range(min(GO, c_out - oa)):
                    tot = 0.0
                    for n in range(nc, nc_hi):
                        tot += _sum_run(gyf, (n * c_out + oa + m) * ohw, ohw)
                    pbias[sl, oa + m] += tot
                for c in range(c_in):
                    for k0 in range(0, n_taps, GT):
                        xc = 0
                        p0 = xc + off[min(k0 + 0, n_taps - 1)]
                        p1 = xc + off[min(k0 + 1, n_taps - 1)]
                        p2 = xc + off[min(k0 + 2, n_taps - 1)]
                        p3 = xc + off[min(k0 + 3, n_taps - 1)]
                        p4 = xc + off[min(k0 + 4, n_taps - 1)]
                        p5 = xc + off[min(k0 + 5, n_taps - 1)]
                        p6 = xc + off[min(k0 + 6, n_taps - 1)]
                        p7 = xc + off[min(k0 + 7, n_taps - 1)]
                        p8 = xc + off[min(k0 + 8, n_taps - 1)]
                        a00 = zero16()
                        a01 = a00
                        a02 = a00
                        a03 = a00
                        a04 = a00
                        a05 = a00
                        a06 = a00
                        a07 = a00
                        a08 = a00
                        a10 = a00
                        a11 = a00
                        a12 = a00
                        a13 = a00
                        a14 = a00
                        a15 = a00
                        a16 = a00
                        a17 = a00
                        a18 = a00
                        a20 = a00
                        a21 = a00
                        a22 = a00
                        a23 = a00
                        a24 = a00
                        a25 = a00
                        a26 = a00
                        a27 = a00
                        a28 = a00
                        for n in range(nc, nc_hi):
                            xb = (n * c_in + c) * plane
                            g0b = (n * c_out + o0) * ohw
                            g1b = (n * c_out + o1) * ohw
                            g2b = (n * c_out + o2) * ohw
                            for i in range(oh):
                                for v in range(nv):
                                    cnt = ow - LANES * v
                                    gi = i * ow + LANES * v
                                    g0 = load16n(gyf, g0b + gi, cnt)
                                    g1 = load16n(gyf, g1b + gi, cnt)
                                    g2 = load16n(gyf, g2b + gi, cnt)
                                    xr = xb + i * wp + LANES * v
                                    x = load16(xpf, xr + p0)
                                    a00 = fma16(g0, x, a00)
                                    a10 = fma16(g1, x, a10)
                                    a20 = fma16(g2, x, a20)
                                    x = load16(xpf, xr + p1)
                                    a01 = fma16(g0, x, a01)
                                    a11 = fma16(g1, x, a11)
                                    a21 = fma16(g2, x, a21)
                                    x = load16(xpf, xr + p2)
                                    a02 = fma16(g0, x, a02)
                                    a12 = fma16(g1, x, a12)
                                    a22 = fma16(g2, x, a22)
                                    x = load16(xpf, xr + p3)
                                    a03 = fma16(g0, x, a03)
                                    a13 = fma16(g1, x, a13)
                                    a23 = fma16(g2, x, a23)
                                    x = load16(xpf, xr + p4)
                                    a04 = fma16(g0, x, a04)
                                    a14 = fma16(g1, x, a14)
                                    a24 = fma16(g2, x, a24)
                                    x = load16(xpf, xr + p5)
                                    a05 = fma16(g0, x, a05)
                                    a15 = fma16(g1, x, a15)
                                    a25 = fma16(g2, x, a25)
                                    x = load16(xpf, xr + p6)
                                    a06 = fma16(g0, x, a06)
                                    a16 = fma16(g1, x, a16)
                                    a26 = fma16(g2, x, a26)
                                    x = load16(xpf, xr + p7)
                                    a07 = fma16(g0, x, a07)
                                    a17 = fma16(g1, x, a17)
                                    a27 = fma16(g2, x, a27)
                                    x = load16(xpf, xr + p8)
                                    a08 = fma16(g0, x, a08)
                                    a18 = fma16(g1, x, a18)
                                    a28 = fma16(g2, x, a28)
                        s[0] = sum16(a00)
                        s[1] = sum16(a01)
                        s[2] = sum16(a02)
                        s[3] = sum16(a03)
                        s[4] = sum16(a04)
                        s[5] = sum16(a05)
                        s[6] = sum16(a06)
                        s[7] = sum16(a07)
                        s[8] = sum16(a08)
                        s[9] = sum16(a10)
                        s[10] = sum16(a11)
                        s[11] = sum16(a12)
                        s[12] = sum16(a13)
                        s[13] = sum16(a14)
                        s[14] = sum16(a15)
                        s[15] = sum16(a16)
                        s[16] = sum16(a17)
                        s[17] = sum16(a18)
                        s[18] = sum16(a20)
                        s[19] = sum16(a21)
                        s[20] = sum16(a22)
                        s[21] = sum16(a23)
                        s[22] = sum16(a24)
                        s[23] = sum16(a25)
                        s[24] = sum16(a26)
                        s[25] = sum16(a27)
                        s[26] = sum16(a28)
                        for m in range(min(GO, c_out - oa)):
                            for q in range(min(GT, n_taps - k0)):
                                partial[sl, oa + m, c * n_taps + k0 + q] += s[m * GT + q]


CL_MAX_BYTES = 1 << 20  # the channels-last scratch of one band (L2: 2 MiB per core here)

@kernel()
def _fill_channels_last(xf, x0, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, r0, nr, wp, cp, buf):
    """Pad rows ``r0 .. r0+nr-1`` of one image ``xf[x0:]`` (C_in, H, W) into ``buf`` as (nr, Wp, Cp), channels last.

    rowmap (Hp,) and colmap (Wp,) give each padded cell's source row/column, -1
    for a zero cell (any padding mode); columns ``q_lo <= q < q_hi`` copy input
    columns ``q - left``; channels C_in .. Cp-1 are zero (Cp a multiple of 16).
    Those columns go 16 channels × 16 columns at a time: 16 masked row loads,
    one in-register transpose (``transpose16``), one store per column (the
    scalar copy took ~7 % of the chapter's weight gradient); the padding
    columns are copied one value at a time.
    """
    hw = h * w
    for r in range(nr):
        src_r = rowmap[r0 + r]
        rb = r * wp * cp
        if src_r < 0:
            row = buf[rb:rb + wp * cp]
            for q in range(wp * cp):
                row[q] = 0
            continue
        for q in range(wp):
            if q_lo <= q < q_hi:
                continue
            src_q = colmap[q]
            cell = buf[rb + q * cp:rb + (q + 1) * cp]
            if src_q < 0:
                for c in range(cp):
                    cell[c] = 0
                continue
            src = x0 + src_r * w + src_q
            for c in range(c_in):
                cell[c] = xf[src + c * hw]
            for c in range(c_in, cp):
                cell[c] = 0
        for q0 in range(q_lo, q_hi, LANES):
            cnt = min(LANES, q_hi - q0)
            for c0 in range(0, cp, LANES):
                xq = x0 + c0 * hw + src_r * w + q0 - left
                v0 = load16n(xf, xq, cnt if c0 < c_in else 0)
                v1 = load16n(xf, xq + 1 * hw, cnt if c0 + 1 < c_in else 0)
                v2 = load16n(xf, xq + 2 * hw, cnt if c0 + 2 < c_in else 0)
                v3 = load16n(xf, xq + 3 * hw, cnt if c0 + 3 < c_in else 0)
                v4 = load16n(xf, xq + 4 * hw, cnt if c0 + 4 < c_in else 0)
                v5 = load16n(xf, xq + 5 * hw, cnt if c0 + 5 < c_in else 0)
                v6 = load16n(xf, xq + 6 * hw, cnt if c0 + 6 < c_in else 0)
                v7 = load16n(xf, xq + 7 * hw, cnt if c0 + 7 < c_in else 0)
                v8 = load16n(xf, xq + 8 * hw, cnt if c0 + 8 < c_in else 0)
                v9 = load16n(xf, xq + 9 * hw, cnt if c0 + 9 < c_in else 0)
                v10 = load16n(xf, xq + 10 * hw, cnt if c0 + 10 < c_in else 0)
                v11 = load16n(xf, xq + 11 * hw, cnt if c0 + 11 < c_in else 0)
                v12 = load16n(xf, xq + 12 * hw, cnt if c0 + 12 < c_in else 0)
                v13 = load16n(xf, xq + 13 * hw, cnt if c0 + 13 < c_in else 0)
                v14 = load16n(xf, xq + 14 * hw, cnt if c0 + 14 < c_in else 0)
                v15 = load16n(xf, xq + 15 * hw, cnt if c0 + 15 < c_in else 0)
                t = transpose16(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15)
                cell = rb + q0 * cp + c0
                store16n(buf, cell, t[0], LANES)
                if 1 < cnt:
                    store16n(buf, cell + 1 * cp, t[1], LANES)
                if 2 < cnt:
                    store16n(buf, cell + 2 * cp, t[2], LANES)
                if 3 < cnt:
                    store16n(buf, cell + 3 * cp, t[3], LANES)
                if 4 < cnt:
                    store16n(buf, cell + 4 * cp, t[4], LANES)
                if 5 < cnt:
                    store16n(buf, cell + 5 * cp, t[5], LANES)
                if 6 < cnt:
                    store16n(buf, cell + 6 * cp, t[6], LANES)
                if 7 < cnt:
                    store16n(buf, cell + 7 * cp, t[7], LANES)
                if 8 < cnt:
                    store16n(buf, cell + 8 * cp, t[8], LANES)
                if 9 < cnt:
                    store16n(buf, cell + 9 * cp, t[9], LANES)
                if 10 < cnt:
                    store16n(buf, cell + 10 * cp, t[10], LANES)
                if 11 < cnt:
                    store16n(buf, cell + 11 * cp, t[11], LANES)
                if 12 < cnt:
                    store16n(buf, cell + 12 * cp, t[12], LANES)
                if 13 < cnt:
                    store16n(buf, cell + 13 * cp, t[13], LANES)
                if 14 < cnt:
                    store16n(buf, cell + 14 * cp, t[14], LANES)
                if 15 < cnt:
                    store16n(buf, cell + 15 * cp, t[15], LANES)

@kernel(parallel=True, reduce=True)
def _conv_grad_weight_batch_cl(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, gyf, c_out,
                               oh, ow, n_bands, cp, partial, pbias, scratch):
    """Eq. 36.9 summed over the (image, band) units of each task, 32 input channels in the vector lanes.

    ``partial[s]`` (C_out, T, Cp) flattened (Cp: C_in rounded up to 32) and
    ``pbias[s]`` (C_out,) receive task s's sums; both must arrive zeroed.  Each
    band of an image is padded channels-last into ``scratch[s]`` (rows, Wp, Cp)
    (``_fill_channels_last``; 32 KiB, L1-resident, for the chapter's 32 channels
    at 16×16), then blocks of 4 output channels × 3 taps × two 16-channel
    vectors (24 registers) sweep the band's output positions: per position 4 δ
    broadcasts and 6 aligned input loads feed 24 FMAs, with no lane wasted on a
    row's end (the row-vector kernel, ``_conv_grad_weight_batch``, fills 14 of
    16 lanes on a 14-wide map and sums every accumulator's lanes at the end).
    off (T,): tap offsets in padded cells (``tap_offsets``); n_bands as for the
    forward kernels.  A last block with fewer than 4 channels or 3 taps repeats
    the last one and does not store it.
    """
    n_slabs = partial.shape[0]
    n_taps = off.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    ohw = oh * ow
    n_units = n_img * n_bands
    for sl in prange(n_slabs):
        buf = scratch[sl]
        part = partial[sl]
        for unit in range(sl * n_units // n_slabs, (sl + 1) * n_units // n_slabs):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            _fill_channels_last(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0,
                                nb + extra, wp, cp, buf)
            for o in range(c_out):
                pbias[sl, o] += _sum_run(gyf, (n * c_out + o) * ohw + i0 * ow, nb * ow)
            for oa in range(0, c_out, 4):
                g0 = (n * c_out + oa) * ohw + i0 * ow
                g1 = (n * c_out + min(oa + 1, c_out - 1)) * ohw + i0 * ow
                g2 = (n * c_out + min(oa + 2, c_out - 1)) * ohw + i0 * ow
                g3 = (n * c_out + min(oa + 3, c_out - 1)) * ohw + i0 * ow
                for k0 in range(0, n_taps, 3):
                    q0 = off[k0] * cp
                    q1 = off[min(k0 + 1, n_taps - 1)] * cp
                    q2 = off[min(k0 + 2, n_taps - 1)] * cp
                    for cb in range(0, cp, 2 * LANES):
                        a000 = zero16()
                        a001 = a000
                        a010 = a000
                        a011 = a000
                        a020 = a000
                        a021 = a000
                        a100 = a000
                        a101 = a000
                        a110 = a000
                        a111 = a000
                        a120 = a000
                        a121 = a000
                        a200 = a000
                        a201 = a000
                        a210 = a000
                        a211 = a000
                        a220 = a000
                        a221 = a000
                        a300 = a000
                        a301 = a000
                        a310 = a000
                        a311 = a000
                        a320 = a000
                        a321 = a000
                        for i in range(nb):
                            for j in range(ow):
                                p = i * ow + j
                                xb = (i * wp + j) * cp + cb
                                d0 = splat16(gyf, g0 + p)
                                d1 = splat16(gyf, g1 + p)
                                d2 = splat16(gyf, g2 + p)
                                d3 = splat16(gyf, g3 + p)
                                x = load16(buf, xb + q0)
                                a000 = fma16(d0, x, a000)
                                a100 = fma16(d1, x, a100)
                                a200 = fma16(d2, x, a200)
                                a300 = fma16(d3, x, a300)
                                x = load16(buf, xb + q0 + 1 * LANES)
                                a001 = fma16(d0, x, a001)
                                a101 = fma16(d1, x, a101)
                                a201 = fma16(d2, x, a201)
                                a301 = fma16(d3, x, a301)
                                x = load16(buf, xb + q1)
                                a010 = fma16(d0, x, a010)
                                a110 = fma16(d1, x, a110)
                                a210 = fma16(d2, x, a210)
                                a310 = fma16(d3, x, a310)
                                x = load16(buf, xb + q1 + 1 * LANES)
                                a011 = fma16(d0, x, a011)
                                a111 = fma16(d1, x, a111)
                                a211 = fma16(d2, x, a211)
                                a311 = fma16(d3, x, a311)
                                x = load16(buf, xb + q2)
                                a020 = fma16(d0, x, a020)
                                a120 = fma16(d1, x, a120)
                                a220 = fma16(d2, x, a220)
                                a320 = fma16(d3, x, a320)
                                x = load16(buf, xb + q2 + 1 * LANES)
                                a021 = fma16(d0, x, a021)
                                a121 = fma16(d1, x, a121)
                                a221 = fma16(d2, x, a221)
                                a321 = fma16(d3, x, a321)
                        r = ((oa + 0) * n_taps + k0 + 0) * cp + cb
                        store16n(part, r, add16(load16(part, r), a000), LANES)
                        r = ((oa + 0) * n_taps + k0 + 0) * cp + cb + 1 * LANES
                        store16n(part, r, add16(load16(part, r), a001), LANES)
                        if k0 + 1 < n_taps:
                            r = ((oa + 0) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a010), LANES)
                            r = ((oa + 0) * n_taps + k0 + 1) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a011), LANES)
                        if k0 + 2 < n_taps:
                            r = ((oa + 0) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a020), LANES)
                            r = ((oa + 0) * n_taps + k0 + 2) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a021), LANES)
                        if oa + 1 < c_out:
                            r = ((oa + 1) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a100), LANES)
                            r = ((oa + 1) * n_taps + k0 + 0) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a101), LANES)
                        if oa + 1 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 1) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a110), LANES)
                            r = ((oa + 1) * n_taps + k0 + 1) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a111), LANES)
                        if oa + 1 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 1) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a120), LANES)
                            r = ((oa + 1) * n_taps + k0 + 2) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a121), LANES)
                        if oa + 2 < c_out:
                            r = ((oa + 2) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a200), LANES)
                            r = ((oa + 2) * n_taps + k0 + 0) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a201), LANES)
                        if oa + 2 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 2) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a210), LANES)
                            r = ((oa + 2) * n_taps + k0 + 1) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a211), LANES)
                        if oa + 2 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 2) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a220), LANES)
                            r = ((oa + 2) * n_taps + k0 + 2) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a221), LANES)
                        if oa + 3 < c_out:
                            r = ((oa + 3) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a300), LANES)
                            r = ((oa + 3) * n_taps + k0 + 0) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a301), LANES)
                        if oa + 3 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 3) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a310), LANES)
                            r = ((oa + 3) * n_taps + k0 + 1) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a311), LANES)
                        if oa + 3 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 3) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a320), LANES)
                            r = ((oa + 3) * n_taps + k0 + 2) * cp + cb + 1 * LANES
                            store16n(part, r, add16(load16(part, r), a321), LANES)


@kernel(parallel=True, reduce=True)
def _conv_grad_weight_batch_cl16(xf, n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, hp, wp, off, gyf, c_out,
                                 oh, ow, n_bands, cp, partial, pbias, scratch):
    """``_conv_grad_weight_batch_cl`` for 16 input channels per block (Cp: C_in rounded up to 16; W4's 16).

    Blocks of 8 output channels × 3 taps × one 16-channel vector (24
    registers): per position 3 input loads and 8 δ broadcasts feed 24 FMAs.
    """
    n_slabs = partial.shape[0]
    n_taps = off.shape[0]
    band = (oh + n_bands - 1) // n_bands
    extra = hp - oh
    ohw = oh * ow
    n_units = n_img * n_bands
    for sl in prange(n_slabs):
        buf = scratch[sl]
        part = partial[sl]
        for unit in range(sl * n_units // n_slabs, (sl + 1) * n_units // n_slabs):
            n = unit // n_bands
            i0 = (unit - n * n_bands) * band
            nb = min(band, oh - i0)
            if nb <= 0:
                continue
            _fill_channels_last(xf, n * c_in * h * w, c_in, h, w, rowmap, colmap, q_lo, q_hi, left, i0,
                                nb + extra, wp, cp, buf)
            for o in range(c_out):
                pbias[sl, o] += _sum_run(gyf, (n * c_out + o) * ohw + i0 * ow, nb * ow)
            for oa in range(0, c_out, 8):
                g0 = (n * c_out + oa) * ohw + i0 * ow
                g1 = (n * c_out + min(oa + 1, c_out - 1)) * ohw + i0 * ow
                g2 = (n * c_out + min(oa + 2, c_out - 1)) * ohw + i0 * ow
                g3 = (n * c_out + min(oa + 3, c_out - 1)) * ohw + i0 * ow
                g4 = (n * c_out + min(oa + 4, c_out - 1)) * ohw + i0 * ow
                g5 = (n * c_out + min(oa + 5, c_out - 1)) * ohw + i0 * ow
                g6 = (n * c_out + min(oa + 6, c_out - 1)) * ohw + i0 * ow
                g7 = (n * c_out + min(oa + 7, c_out - 1)) * ohw + i0 * ow
                for k0 in range(0, n_taps, 3):
                    q0 = off[k0] * cp
                    q1 = off[min(k0 + 1, n_taps - 1)] * cp
                    q2 = off[min(k0 + 2, n_taps - 1)] * cp
                    for cb in range(0, cp, 1 * LANES):
                        a000 = zero16()
                        a010 = a000
                        a020 = a000
                        a100 = a000
                        a110 = a000
                        a120 = a000
                        a200 = a000
                        a210 = a000
                        a220 = a000
                        a300 = a000
                        a310 = a000
                        a320 = a000
                        a400 = a000
                        a410 = a000
                        a420 = a000
                        a500 = a000
                        a510 = a000
                        a520 = a000
                        a600 = a000
                        a610 = a000
                        a620 = a000
                        a700 = a000
                        a710 = a000
                        a720 = a000
                        for i in range(nb):
                            for j in range(ow):
                                p = i * ow + j
                                xb = (i * wp + j) * cp + cb
                                x0 = load16(buf, xb + q0)
                                x1 = load16(buf, xb + q1)
                                x2 = load16(buf, xb + q2)
                                d = splat16(gyf, g0 + p)
                                a000 = fma16(d, x0, a000)
                                a010 = fma16(d, x1, a010)
                                a020 = fma16(d, x2, a020)
                                d = splat16(gyf, g1 + p)
                                a100 = fma16(d, x0, a100)
                                a110 = fma16(d, x1, a110)
                                a120 = fma16(d, x2, a120)
                                d = splat16(gyf, g2 + p)
                                a200 = fma16(d, x0, a200)
                                a210 = fma16(d, x1, a210)
                                a220 = fma16(d, x2, a220)
                                d = splat16(gyf, g3 + p)
                                a300 = fma16(d, x0, a300)
                                a310 = fma16(d, x1, a310)
                                a320 = fma16(d, x2, a320)
                                d = splat16(gyf, g4 + p)
                                a400 = fma16(d, x0, a400)
                                a410 = fma16(d, x1, a410)
                                a420 = fma16(d, x2, a420)
                                d = splat16(gyf, g5 + p)
                                a500 = fma16(d, x0, a500)
                                a510 = fma16(d, x1, a510)
                                a520 = fma16(d, x2, a520)
                                d = splat16(gyf, g6 + p)
                                a600 = fma16(d, x0, a600)
                                a610 = fma16(d, x1, a610)
                                a620 = fma16(d, x2, a620)
                                d = splat16(gyf, g7 + p)
                                a700 = fma16(d, x0, a700)
                                a710 = fma16(d, x1, a710)
                                a720 = fma16(d, x2, a720)
                        r = ((oa + 0) * n_taps + k0 + 0) * cp + cb
                        store16n(part, r, add16(load16(part, r), a000), LANES)
                        if k0 + 1 < n_taps:
                            r = ((oa + 0) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a010), LANES)
                        if k0 + 2 < n_taps:
                            r = ((oa + 0) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a020), LANES)
                        if oa + 1 < c_out:
                            r = ((oa + 1) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a100), LANES)
                        if oa + 1 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 1) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a110), LANES)
                        if oa + 1 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 1) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a120), LANES)
                        if oa + 2 < c_out:
                            r = ((oa + 2) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a200), LANES)
                        if oa + 2 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 2) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a210), LANES)
                        if oa + 2 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 2) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a220), LANES)
                        if oa + 3 < c_out:
                            r = ((oa + 3) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a300), LANES)
                        if oa + 3 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 3) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a310), LANES)
                        if oa + 3 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 3) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a320), LANES)
                        if oa + 4 < c_out:
                            r = ((oa + 4) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a400), LANES)
                        if oa + 4 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 4) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a410), LANES)
                        if oa + 4 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 4) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a420), LANES)
                        if oa + 5 < c_out:
                            r = ((oa + 5) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a500), LANES)
                        if oa + 5 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 5) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a510), LANES)
                        if oa + 5 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 5) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a520), LANES)
                        if oa + 6 < c_out:
                            r = ((oa + 6) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a600), LANES)
                        if oa + 6 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 6) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a610), LANES)
                        if oa + 6 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 6) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a620), LANES)
                        if oa + 7 < c_out:
                            r = ((oa + 7) * n_taps + k0 + 0) * cp + cb
                            store16n(part, r, add16(load16(part, r), a700), LANES)
                        if oa + 7 < c_out and k0 + 1 < n_taps:
                            r = ((oa + 7) * n_taps + k0 + 1) * cp + cb
                            store16n(part, r, add16(load16(part, r), a710), LANES)
                        if oa + 7 < c_out and k0 + 2 < n_taps:
                            r = ((oa + 7) * n_taps + k0 + 2) * cp + cb
                            store16n(part, r, add16(load16(part, r), a720), LANES)


def _host_has_avx512():
    try:
        import llvmlite.binding as llvm

        return bool(llvm.get_host_cpu_features().get("avx512f", False))
    except Exception:  # noqa: BLE001 - no feature map: assume the worst
        return False


# The register blocks (21, 27 and 28 accumulators of 16 lanes) fit AVX-512's 32
# registers; with AVX2 each would take two of 16 registers and spill on every
# FMA, so there the batched entry points loop over the per-image kernels
# (blocked.py, tuned for AVX2) instead.
HOST_AVX512 = _host_has_avx512()


def fits(dtype, stride):
    """Whether these kernels serve a convolution: float32 at stride 1 (any kernel, dilation, padding) on a CPU with AVX-512."""
    return HOST_AVX512 and dtype == np.float32 and tuple(stride) == (1, 1)


def serves_image_forward(g, dtype):
    """Whether one image's forward pass (``conv.forward_into``, geometry ``g``) runs here as a batch of one.

    Where a channel-vector kernel serves (many input taps, W_out wide enough,
    more than 8 output channels): W4 (16 → 32 at 128×128) and its input gradient
    (32 → 16).  Few-channel layers (W1, W2, W5) keep the per-image kernels.
    """
    if not (fits(dtype, g.stride) and g.groups == 1 and g.c_in * g.kh * g.kw >= CV_MIN_TAPS):
        return False
    return (g.c_out > LANES and g.ow >= PM) or (LANES // 2 < g.c_out <= LANES and g.ow >= PM16)


def serves_image_grad_weight(g, dtype):
    """Whether one image's weight gradient runs here as a batch of one (channel-lane kernel, bands of rows)."""
    if not (fits(dtype, g.stride) and g.groups == 1):
        return False
    hp, wp = g.h + g.pads[0] + g.pads[1], g.w + g.pads[2] + g.pads[3]
    _, n_bands = _bands(1, g.oh)
    return _channel_lanes(g.c_in, (-(-g.oh // n_bands) + hp - g.oh) * wp) > 0


def _aligned(shape):
    """A float32 array of ``shape`` whose data starts on a 64-byte line (vector loads split fewer lines)."""
    size = int(np.prod(shape))
    raw = np.empty(size + 16, np.float32)
    start = (-(raw.ctypes.data // 4)) % 16
    return raw[start:start + size].reshape(shape)


def _tasks(n_img):
    return max(1, min(n_img, CHUNKS_PER_THREAD * numba.get_num_threads()))


def _maps(h, w, pads, mode):
    from .blocked import _band_maps

    rowmap, colmap, q_lo, q_hi = _band_maps(h, w, pads, mode, (1, 1))
    return rowmap[0], colmap[0], int(q_lo[0]), int(q_hi[0])


def tap_offsets(kh, kw, dilation, wp):
    """Offset of tap (a, b') in a padded image of row length Wp: a·d_h·Wp + b'·d_w, row-major."""
    a = np.arange(kh, dtype=np.int64) * dilation[0]
    bb = np.arange(kw, dtype=np.int64) * dilation[1]
    return (a[:, None] * wp + bb[None, :]).ravel()


# The channel-vector kernels pay their per-block transposes and stores back only
# when a block does enough work: C_in·kh·kw taps of 26–28 FMAs.
CV_MIN_TAPS = 64


# Input channels per pass of the 32-channel kernel.  A block whose packed weights (C_in·T·32 floats)
# fit beside its input rows in L1 (48 KiB per core here; the chapter's forward, 32 channels × 9 taps:
# 36 KiB) sums every channel in one pass; a larger one (its input gradient, 64 × 9: 72 KiB) sums
# them in chunks of 144 taps (16 channels of a 3×3: 18 KiB), which needs the partial sums of a
# task's band in L2 (at most CV_SPLIT_BYTES).  On the forward, chunks gained nothing on one core and
# looked 4–6 % slower on two.
CV_L1_WEIGHT_BYTES = 40 << 10
CV_SPLIT_TAPS = 144
CV_SPLIT_BYTES = 256 << 10


@functools.lru_cache(maxsize=64)
def _live_taps_of(h, w, pads, mode, oh, kh, kw, dh):
    """``_live_taps`` of a geometry, cached (10 µs a call otherwise; callers never write the array)."""
    return _live_taps(_maps(h, w, pads, mode)[0], oh, kh, kw, dh)


def _live_taps(rowmap, oh, kh, kw, dh):
    """(H_out, 2) int64: the row-major taps k_lo <= k < k_hi of each output row that read a padded row
    holding data (``rowmap >= 0``); kernel rows reading only zero padding lie at either end.  An output
    row that sees no data gets k_lo = k_hi = 0."""
    live = rowmap[np.arange(oh)[:, None] + dh * np.arange(kh)[None, :]] >= 0
    rows = np.zeros((oh, 2), np.int64)
    any_live = live.any(axis=1)
    first = np.argmax(live, axis=1)
    last = kh - 1 - np.argmax(live[:, ::-1], axis=1)
    rows[any_live, 0] = first[any_live] * kw
    rows[any_live, 1] = (last[any_live] + 1) * kw
    return rows


def _pack_channels(w3, width=OV * LANES):
    """(C_out, C_in, T) -> (C_out/width rounded up, C_in, T, width) flattened, zero beyond C_out."""
    c_out, c_in, n_taps = w3.shape
    n_ob = -(-c_out // width)
    wpk = np.zeros((n_ob * width, c_in, n_taps), np.float32)
    wpk[:c_out] = w3
    return np.ascontiguousarray(wpk.reshape(n_ob, width, c_in, n_taps).transpose(0, 2, 3, 1)).reshape(-1)


def _bands(n_img, oh):
    """(tasks, bands per image): images split over the tasks, and each image into bands of output rows
    when there are fewer images than tasks (a single image: one band per task)."""
    tasks = CHUNKS_PER_THREAD * numba.get_num_threads()
    if n_img >= tasks:
        return tasks, 1
    n_bands = min(oh, -(-tasks // n_img))
    return max(1, min(tasks, n_img * n_bands)), n_bands


def conv_forward_batch(x, w3, b, pads, mode, dilation, kh, kw, y):
    """Fill ``y`` (N, C_out, H_out, W_out) with eq. 36.3 of the C-contiguous float32 ``x`` (N, C_in, H, W).

    w3 (C_out, C_in, kh·kw) and b (C_out,) C-contiguous float32; pads (top,
    bottom, left, right) in padding mode ``mode``; stride 1.  Output channels go
    in the vector lanes when there are enough taps to repay the tile transpose
    and enough channels to fill most lanes: 17 and more in 32-lane blocks
    (``_conv_forward_batch_cv``), 9–16 in one 16-lane vector × 26 positions
    (``_conv_forward_batch_cv16``; W4's input gradient, 32 → 16 channels at
    128×128: 1.34 vs 1.64–1.77 ms for the row-vector kernel on 1 thread).
    """
    n_img, c_in, h, w = x.shape
    _, c_out, oh, ow = y.shape
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    rowmap, colmap, q_lo, q_hi = _maps(h, w, pads, mode)
    off = tap_offsets(kh, kw, dilation, wp)
    n_tasks, n_bands = _bands(n_img, oh)
    band_rows = -(-oh // n_bands) + hp - oh
    scratch = _aligned((n_tasks, -(-(c_in * band_rows * wp + LANES) // 16) * 16))
    if c_in * kh * kw >= CV_MIN_TAPS and LANES // 2 < c_out <= LANES and ow >= PM16:
        fn = _conv_forward_batch_cv16w3 if kw == 3 and dilation[1] == 1 else _conv_forward_batch_cv16
        fn(x.reshape(-1), n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, pads[2], hp, wp, off,
           _pack_channels(w3, LANES), b, c_out, oh, ow, y.reshape(-1), n_bands, scratch)
        return
    if c_in * kh * kw >= CV_MIN_TAPS and c_out > LANES and ow >= PM:
        if -(-ow // PM) * PM > -(-ow // PM13) * PM13:
            _conv_forward_batch_cv13(x.reshape(-1), n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, pads[2], hp, wp,
                                     off, _pack_channels(w3), b, c_out, oh, ow, y.reshape(-1), n_bands, scratch)
            return
        band_cells = -(-oh // n_bands) * -(-ow // PM) * 2 * PM * LANES
        c_split = c_in
        if c_in * kh * kw * 2 * LANES * 4 > CV_L1_WEIGHT_BYTES and band_cells * 4 <= CV_SPLIT_BYTES:
            c_split = max(1, CV_SPLIT_TAPS // (kh * kw))
        partial = _aligned((n_tasks, band_cells if c_split < c_in else LANES))
        _conv_forward_batch_cv(x.reshape(-1), n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, pads[2], hp, wp, off,
                               _pack_channels(w3), b, c_out, oh, ow, y.reshape(-1), n_bands, scratch,
                               _live_taps_of(h, w, tuple(pads), mode, oh, kh, kw, dilation[0]), c_split, partial)
        return
    _conv_forward_batch(x.reshape(-1), n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, pads[2], hp, wp, off,
                        w3.reshape(-1), b, c_out, oh, ow, y.reshape(-1), n_bands, scratch)


def _channel_lanes(c_in, band_cells):
    """Lanes per block (32 or 16) of the channel-lane weight gradient for C_in input channels, or 0 where
    the row-vector kernel serves: the channels must fill more than half of their lanes and a
    channels-last band of ``band_cells`` padded cells must stay in L2.

    Measured against the row-vector kernel (1 thread, batch 64–128, 3×3 'same'):
    C_in 32 → 64 at 14×14 7.2 vs 12.7 ms, 32 at 28×28 1.9× faster, 32 at 56×56
    (430 KiB scratch) 1.7×, C_in 20 1.24×, C_in 16 on 32 lanes even, C_in 8 on
    32 lanes 1.8× slower.
    """
    lanes = 2 * LANES if c_in > LANES else LANES
    cp = -(-c_in // lanes) * lanes
    if 2 * c_in <= cp or band_cells * cp * 4 > CL_MAX_BYTES:
        return 0
    return lanes


def conv_grad_weight_batch(x, gy, pads, mode, dilation, kh, kw):
    """Eq. 36.9 and the bias gradient summed over the batch: (C_out, C_in·kh·kw), (C_out,), float32.

    x (N, C_in, H, W) and δ ``gy`` (N, C_out, H_out, W_out) C-contiguous float32; stride 1.
    """
    n_img, c_in, h, w = x.shape
    _, c_out, oh, ow = gy.shape
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    rowmap, colmap, q_lo, q_hi = _maps(h, w, pads, mode)
    n_tasks, n_bands = _bands(n_img, oh)
    band_rows = -(-oh // n_bands) + hp - oh
    lanes = _channel_lanes(c_in, band_rows * wp)
    if lanes:
        cp = -(-c_in // lanes) * lanes
        partial = _aligned((n_tasks, c_out * kh * kw * cp))
        partial[...] = 0
        pbias = np.zeros((n_tasks, c_out), np.float64)
        fn = _conv_grad_weight_batch_cl if lanes == 2 * LANES else _conv_grad_weight_batch_cl16
        fn(x.reshape(-1), n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, pads[2], hp, wp,
           tap_offsets(kh, kw, dilation, wp), gy.reshape(-1), c_out, oh, ow, n_bands, cp, partial, pbias,
           _aligned((n_tasks, band_rows * wp * cp)))
        gw = partial.sum(axis=0).reshape(c_out, kh * kw, cp)[:, :, :c_in].transpose(0, 2, 1)
        return np.ascontiguousarray(gw).reshape(c_out, -1), pbias.sum(axis=0).astype(np.float32)
    xpf = _aligned((n_img * c_in * hp * wp + LANES,))
    _pad_batch(x.reshape(-1), n_img, c_in, h, w, rowmap, colmap, q_lo, q_hi, pads[2], hp, wp, xpf)
    n_slabs = _tasks(n_img)
    partial = np.zeros((n_slabs, c_out, c_in * kh * kw), np.float32)
    pbias = np.zeros((n_slabs, c_out), np.float64)
    _conv_grad_weight_batch(xpf, hp * wp, wp, tap_offsets(kh, kw, dilation, wp), gy.reshape(-1), n_img, c_in,
                            c_out, oh, ow, partial, pbias)
    return partial.sum(axis=0), pbias.sum(axis=0).astype(np.float32)
