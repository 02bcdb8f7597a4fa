"""Register-blocked float32 convolution: the forward pass and the weight gradient.

The row kernels in ``_fused.py`` keep their accumulators in the output row and
load and store them once per input channel and kernel row, so on many-channel
layers (W4: 16 → 32 channels) they are bound by loads and stores, not by
multiply-adds.  Here a block of 4 output channels × 16 output columns of one
output row lives in eight 8-lane registers (``_simd.F32x8``) for the whole
reduction over input channels and taps.  Per tap: two vector loads of input,
four weight broadcasts, eight FMAs — under one load per FMA, which is what
oneDNN's blocked layouts achieve (docs/PERFORMANCE.md §7).

Index maps are the ones ``conv.py`` builds (phase planes, so strides and
dilations read contiguous runs): the input of tap ``k`` for output ``(i, j)`` is
``pflat[c * plane_sz + off[k] + i * wq + j]`` with
``off[k] = (tap_plane[k] * Hq + tap_row[k]) * Wq + tap_col[k]`` (Hq: the rows
held, full planes or one band).  The kernel
size, stride and dilation are all in ``off``, so one compiled kernel serves
every shape (no per-size specialisation, little compile time).

The forward pass (``conv_forward_blocked_split``) pads and phase-splits the
input band by band in a cache-sized scratch instead of writing full-size
planes first; the weight gradient (``conv_grad_weight_blocked``) blocks 4
output channels × 3 taps over row sweeps of ready phase planes and reads δ in
place, summing it into the bias gradient on the way.
"""
import functools
import threading

import numba
import numpy as np
from numba import prange

from ._jit import kernel
from .padding import axis_index
from ._simd import even8, even16, fma8, fma16, load8, load16, odd8, odd16, splat8, splat16, store8, store16n, sum8, zero8
from .batch_blocked import HOST_AVX512

CH = 4  # output channels per block
COLS = 16  # output columns per block (two vectors)
WIDE_CH = 8  # output channels per block of the AVX-512 row kernel (_block_row16)
WIDE_COLS = 48  # output columns per block of the AVX-512 row kernel (three 16-lane vectors)
BAND_BYTES = 1 << 18  # scratch per band of the split kernel: stays in L2 (512 KiB per core here)
CHUNKS_PER_THREAD = 2


@kernel()
def _block_row(pflat, row, plane_sz, off, wf, b, o_first, cout_g, cin_g, yflat, yrow, ohw, ow):
    """One output row of one group, block by block; each block along the whole row.

    row: flat index in ``pflat`` of the group's first input channel, plane 0, at
    this output row's first plane row, column 0; wf: weights (C_out, C_in/groups,
    T) flattened; o_first: the group's first output channel; yrow: flat index of
    ``y[o_first, i, 0]``.  A last block with fewer than CH channels repeats the
    group's last channel in the missing lanes and does not store them.
    Sweeping one block along the row writes four output streams at a time,
    which the prefetchers follow (all blocks at one column position first, 16
    streams, ran W3 at 34 instead of 60 GFLOP/s).  The last column block is
    shifted left to end at W_out (it recomputes a few columns, same values) so
    no column is left over; needs W_out >= COLS.
    """
    n_taps = off.shape[0]
    o_last = o_first + cout_g - 1
    for o in range(0, cout_g, CH):
        oa = o_first + o
        ob = min(oa + 1, o_last)
        oc = min(oa + 2, o_last)
        od = min(oa + 3, o_last)
        yo = yrow + o * ohw
        j = 0
        while j < ow:
            jj = min(j, ow - COLS)
            a0 = splat8(b, oa)
            a1 = a0
            b0 = splat8(b, ob)
            b1 = b0
            c0 = splat8(b, oc)
            c1 = c0
            d0 = splat8(b, od)
            d1 = d0
            step = cin_g * n_taps
            wa = oa * step
            wb = ob * step
            wc = oc * step
            wd = od * step
            xc = row + jj
            for c in range(cin_g):
                for k in range(n_taps):
                    xk = xc + off[k]
                    x0 = load8(pflat, xk)
                    x1 = load8(pflat, xk + 8)
                    w = splat8(wf, wa + k)
                    a0 = fma8(w, x0, a0)
                    a1 = fma8(w, x1, a1)
                    w = splat8(wf, wb + k)
                    b0 = fma8(w, x0, b0)
                    b1 = fma8(w, x1, b1)
                    w = splat8(wf, wc + k)
                    c0 = fma8(w, x0, c0)
                    c1 = fma8(w, x1, c1)
                    w = splat8(wf, wd + k)
                    d0 = fma8(w, x0, d0)
                    d1 = fma8(w, x1, d1)
                wa += n_taps
                wb += n_taps
                wc += n_taps
                wd += n_taps
                xc += plane_sz
            y0 = yo + jj
            store8(yflat, y0, a0)
            store8(yflat, y0 + 8, a1)
            if o + 1 < cout_g:
                store8(yflat, y0 + ohw, b0)
                store8(yflat, y0 + ohw + 8, b1)
            if o + 2 < cout_g:
                store8(yflat, y0 + 2 * ohw, c0)
                store8(yflat, y0 + 2 * ohw + 8, c1)
            if o + 3 < cout_g:
                store8(yflat, y0 + 3 * ohw, d0)
                store8(yflat, y0 + 3 * ohw + 8, d1)
            j += COLS


