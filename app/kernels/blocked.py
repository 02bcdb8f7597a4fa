"""Register-blocked float32 forward convolution: 4 output channels × 16 columns per block.

The row kernels in ``_fused.py`` keep their accumulators in the output row and
load and store them once per input channel and kernel row, so on many-channel
layers (W4: 16 → 32 channels) they are bound by loads and stores, not by
multiply-adds.  Here a block of 4 output channels × 16 output columns of one
output row lives in eight 8-lane registers (``_simd.F32x8``) for the whole
reduction over input channels and taps.  Per tap: two vector loads of input,
four weight broadcasts, eight FMAs — under one load per FMA, which is what
oneDNN's blocked layouts achieve (PERF_NOTES.md item 7).

Index maps are the ones ``conv.py`` builds (phase planes, so strides and
dilations read contiguous runs): the input of tap ``k`` for output ``(i, j)`` is
``pflat[c * plane_sz + off[k] + i * wq + j]`` with
``off[k] = (tap_plane[k] * Hq + tap_row[k]) * Wq + tap_col[k]``.  The kernel
size, stride and dilation are all in ``off``, so one compiled kernel serves
every shape (no per-size specialisation, little compile time).
"""
import numpy as np
from numba import prange

from ._jit import kernel
from ._simd import fma8, load8, splat8, store8

CH = 4  # output channels per block
COLS = 16  # output columns per block (two vectors)


@kernel(parallel=True)
def _conv_forward_blocked(pflat, plane_sz, wq, off, wb, bb, cin_g, cout_g, groups, yflat, oh, ow):
    """Eq. 36.3, one block of CH channels × COLS columns in registers at a time.

    pflat: phase planes (C_in, S, Hq, Wq) flattened; wb: weights re-laid out as
    (groups, blocks, C_in/groups, T, CH) flattened, zero for the channels that
    pad the last block; bb: biases (groups, blocks * CH) flattened, likewise.
    yflat: output (C_out, H_out, W_out) flattened; needs W_out >= COLS.  One
    prange iteration owns output row i of one group (all its channels) and
    sweeps it block by block, each block along the whole row: four output
    streams at a time, which the prefetchers follow (sweeping all blocks at
    one column position first, 16 streams, ran W3 at 34 instead of 60 GFLOP/s).
    The last column block of a row is shifted left to end at W_out (it
    recomputes a few columns, same values, same owner) so no column is left over.
    """
    n_taps = off.shape[0]
    blocks = (cout_g + CH - 1) // CH
    ohw = oh * ow
    for t in prange(groups * oh):
        i = t // groups
        grp = t - i * groups
        row = grp * cin_g * plane_sz + i * wq
        for blk in range(blocks):
            gb = grp * blocks + blk
            o = blk * CH
            yrow = (grp * cout_g + o) * ohw + i * ow
            j = 0
            while j < ow:
                jj = min(j, ow - COLS)
                a0 = splat8(bb, gb * CH)
                a1 = a0
                b0 = splat8(bb, gb * CH + 1)
                b1 = b0
                c0 = splat8(bb, gb * CH + 2)
                c1 = c0
                d0 = splat8(bb, gb * CH + 3)
                d1 = d0
                wk = gb * cin_g * n_taps * CH
                xc = row + jj
                for c in range(cin_g):
                    for k in range(n_taps):
                        xk = xc + off[k]
                        x0 = load8(pflat, xk)
                        x1 = load8(pflat, xk + 8)
                        w = splat8(wb, wk)
                        a0 = fma8(w, x0, a0)
                        a1 = fma8(w, x1, a1)
                        w = splat8(wb, wk + 1)
                        b0 = fma8(w, x0, b0)
                        b1 = fma8(w, x1, b1)
                        w = splat8(wb, wk + 2)
                        c0 = fma8(w, x0, c0)
                        c1 = fma8(w, x1, c1)
                        w = splat8(wb, wk + 3)
                        d0 = fma8(w, x0, d0)
                        d1 = fma8(w, x1, d1)
                        wk += CH
                    xc += plane_sz
                y0 = yrow + jj
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


def fits(c_out, groups, ow, dtype):
    """Whether the blocked kernel serves this convolution (float32, ≥ CH channels per group, ≥ COLS columns)."""
    return dtype == np.float32 and c_out // groups >= CH and ow >= COLS


def block_weights(w3, b, groups):
    """(C_out, C_in/g, T) weights and (C_out,) bias in the kernel's layout, zero-padded to whole blocks."""
    c_out, cin_g, n_taps = w3.shape
    cout_g = c_out // groups
    blocks = -(-cout_g // CH)
    wp = np.zeros((groups, blocks * CH, cin_g, n_taps), np.float32)
    wp[:, :cout_g] = w3.reshape(groups, cout_g, cin_g, n_taps)
    wb = wp.reshape(groups, blocks, CH, cin_g, n_taps).transpose(0, 1, 3, 4, 2)
    bb = np.zeros((groups, blocks * CH), np.float32)
    bb[:, :cout_g] = b.reshape(groups, cout_g)
    return np.ascontiguousarray(wb).reshape(-1), bb.reshape(-1)


def conv_forward_blocked(planes, w3, b, tap_plane, tap_row, tap_col, groups, y):
    """Fill ``y`` (C_out, H_out, W_out) from C-contiguous phase planes (C_in, S, Hq, Wq); see ``fits``."""
    c_in, n_planes, hq, wq = planes.shape
    c_out, oh, ow = y.shape
    off = (tap_plane * hq + tap_row) * wq + tap_col
    wb, bb = block_weights(w3, b, groups)
    _conv_forward_blocked(
        planes.reshape(-1), n_planes * hq * wq, wq, off, wb, bb, c_in // groups, c_out // groups, groups,
        y.reshape(-1), oh, ow,
    )
