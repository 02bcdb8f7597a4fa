"""Slow, obviously correct references written straight from the chapter's equations.

Plain Python loops over NumPy arrays, float64 throughout, independent of
``app.kernels`` (padding included: each padded cell is resolved by
``source_index`` on its own).  Padding is given explicitly as
(top, bottom, left, right); tests translate "same"/"valid" themselves.
"""
import numpy as np


def source_index(t, n, mode):
    """Which input coordinate a padded coordinate ``t`` (may be < 0 or >= n) copies, or None."""
    if 0 <= t < n:
        return t
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if t < 0 else n - 1
    if mode == "circular":
        return t % n
    if mode == "reflect":  # mirror about the edge pixel, which is not repeated
        return -t if t < 0 else 2 * (n - 1) - t
    raise ValueError(mode)


def pad(x, pads, mode):
    """Padded copy of x (C, H, W); pads = (top, bottom, left, right)."""
    top, bottom, left, right = pads
    c_n, h, w = x.shape
    out = np.zeros((c_n, h + top + bottom, w + left + right))
    for c in range(c_n):
        for r in range(out.shape[1]):
            for q in range(out.shape[2]):
                sr, sq = source_index(r - top, h, mode), source_index(q - left, w, mode)
                if sr is not None and sq is not None:
                    out[c, r, q] = x[c, sr, sq]
    return out