@kernel()
def _block_row16(pflat, row, plane_sz, off, wf, b, o_first, cout_g, cin_g, yflat, yrow, ohw, ow):
    """``_block_row`` for AVX-512: blocks of 8 output channels × 48 output columns (three 16-lane vectors).

    24 accumulators of 16 lanes live in zmm registers for the whole reduction
    over input channels and taps (eq. 36.3); per tap three vector loads of input
    and eight weight broadcasts feed 24 FMAs, under half a load per FMA (the
    8-lane block needs 6 loads for 8 FMAs of half the width).  Measured on W3
    (3 → 16 channels, 5×5, stride 2, 1024²) on one core: 3.5 ms of compute
    against 6.0 for the 8-lane kernel.  Same arguments, shifted last column
    block and repeated last channel as ``_block_row``; needs W_out >= WIDE_COLS.
    """
    n_taps = off.shape[0]
    o_last = o_first + cout_g - 1
    step = cin_g * n_taps
    for o in range(0, cout_g, WIDE_CH):
        o0 = o_first + o
        o1 = min(o0 + 1, o_last)
        o2 = min(o0 + 2, o_last)
        o3 = min(o0 + 3, o_last)
        o4 = min(o0 + 4, o_last)
        o5 = min(o0 + 5, o_last)
        o6 = min(o0 + 6, o_last)
        o7 = min(o0 + 7, o_last)
        yo = yrow + o * ohw
        j = 0
        while j < ow:
            jj = min(j, ow - WIDE_COLS)
            a00 = splat16(b, o0)
            a01 = a00
            a02 = a00
            a10 = splat16(b, o1)
            a11 = a10
            a12 = a10
            a20 = splat16(b, o2)
            a21 = a20
            a22 = a20
            a30 = splat16(b, o3)
            a31 = a30
            a32 = a30
            a40 = splat16(b, o4)
            a41 = a40
            a42 = a40
            a50 = splat16(b, o5)
            a51 = a50
            a52 = a50
            a60 = splat16(b, o6)
            a61 = a60
            a62 = a60
            a70 = splat16(b, o7)
            a71 = a70
            a72 = a70
            w0 = o0 * step
            w1 = o1 * step
            w2 = o2 * step
            w3 = o3 * step
            w4 = o4 * step
            w5 = o5 * step
            w6 = o6 * step
            w7 = o7 * step
            xc = row + jj
            for c in range(cin_g):
                for k in range(n_taps):
                    xk = xc + off[k]
                    x0 = load16(pflat, xk)
                    x1 = load16(pflat, xk + 16)
                    x2 = load16(pflat, xk + 32)
                    wv = splat16(wf, w0 + k)
                    a00 = fma16(wv, x0, a00)
                    a01 = fma16(wv, x1, a01)
                    a02 = fma16(wv, x2, a02)
                    wv = splat16(wf, w1 + k)
                    a10 = fma16(wv, x0, a10)
                    a11 = fma16(wv, x1, a11)
                    a12 = fma16(wv, x2, a12)
                    wv = splat16(wf, w2 + k)
                    a20 = fma16(wv, x0, a20)
                    a21 = fma16(wv, x1, a21)
                    a22 = fma16(wv, x2, a22)
                    wv = splat16(wf, w3 + k)
                    a30 = fma16(wv, x0, a30)
                    a31 = fma16(wv, x1, a31)
                    a32 = fma16(wv, x2, a32)
                    wv = splat16(wf, w4 + k)
                    a40 = fma16(wv, x0, a40)
                    a41 = fma16(wv, x1, a41)
                    a42 = fma16(wv, x2, a42)
                    wv = splat16(wf, w5 + k)
                    a50 = fma16(wv, x0, a50)
                    a51 = fma16(wv, x1, a51)
                    a52 = fma16(wv, x2, a52)
                    wv = splat16(wf, w6 + k)
                    a60 = fma16(wv, x0, a60)
                    a61 = fma16(wv, x1, a61)
                    a62 = fma16(wv, x2, a62)
                    wv = splat16(wf, w7 + k)
                    a70 = fma16(wv, x0, a70)
                    a71 = fma16(wv, x1, a71)
                    a72 = fma16(wv, x2, a72)
                w0 += n_taps
                w1 += n_taps
                w2 += n_taps
                w3 += n_taps
                w4 += n_taps
                w5 += n_taps
                w6 += n_taps
                w7 += n_taps
                xc += plane_sz
            y0 = yo + jj
            store16n(yflat, y0 + 0 * ohw + 0, a00, 16)
            store16n(yflat, y0 + 0 * ohw + 16, a01, 16)
            store16n(yflat, y0 + 0 * ohw + 32, a02, 16)
            if o + 1 < cout_g:
                store16n(yflat, y0 + 1 * ohw + 0, a10, 16)
                store16n(yflat, y0 + 1 * ohw + 16, a11, 16)
                store16n(yflat, y0 + 1 * ohw + 32, a12, 16)
            if o + 2 < cout_g:
                store16n(yflat, y0 + 2 * ohw + 0, a20, 16)
                store16n(yflat, y0 + 2 * ohw + 16, a21, 16)
                store16n(yflat, y0 + 2 * ohw + 32, a22, 16)
            if o + 3 < cout_g:
                store16n(yflat, y0 + 3 * ohw + 0, a30, 16)
                store16n(yflat, y0 + 3 * ohw + 16, a31, 16)
                store16n(yflat, y0 + 3 * ohw + 32, a32, 16)
            if o + 4 < cout_g:
                store16n(yflat, y0 + 4 * ohw + 0, a40, 16)
                store16n(yflat, y0 + 4 * ohw + 16, a41, 16)
                store16n(yflat, y0 + 4 * ohw + 32, a42, 16)
            if o + 5 < cout_g:
                store16n(yflat, y0 + 5 * ohw + 0, a50, 16)
                store16n(yflat, y0 + 5 * ohw + 16, a51, 16)
                store16n(yflat, y0 + 5 * ohw + 32, a52, 16)
            if o + 6 < cout_g:
                store16n(yflat, y0 + 6 * ohw + 0, a60, 16)
                store16n(yflat, y0 + 6 * ohw + 16, a61, 16)
                store16n(yflat, y0 + 6 * ohw + 32, a62, 16)
            if o + 7 < cout_g:
                store16n(yflat, y0 + 7 * ohw + 0, a70, 16)
                store16n(yflat, y0 + 7 * ohw + 16, a71, 16)
                store16n(yflat, y0 + 7 * ohw + 32, a72, 16)
            j += WIDE_COLS


@kernel()
def _fill_band(xf, h, w, rowmap, colmap, q_lo, q_hi, left, c0, cin_g, r0, nr, nrows, buf):
    """Pad and phase-split plane rows ``r0 .. r0+nr-1`` of input channels ``c0 ..`` into ``buf``.

    Same cells as ``padding.pad_planes`` (rowmap (s_h, Hq) and colmap (s_w, Wq):
    source row/column or -1 for zero; columns ``q_lo[p] <= q < q_hi[p]`` of
    column phase p read the input row directly), written to ``buf`` laid out
    (C_in/groups, S, nrows, Wq) flattened.  With s_w = 2 one pass over each
    input row fills both column phases, eight even and eight odd columns per
    pair of vector loads (``even8``/``odd8``).
    """
    sh = rowmap.shape[0]
    sw, wq = colmap.shape
    n_planes = sh * sw
    ev = left % 2  # column phase of the even input columns when s_w = 2
    for cg in range(cin_g):
        for ph in range(sh):
            for rr in range(nr):
                src_r = rowmap[ph, r0 + rr]
                xrow = ((c0 + cg) * h + src_r) * w
                for pw in range(sw):
                    out = ((cg * n_planes + ph * sw + pw) * nrows + rr) * wq
                    if src_r < 0:
                        dst = buf[out:out + wq]
                        for q in range(wq):
                            dst[q] = 0
                        continue
                    cm = colmap[pw]
                    for q in range(q_lo[pw]):
                        k = cm[q]
                        buf[out + q] = xf[xrow + k] if k >= 0 else 0
                    for q in range(q_hi[pw], wq):
                        k = cm[q]
                        buf[out + q] = xf[xrow + k] if k >= 0 else 0
                    if sw != 2 and q_hi[pw] > q_lo[pw]:
                        lo = q_lo[pw]
                        n = q_hi[pw] - lo
                        start = xrow + lo * sw + pw - left
                        dst = buf[out + lo:out + lo + n]
                        if sw == 1:
                            # Contiguous views indexed by the bare loop variable vectorise (docs/PERFORMANCE.md §2).
                            row1 = xf[start:start + n]
                            for m in range(n):
                                dst[m] = row1[m]
                        else:
                            src = xf[start:start + (n - 1) * sw + 1:sw]
                            for m in range(n):
                                dst[m] = src[m]
                if sw == 2 and src_r >= 0:
                    oe = ((cg * n_planes + ph * 2 + ev) * nrows + rr) * wq + left // 2
                    oo = ((cg * n_planes + ph * 2 + 1 - ev) * nrows + rr) * wq + (left + 1) // 2
                    m = 0
                    while 2 * m + 16 <= w:
                        lo8 = load8(xf, xrow + 2 * m)
                        hi8 = load8(xf, xrow + 2 * m + 8)
                        store8(buf, oe + m, even8(lo8, hi8))
                        store8(buf, oo + m, odd8(lo8, hi8))
                        m += 8
                    for u in range(2 * m, w):
                        if u % 2 == 0:
                            buf[oe + u // 2] = xf[xrow + u]
                        else:
                            buf[oo + u // 2] = xf[xrow + u]


@kernel()
def _fill_band16(xf, h, w, rowmap, colmap, q_lo, q_hi, left, c0, cin_g, r0, nr, nrows, buf):
    """``_fill_band`` for AVX-512 hosts (same arguments and cells): input rows in memory order, 16 lanes.

    The plane rows of one input channel are filled row pair by row pair (both
    row phases of a plane row before the next), so the input is read front to
    back, and with s_w = 2 each pair of 16-lane loads gives sixteen even and
    sixteen odd columns (one two-source permute each).  On W3 (1024² input, read
    from memory) the fill takes ~0.8 ms of a call instead of ~0.9.
    """
    sh = rowmap.shape[0]
    sw, wq = colmap.shape
    n_planes = sh * sw
    ev = left % 2  # column phase of the even input columns when s_w = 2
    for cg in range(cin_g):
        for rr in range(nr):
            for ph in range(sh):
                src_r = rowmap[ph, r0 + rr]
                xrow = ((c0 + cg) * h + src_r) * w
                for pw in range(sw):
                    out = ((cg * n_planes + ph * sw + pw) * nrows + rr) * wq
                    if src_r < 0:
                        dst = buf[out:out + wq]
                        for q in range(wq):
                            dst[q] = 0
                        continue
                    cm = colmap[pw]
                    for q in range(q_lo[pw]):
                        k = cm[q]
                        buf[out + q] = xf[xrow + k] if k >= 0 else 0
                    for q in range(q_hi[pw], wq):
                        k = cm[q]
                        buf[out + q] = xf[xrow + k] if k >= 0 else 0
                    if sw != 2 and q_hi[pw] > q_lo[pw]:
                        lo = q_lo[pw]
                        n = q_hi[pw] - lo
                        start = xrow + lo * sw + pw - left
                        dst = buf[out + lo:out + lo + n]
                        if sw == 1:
                            row1 = xf[start:start + n]
                            for m in range(n):
                                dst[m] = row1[m]
                        else:
                            src = xf[start:start + (n - 1) * sw + 1:sw]
                            for m in range(n):
                                dst[m] = src[m]
                if sw == 2 and src_r >= 0:
                    oe = ((cg * n_planes + ph * 2 + ev) * nrows + rr) * wq + left // 2
                    oo = ((cg * n_planes + ph * 2 + 1 - ev) * nrows + rr) * wq + (left + 1) // 2
                    m = 0
                    while 2 * m + 32 <= w:
                        lo16 = load16(xf, xrow + 2 * m)
                        hi16 = load16(xf, xrow + 2 * m + 16)
                        store16n(buf, oe + m, even16(lo16, hi16), 16)
                        store16n(buf, oo + m, odd16(lo16, hi16), 16)
                        m += 16
                    for u in range(2 * m, w):
                        if u % 2 == 0:
                            buf[oe + u // 2] = xf[xrow + u]
                        else:
                            buf[oo + u // 2] = xf[xrow + u]


@kernel(parallel=True)
def _conv_forward_blocked_split(xf, h, w, rowmap, colmap, q_lo, q_hi, left, band, nrows, off, wf, b, cin_g,
                                cout_g, groups, yflat, oh, ow, scratch, wide):
    """Eq. 36.3 straight from the unpadded input: pad and phase-split band by band.

    A band is ``band`` output rows of one group; its plane rows (``nrows`` =
    band + the largest tap row offset) are built in a scratch buffer that stays
    in cache, then swept by ``_block_row``.  Saves the full-size padded copy
    (W3: 12.6 MB of phase planes written and read back, ~4 ms of a 15 ms call;
    W2: ~0.2 ms of 1.8).  One prange
    iteration owns row ``scratch[t]`` and a contiguous run of bands (their
    output rows); ``off`` indexes the scratch layout (C_in/groups, S, nrows, Wq).
    ``wide``: fill and sweep with the AVX-512 kernels (``_fill_band16``,
    ``_block_row16``; see ``fits_wide``), else the 8-lane ones.
    """
    n_chunks = scratch.shape[0]
    n_planes = rowmap.shape[0] * colmap.shape[0]
    wq = colmap.shape[1]
    plane_sz = nrows * wq
    extra = nrows - band
    ohw = oh * ow
    bands = (oh + band - 1) // band
    n_tasks = groups * bands
    for t in prange(n_chunks):
        buf = scratch[t]
        for task in range(t * n_tasks // n_chunks, (t + 1) * n_tasks // n_chunks):
            bi = task // groups
            grp = task - bi * groups
            i0 = bi * band
            nr = min(band, oh - i0)
            if wide:
                _fill_band16(xf, h, w, rowmap, colmap, q_lo, q_hi, left, grp * cin_g, cin_g, i0, nr + extra, nrows,
                             buf)
                for i in range(i0, i0 + nr):
                    _block_row16(buf, (i - i0) * wq, n_planes * plane_sz, off, wf, b, grp * cout_g, cout_g, cin_g,
                                 yflat, (grp * cout_g) * ohw + i * ow, ohw, ow)
            else:
                _fill_band(xf, h, w, rowmap, colmap, q_lo, q_hi, left, grp * cin_g, cin_g, i0, nr + extra, nrows, buf)
                for i in range(i0, i0 + nr):
                    _block_row(buf, (i - i0) * wq, n_planes * plane_sz, off, wf, b, grp * cout_g, cout_g, cin_g,
                               yflat, (grp * cout_g) * ohw + i * ow, ohw, ow)


TAPS = 3  # taps per block of the weight-gradient kernel


@kernel(parallel=True, reduce=True)
def _conv_grad_weight_blocked(pflat, plane_sz, wq, off, gyf, oh, ow, cin_g, cout_g, groups, gw, gbias):
    """Eq. 36.9 with 4 output channels × 3 taps of one input channel in 12 registers.

    ``gw[o, c, k] = sum_{i, j} gyf[o, i, j] * pflat[c * plane_sz + off[k] + i * wq + j]``
    with δ read in place, (C_out, H_out, W_out) flattened, and the planes' rows
    Wq apart (a δ copy widened to Wq cost ~0.3 ms of a 1.3 ms W4 call).  Per 8
    positions: 4 δ loads and 3 input loads feed 12 FMAs (the flat kernel in
    ``_fused.py`` needs 10 loads for 9).  Lanes are summed at the end; the last
    W_out % 8 columns of each row are added one by one.  One prange iteration
    owns ``gw[o, c, :]`` for the 4 channels of its block and its input channel
    c; gw (C_out, C_in/groups, T) flattened is overwritten.  A last block with
    fewer than 4 channels (or 3 taps) repeats the last one and does not store it.
    The iterations of input channel 0 also write the bias gradient ``gbias[o]``, the
    sum of δ's map o, while those maps are still in cache (a separate NumPy sum
    re-read 2 MB of δ from memory on one core: ~0.1 ms of a W4 backward).
    """
    n_taps = off.shape[0]
    blocks = (cout_g + CH - 1) // CH
    ohw = oh * ow
    ow8 = ow - ow % 8
    for t in prange(groups * blocks * cin_g):
        gbk = t // cin_g
        cg = t - gbk * cin_g
        grp = gbk // blocks
        o = (gbk - grp * blocks) * CH
        o_first = grp * cout_g
        o_last = o_first + cout_g - 1
        oa = o_first + o
        ga = oa * ohw
        gb = min(oa + 1, o_last) * ohw
        gc = min(oa + 2, o_last) * ohw
        gd = min(oa + 3, o_last) * ohw
        xc = (grp * cin_g + cg) * plane_sz
        for k0 in range(0, n_taps, TAPS):
            k1 = min(k0 + 1, n_taps - 1)
            k2 = min(k0 + 2, n_taps - 1)
            p0 = xc + off[k0]
            p1 = xc + off[k1]
            p2 = xc + off[k2]
            a0 = zero8()
            a1 = a0
            a2 = a0
            b0 = a0
            b1 = a0
            b2 = a0
            c0 = a0
            c1 = a0
            c2 = a0
            d0 = a0
            d1 = a0
            d2 = a0
            sums = np.zeros((CH, TAPS), np.float32)
            for i in range(oh):
                xr = i * wq
                gr = i * ow
                for j in range(0, ow8, 8):
                    x0 = load8(pflat, p0 + xr + j)
                    x1 = load8(pflat, p1 + xr + j)
                    x2 = load8(pflat, p2 + xr + j)
                    g = load8(gyf, ga + gr + j)
                    a0 = fma8(g, x0, a0)
                    a1 = fma8(g, x1, a1)
                    a2 = fma8(g, x2, a2)
                    g = load8(gyf, gb + gr + j)
                    b0 = fma8(g, x0, b0)
                    b1 = fma8(g, x1, b1)
                    b2 = fma8(g, x2, b2)
                    g = load8(gyf, gc + gr + j)
                    c0 = fma8(g, x0, c0)
                    c1 = fma8(g, x1, c1)
                    c2 = fma8(g, x2, c2)
                    g = load8(gyf, gd + gr + j)
                    d0 = fma8(g, x0, d0)
                    d1 = fma8(g, x1, d1)
                    d2 = fma8(g, x2, d2)
                for j in range(ow8, ow):
                    for m in range(CH):
                        gm = min(oa + m, o_last) * ohw + gr + j
                        for q in range(TAPS):
                            sums[m, q] += gyf[gm] * pflat[xc + off[min(k0 + q, n_taps - 1)] + xr + j]
            sums[0, 0] += sum8(a0)
            sums[0, 1] += sum8(a1)
            sums[0, 2] += sum8(a2)
            sums[1, 0] += sum8(b0)
            sums[1, 1] += sum8(b1)
            sums[1, 2] += sum8(b2)
            sums[2, 0] += sum8(c0)
            sums[2, 1] += sum8(c1)
            sums[2, 2] += sum8(c2)
            sums[3, 0] += sum8(d0)
            sums[3, 1] += sum8(d1)
            sums[3, 2] += sum8(d2)
            for m in range(CH):
                for q in range(TAPS):
                    if o + m < cout_g and k0 + q < n_taps:
                        gw[((oa + m) * cin_g + cg) * n_taps + k0 + q] = sums[m, q]
        if cg == 0:
            for m in range(min(CH, cout_g - o)):
                base = (oa + m) * ohw
                total = 0.0  # float64 across rows; each row's float32 sum vectorises
                for i in range(oh):
                    row = gyf[base + i * ow:base + (i + 1) * ow]
                    acc = np.float32(0)
                    for j in range(ow):
                        acc += row[j]
                    total += acc
                gbias[oa + m] = total


def fits_grad_weight(c_out, groups, dtype):
    """Whether the blocked weight-gradient kernel serves this convolution (float32, ≥ CH channels per group)."""
    return dtype == np.float32 and c_out // groups >= CH


def conv_grad_weight_blocked(planes, gy, tap_plane, tap_row, tap_col, groups):
    """Eq. 36.9 on C-contiguous phase planes (C_in, S, Hq, Wq) and δ (C_out, H_out, W_out).

    Returns the weight gradient (C_out, C_in/groups, T) and, computed on the
    way, the bias gradient (C_out,).
    """
    c_in, n_planes, hq, wq = planes.shape
    c_out, oh, ow = gy.shape
    if not (gy.flags.c_contiguous and gy.flags.writeable):
        gy = np.array(gy, order="C")  # read-only arrays would need a second compiled version
    off = (tap_plane * hq + tap_row) * wq + tap_col
    gw = np.empty((c_out, c_in // groups, tap_plane.shape[0]), np.float32)
    gb = np.empty(c_out, np.float32)
    _conv_grad_weight_blocked(
        planes.reshape(-1), n_planes * hq * wq, wq, off, gy.reshape(-1), oh, ow,
        c_in // groups, c_out // groups, groups, gw.reshape(-1), gb,
    )
    return gw, gb


# Whether the split forward uses the AVX-512 kernels where they fit (tests and benchmarks switch it off to compare).
WIDE = HOST_AVX512


def fits_wide(c_out, groups, ow):
    """Whether the AVX-512 row kernel serves a float32 convolution that ``fits``: an AVX-512 host, at least
    WIDE_CH output channels per group (a half-empty block of 8 computed 4 channels no faster than the
    8-lane kernel) and WIDE_COLS output columns."""
    return WIDE and c_out // groups >= WIDE_CH and ow >= WIDE_COLS


def fits(c_out, groups, ow, dtype):
    """Whether the blocked kernel serves this convolution (float32, ≥ CH channels per group, ≥ COLS columns)."""
    return dtype == np.float32 and c_out // groups >= CH and ow >= COLS


_scratch = threading.local()


SCRATCH_KEEP = 1 << 20  # floats (4 MiB): largest scratch a thread keeps between calls


def _scratch_rows(n, size):
    """An (n, size) float32 scratch array reused across calls of one Python thread.

    Reuse spares the page faults of a fresh allocation on every call; one buffer
    per calling thread keeps concurrent requests apart.  Typical requests need
    about CHUNKS_PER_THREAD × threads × BAND_BYTES (1 MiB); a buffer beyond
    SCRATCH_KEEP (many channels on wide rows) is allocated per call and not
    kept, so a server's worker threads do not each hold a large one.
    """
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < n * size:
        buf = np.empty(n * size, np.float32)
        if n * size <= SCRATCH_KEEP:
            _scratch.buf = buf
    return buf[: n * size].reshape(n, size)


@functools.lru_cache(maxsize=64)
def _band_maps(h, w, pads, mode, stride):
    """Row and column index maps of the padded phase planes, as ``padding.pad_planes`` builds them.

    Returns rowmap (s_h, Hq) and colmap (s_w, Wq) (source row/column or -1 for a
    zero cell) and q_lo, q_hi (s_w,): the plane columns of each column phase
    that read the input row directly.  Cached (callers never write them): the page sends the
    same geometry over and over, and building the maps costs ~0.1 ms of a 1.4 ms W4 call.
    """
    (sh, sw), (top, bottom, left, right) = stride, pads
    hq, wq = -(-(h + top + bottom) // sh), -(-(w + left + right) // sw)
    rows = np.full(hq * sh, -1, np.int64)
    rows[: h + top + bottom] = axis_index(h, top, bottom, mode)
    cols = np.full(wq * sw, -1, np.int64)
    cols[: w + left + right] = axis_index(w, left, right, mode)
    phases = np.arange(sw)
    # q*sw + pw in [left, left + w)  <=>  q in [ceil((left - pw)/sw), ceil((left + w - pw)/sw))
    q_lo = np.clip(-((phases - left) // sw), 0, wq).astype(np.int64)
    q_hi = np.maximum(np.clip(-((phases - left - w) // sw), 0, wq), q_lo).astype(np.int64)
    # Left writeable: Numba's dispatcher types read-only arrays on a slow path (~0.1 ms per call).
    return np.ascontiguousarray(rows.reshape(hq, sh).T), np.ascontiguousarray(cols.reshape(wq, sw).T), q_lo, q_hi


def conv_forward_blocked_split(x, w3, b, g, y):
    """Fill ``y`` from the unpadded C-contiguous input ``x`` (C_in, H, W), padding and
    phase-splitting band by band (``g`` is conv.py's ConvGeometry); see ``fits``.

    Bands hold about BAND_BYTES of plane rows; their count is rounded up to a
    multiple of the chunk count so that both threads get the same number of
    rows (W4: 5 bands of 29 rows over 4 chunks ran one thread 3/2 as long).
    """
    c_in, h, w = x.shape
    c_out, oh, ow = y.shape
    rowmap, colmap, q_lo, q_hi = _band_maps(h, w, g.pads, g.padding_mode, g.stride)
    n_planes, wq = rowmap.shape[0] * colmap.shape[0], colmap.shape[1]
    cin_g = c_in // g.groups
    extra = int(g.tap_row.max())
    band = max(1, min(oh, BAND_BYTES // (4 * cin_g * n_planes * wq) - extra))
    n_chunks = CHUNKS_PER_THREAD * numba.get_num_threads()
    bands = -(-oh // band)
    if g.groups == 1:
        bands = min(oh, -(-bands // n_chunks) * n_chunks)
        band = -(-oh // bands)
    n_chunks = max(1, min(n_chunks, g.groups * -(-oh // band)))
    nrows = band + extra
    off = (g.tap_plane * nrows + g.tap_row) * wq + g.tap_col
    scratch = _scratch_rows(n_chunks, cin_g * n_planes * nrows * wq)
    _conv_forward_blocked_split(
        x.reshape(-1), h, w, rowmap, colmap, q_lo, q_hi, g.pads[2], band, nrows, off, w3.reshape(-1), b, cin_g,
        c_out // g.groups, g.groups, y.reshape(-1), oh, ow, scratch, fits_wide(c_out, g.groups, ow),
    )