def conv2d(x, w, b, stride, pads, dilation, mode, groups=1):
    """Eq. 36.3: y[o,i,j] = b[o] + sum_{c in group, a, b'} x_pad[c, i*s + a*d, j*s + b'*d] w[o,c,a,b']."""
    (sh, sw), (dh, dw) = stride, dilation
    xp = pad(np.asarray(x, float), pads, mode)
    c_out, cin_g, kh, kw = w.shape
    oh = (xp.shape[1] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[2] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((c_out, oh, ow))
    cout_g = c_out // groups
    for o in range(c_out):
        g = o // cout_g
        for i in range(oh):
            for j in range(ow):
                s = 0.0 if b is None else float(b[o])
                for cg in range(cin_g):
                    for a in range(kh):
                        for bb in range(kw):
                            s += xp[g * cin_g + cg, i * sh + a * dh, j * sw + bb * dw] * w[o, cg, a, bb]
                y[o, i, j] = s
    return y


def conv2d_backward(x, w, gy, stride, pads, dilation, mode, groups=1):
    """Chain rule on eq. 36.3, one term at a time.

    Each product x_pad[c, r, q] * w[o, c, a, b'] in output (o, i, j) sends
    gy[o,i,j]*w to the input pixel that padded cell (r, q) copies (nothing for
    a zero cell) and gy[o,i,j]*x_pad to w[o,c,a,b'].
    """
    (sh, sw), (dh, dw) = stride, dilation
    top, _, left, _ = pads
    x = np.asarray(x, float)
    xp = pad(x, pads, mode)
    c_in, h, wd = x.shape
    c_out, cin_g, kh, kw = w.shape
    cout_g = c_out // groups
    gx = np.zeros(x.shape)
    gw = np.zeros(w.shape)
    for o in range(c_out):
        g = o // cout_g
        for i in range(gy.shape[1]):
            for j in range(gy.shape[2]):
                d = gy[o, i, j]
                for cg in range(cin_g):
                    c = g * cin_g + cg
                    for a in range(kh):
                        for bb in range(kw):
                            r, q = i * sh + a * dh, j * sw + bb * dw
                            gw[o, cg, a, bb] += d * xp[c, r, q]
                            sr, sq = source_index(r - top, h, mode), source_index(q - left, wd, mode)
                            if sr is not None and sq is not None:
                                gx[c, sr, sq] += d * w[o, cg, a, bb]
    return gx, gw, gy.sum(axis=(1, 2))


def pool2d(x, kind, kernel, stride, padding):
    """Eq. 36.7 with stride and padding; max ignores padded cells, avg counts them as zeros."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    c_n, h, w = x.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((c_n, oh, ow))
    arg = np.full((c_n, oh, ow), -1, dtype=np.int64)
    for c in range(c_n):
        for i in range(oh):
            for j in range(ow):
                best, where, total = -np.inf, -1, 0.0
                for a in range(kh):
                    for b in range(kw):
                        r, q = i * sh - ph + a, j * sw - pw + b
                        if 0 <= r < h and 0 <= q < w:
                            total += x[c, r, q]
                            if where < 0 or x[c, r, q] > best:
                                best, where = x[c, r, q], r * w + q
                if kind == "max":
                    y[c, i, j], arg[c, i, j] = best, where
                else:
                    y[c, i, j] = total / (kh * kw)
    return y, (arg if kind == "max" else None)


def pool2d_backward(x, gy, kind, kernel, stride, padding):
    """Max: δ to the winner.  Avg: δ/(kh*kw) to every in-image cell of the window."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    c_n, h, w = x.shape
    gx = np.zeros(x.shape)
    _, arg = pool2d(x, "max", kernel, stride, padding)
    for c in range(c_n):
        for i in range(gy.shape[1]):
            for j in range(gy.shape[2]):
                if kind == "max":
                    gx[c, arg[c, i, j] // w, arg[c, i, j] % w] += gy[c, i, j]
                    continue
                for a in range(kh):
                    for b in range(kw):
                        r, q = i * sh - ph + a, j * sw - pw + b
                        if 0 <= r < h and 0 <= q < w:
                            gx[c, r, q] += gy[c, i, j] / (kh * kw)
    return gx


def relu(x):
    return np.where(x > 0, x, 0.0)


def relu_backward(x, gy):
    return np.where(x > 0, gy, 0.0)


def conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups=1):
    """Each input pixel stamps x[c, i, j]·w[c, o] into the output at (i·s + a·d, j·s + b'·d); crop p per side.

    w is (C_in, C_out/groups, kh, kw); output_padding extends the bottom/right.
    """
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    c_in, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    cin_g = c_in // groups
    full = np.zeros((cout_g * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph, (wd - 1) * sw + dw * (kw - 1) + 1 + opw))
    for c in range(c_in):
        g = c // cin_g
        for og in range(cout_g):
            for i in range(h):
                for j in range(wd):
                    for a in range(kh):
                        for bb in range(kw):
                            full[g * cout_g + og, i * sh + a * dh, j * sw + bb * dw] += x[c, i, j] * w[c, og, a, bb]
    y = full[:, ph:full.shape[1] - ph, pw:full.shape[2] - pw]
    return y + (0 if b is None else np.asarray(b)[:, None, None])


def conv_transpose2d_backward(x, w, gy, stride, padding, output_padding, dilation, groups=1):
    """Chain rule on the stamping sum: every stamped product routes δ back to x and to w."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    c_in, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    cin_g = c_in // groups
    gx, gw = np.zeros(x.shape), np.zeros(w.shape)
    for c in range(c_in):
        g = c // cin_g
        for og in range(cout_g):
            for i in range(h):
                for j in range(wd):
                    for a in range(kh):
                        for bb in range(kw):
                            r, q = i * sh + a * dh - ph, j * sw + bb * dw - pw
                            if 0 <= r < gy.shape[1] and 0 <= q < gy.shape[2]:
                                d = gy[g * cout_g + og, r, q]
                                gx[c, i, j] += d * w[c, og, a, bb]
                                gw[c, og, a, bb] += d * x[c, i, j]
    return gx, gw, gy.sum(axis=(1, 2))


def conv1d(x, w, b, stride, pads, dilation, mode):
    """Eq. 36.1 with channels: s[o, i] = b[o] + sum_c sum_a x_pad[c, i·stride + a·dilation] w[o, c, a]."""
    left, right = pads
    c_in, n = x.shape
    c_out, _, k = w.shape
    n_out = (n + left + right - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((c_out, n_out))
    for o in range(c_out):
        for i in range(n_out):
            s = 0.0 if b is None else float(b[o])
            for c in range(c_in):
                for a in range(k):
                    src = source_index(i * stride + a * dilation - left, n, mode)
                    if src is not None:
                        s += x[c, src] * w[o, c, a]
            y[o, i] = s
    return y


def numeric_grad(loss, a, h=1e-6):
    """Central differences (L(a + h) − L(a − h)) / 2h of the scalar ``loss()`` with respect
    to every entry of ``a``, which is perturbed in place and restored."""
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        keep = a[idx]
        a[idx] = keep + h
        up = loss()
        a[idx] = keep - h
        down = loss()
        a[idx] = keep
        g[idx] = (up - down) / (2 * h)
    return g


# --- tolerances and shape helpers shared by the kernel tests -------------------------


def atol(n, dtype):
    """Absolute tolerance for a sum of n products of values near 1 in ``dtype``."""
    return 2.0 * n * (n + 1) * np.finfo(dtype).eps


def same_pads(k, d):
    """Padding before and after for "same" (stride 1): the extra cell goes after, as in PyTorch."""
    total = d * (k - 1)
    return total // 2, total - total // 2


def min_size(eff, before, after, mode):
    """Smallest input length that the mode's limits and the kernel allow."""
    n = max(1, eff - before - after)
    if mode == "reflect":
        n = max(n, max(before, after) + 1)
    if mode == "circular":
        n = max(n, max(before, after))
    return n


def draw_padding(draw, st, kh, kw, stride, dilation, max_pad):
    """A hypothesis draw of a conv ``padding`` argument and the (top, bottom, left, right) pads it means.

    An int, an (h, w) pair, "valid" or (stride 1 only) "same"; ``st`` is
    ``hypothesis.strategies`` (passed in so this module needs no hypothesis import).
    """
    styles = ["int", "pair", "valid", "same"] if tuple(stride) == (1, 1) else ["int", "pair", "valid"]
    style = draw(st.sampled_from(styles))
    if style == "same":
        return "same", same_pads(kh, dilation[0]) + same_pads(kw, dilation[1])
    if style == "valid":
        return "valid", (0, 0, 0, 0)
    if style == "int":
        p = draw(st.integers(0, max_pad))
        return p, (p, p, p, p)
    ph, pw = draw(st.integers(0, max_pad)), draw(st.integers(0, max_pad))
    return (ph, pw), (ph, ph, pw, pw)


def pads_of(padding, kh, kw, dilation):
    """(top, bottom, left, right) that a conv ``padding`` argument means: an int, (h, w), "same" or "valid"."""
    dh, dw = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    if padding == "same":
        return same_pads(kh, dh) + same_pads(kw, dw)
    if padding == "valid":
        return (0, 0, 0, 0)
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    return (ph, ph, pw, pw)
