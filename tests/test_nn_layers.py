"""app.nn: every layer's forward and backward against slow loops written from its equation.

The naive_* helpers come first: plain Python loops over float64 arrays, one
output element at a time, sharing no code with app.nn.  Gradients of the
vectorised formulas are also checked against float64 central differences
where the loop reference itself is a formula (batch norm, the loss).
"""
from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from app.nn import (SGD, Adam, BatchNorm2d, Conv2d, Dense, Dropout, Flatten, MaxPool2d, ReLU, Sequential,
                    batch_norm, batch_norm_backward, batch_norm_inference, conv2d_same, conv2d_same_backward, dense,
                    dense_backward, dropout_mask, max_pool2, max_pool2_backward, relu, relu_backward,
                    softmax, softmax_cross_entropy, torch_default_uniform)
from app.nn.batchnorm import batch_norm_inference_backward

# --------------------------------------------------------------------------- slow references


def naive_dense(x, w, b):
    n, k = x.shape
    out = np.zeros((n, w.shape[0]))
    for i in range(n):
        for o in range(w.shape[0]):
            out[i, o] = b[o] + sum(x[i, j] * w[o, j] for j in range(k))
    return out


def naive_dense_backward(x, w, gy):
    gx, gw, gb = np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[0])
    for i in range(x.shape[0]):
        for o in range(w.shape[0]):
            gb[o] += gy[i, o]
            for j in range(x.shape[1]):
                gw[o, j] += gy[i, o] * x[i, j]
                gx[i, j] += gy[i, o] * w[o, j]
    return gx, gw, gb


def naive_conv_same(x, w, b):
    """Eq. 36.3 with one cell of zero padding, tap by tap: y[n,o,i,j] = b[o] + Σ_c Σ_a Σ_b x[n,c,i+a-1,j+b-1] w[o,c,a,b]."""
    n_img, c_in, h, wd = x.shape
    c_out, _, k, _ = w.shape
    r = k // 2
    y = np.zeros((n_img, c_out, h, wd))
    for n in range(n_img):
        for o in range(c_out):
            for i in range(h):
                for j in range(wd):
                    s = b[o]
                    for c in range(c_in):
                        for a in range(k):
                            for q in range(k):
                                ii, jj = i + a - r, j + q - r
                                if 0 <= ii < h and 0 <= jj < wd:
                                    s += x[n, c, ii, jj] * w[o, c, a, q]
                    y[n, o, i, j] = s
    return y


def naive_conv_same_backward(x, w, gy):
    """Each output's δ sent back along the taps that made it (eqs. 36.9, 36.10 as scatters)."""
    n_img, c_in, h, wd = x.shape
    c_out, _, k, _ = w.shape
    r = k // 2
    gx, gw, gb = np.zeros(x.shape), np.zeros(w.shape), np.zeros(c_out)
    for n in range(n_img):
        for o in range(c_out):
            for i in range(h):
                for j in range(wd):
                    d = gy[n, o, i, j]
                    gb[o] += d
                    for c in range(c_in):
                        for a in range(k):
                            for q in range(k):
                                ii, jj = i + a - r, j + q - r
                                if 0 <= ii < h and 0 <= jj < wd:
                                    gw[o, c, a, q] += d * x[n, c, ii, jj]
                                    gx[n, c, ii, jj] += d * w[o, c, a, q]
    return gx, gw, gb


def naive_max_pool2(x):
    """Eq. 36.7, 2×2 stride 2; also the (row, col) of each window's first maximum."""
    n_img, c_n, h, w = x.shape
    y = np.zeros((n_img, c_n, h // 2, w // 2))
    where = {}
    for n in range(n_img):
        for c in range(c_n):
            for i in range(h // 2):
                for j in range(w // 2):
                    best, at = -math.inf, None
                    for a in range(2):
                        for q in range(2):
                            v = x[n, c, 2 * i + a, 2 * j + q]
                            if v > best:
                                best, at = v, (2 * i + a, 2 * j + q)
                    y[n, c, i, j] = best
                    where[n, c, i, j] = at
    return y, where


def naive_max_pool2_backward(x, gy):
    _, where = naive_max_pool2(x)
    gx = np.zeros(x.shape)
    for (n, c, i, j), (r, q) in where.items():
        gx[n, c, r, q] += gy[n, c, i, j]
    return gx


def naive_batch_norm_train(x, gamma, beta, eps=1e-5):
    """Per channel: mean and biased variance by loops, then (x − μ)/√(σ² + ε)·γ + β."""
    n_img, c_n, h, w = x.shape
    y, means, variances = np.zeros(x.shape), np.zeros(c_n), np.zeros(c_n)
    for c in range(c_n):
        vals = [x[n, c, i, j] for n in range(n_img) for i in range(h) for j in range(w)]
        mu = sum(vals) / len(vals)
        var = sum((v - mu) ** 2 for v in vals) / len(vals)
        means[c], variances[c] = mu, var
        for n in range(n_img):
            for i in range(h):
                for j in range(w):
                    y[n, c, i, j] = (x[n, c, i, j] - mu) / math.sqrt(var + eps) * gamma[c] + beta[c]
    return y, means, variances


def naive_batch_norm_train_backward(x, gamma, gy, eps=1e-5):
    """dL/dx by the Jacobian element by element: ∂y_j/∂x_i = γ/s·(δ_ij − 1/m − x̂_i x̂_j/m), s = √(σ² + ε)."""
    n_img, c_n, h, w = x.shape
    gx, g_gamma, g_beta = np.zeros(x.shape), np.zeros(c_n), np.zeros(c_n)
    for c in range(c_n):
        cells = [(n, i, j) for n in range(n_img) for i in range(h) for j in range(w)]
        m = len(cells)
        vals = np.array([x[n, c, i, j] for n, i, j in cells])
        mu = vals.sum() / m
        s = math.sqrt(((vals - mu) ** 2).sum() / m + eps)
        xh = (vals - mu) / s
        d = np.array([gy[n, c, i, j] for n, i, j in cells])
        for a, (n, i, j) in enumerate(cells):
            total = 0.0
            for b_ in range(m):
                total += d[b_] * gamma[c] / s * ((a == b_) - 1.0 / m - xh[a] * xh[b_] / m)
            gx[n, c, i, j] = total
        g_gamma[c] = float((d * xh).sum())
        g_beta[c] = float(d.sum())
    return gx, g_gamma, g_beta


def naive_cross_entropy(logits, labels):
    """Mean over rows of −log softmax, each row by its own loop (with the max shift)."""
    total = 0.0
    for row, y in zip(logits, labels):
        top = max(row)
        total += -(row[y] - top - math.log(sum(math.exp(v - top) for v in row)))
    return total / len(labels)


def central_difference(f, x, index, h=1e-6):
    old = x[index]
    x[index] = old + h
    up = f()
    x[index] = old - h
    down = f()
    x[index] = old
    return (up - down) / (2 * h)


# --------------------------------------------------------------------------- dense, flatten, relu


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_forward_and_backward_match_loops(rng, dtype):
    x = rng.standard_normal((4, 7)).astype(dtype)
    w = rng.standard_normal((5, 7)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    gy = rng.standard_normal((4, 5)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    y = dense(x, w, b)
    assert y.dtype == dtype
    npt.assert_allclose(y, naive_dense(x, w, b), rtol=tol, atol=tol)
    for got, want in zip(dense_backward(x, w, gy), naive_dense_backward(x, w, gy)):
        assert got.dtype == dtype
        npt.assert_allclose(got, want, rtol=tol, atol=tol)
    assert dense_backward(x, w, gy, input_grad=False)[0] is None


def test_dense_layer_uses_pytorch_layout_and_default_init():
    layer = Dense("fc", 300, 20)
    values = layer.initial(np.random.default_rng(0), np.float32)
    assert values["weight"].shape == (20, 300) and values["bias"].shape == (20,)
    bound = 1 / math.sqrt(300)
    for v in values.values():
        assert np.abs(v).max() <= bound
        assert np.abs(v).max() > 0.9 * bound   # uniform over the whole interval, not a narrower one
    with pytest.raises(ValueError, match=r"expects \(N, 300\)"):
        layer.forward(values, np.zeros((2, 299), np.float32), False, None)


def test_torch_default_uniform_bound_and_mean():
    v = torch_default_uniform(np.random.default_rng(1), (20000,), fan_in=9, dtype=np.float64)
    assert np.abs(v).max() <= 1 / 3
    assert abs(v.mean()) < 0.01 and abs(v.var() - (1 / 3) ** 2 / 3) < 0.002  # Var U(−a, a) = a²/3
    with pytest.raises(ValueError):
        torch_default_uniform(np.random.default_rng(1), (3,), fan_in=0)


def test_flatten_is_channel_major():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    y, saved = Flatten().forward({}, x, False, None)
    assert y[1, 4] == x[1, 1, 0, 0]                 # index = c·H·W + h·W + w
    gx, _ = Flatten().backward({}, saved, y * 2, True, True)
    npt.assert_array_equal(gx, x * 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_backward_match_loops(rng, dtype):
    x = rng.standard_normal((3, 2, 4, 5)).astype(dtype)
    x[0, 0, 0, :2] = 0.0                            # the kink: subgradient 0, as PyTorch
    gy = rng.standard_normal(x.shape).astype(dtype)
    y = relu(x)
    want_y, want_g = np.zeros(x.shape), np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        want_y[idx] = x[idx] if x[idx] > 0 else 0.0
        want_g[idx] = gy[idx] if x[idx] > 0 else 0.0
    assert y.dtype == dtype and relu_backward(y, gy).dtype == dtype
    npt.assert_array_equal(y, want_y.astype(dtype))
    npt.assert_array_equal(relu_backward(y, gy), want_g.astype(dtype))


# --------------------------------------------------------------------------- conv and pool wrappers


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_same_forward_backward_match_loops(rng, dtype):
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    gy = rng.standard_normal((2, 4, 5, 6)).astype(dtype)
    tol = 2e-5 if dtype == np.float32 else 1e-11
    y = conv2d_same(x, w, b)
    assert y.dtype == dtype and y.shape == (2, 4, 5, 6)
    npt.assert_allclose(y, naive_conv_same(x, w, b), rtol=tol, atol=tol)
    for got, want in zip(conv2d_same_backward(x, w, gy), naive_conv_same_backward(x, w, gy)):
        npt.assert_allclose(got, want, rtol=tol, atol=tol)
    gx, gw, _ = conv2d_same_backward(x, w, gy, input_grad=False)
    assert gx is None
    npt.assert_allclose(gw, naive_conv_same_backward(x, w, gy)[1], rtol=tol, atol=tol)


def test_conv_layer_shapes_and_init():
    layer = Conv2d("conv2", 32, 64)
    values = layer.initial(np.random.default_rng(0), np.float32)
    assert values["weight"].shape == (64, 32, 3, 3) and values["bias"].shape == (64,)
    assert np.abs(values["weight"]).max() <= 1 / math.sqrt(32 * 9)
    with pytest.raises(ValueError, match="expects"):
        layer.forward(values, np.zeros((1, 3, 8, 8), np.float32), False, None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_forward_backward_match_loops(rng, dtype):
    x = rng.standard_normal((2, 3, 6, 4)).astype(dtype)
    x[0, 0, :2, :2] = 1.5                            # a tie: the first maximum wins
    gy = rng.standard_normal((2, 3, 3, 2)).astype(dtype)
    y, argmax = max_pool2(x)
    want_y, _ = naive_max_pool2(x)
    npt.assert_array_equal(y, want_y.astype(dtype))
    npt.assert_allclose(max_pool2_backward(x, gy, argmax), naive_max_pool2_backward(x, gy), atol=1e-7)
    layer = MaxPool2d("pool")
    out, saved = layer.forward({}, x, True, None)
    npt.assert_allclose(layer.backward({}, saved, gy, True, True)[0], naive_max_pool2_backward(x, gy), atol=1e-7)


# --------------------------------------------------------------------------- dropout


def test_dropout_mask_values_rate_and_seed():
    m = dropout_mask((200, 128), 0.5, np.random.default_rng(3), np.float32)
    assert m.dtype == np.float32
    assert set(np.unique(m)) == {0.0, 2.0}          # kept units scaled by 1/(1 − p)
    assert abs((m == 0).mean() - 0.5) < 0.02
    npt.assert_array_equal(m, dropout_mask((200, 128), 0.5, np.random.default_rng(3), np.float32))
    m3 = dropout_mask((400, 100), 0.3, np.random.default_rng(4), np.float64)
    npt.assert_allclose(np.unique(m3), [0.0, 1 / 0.7])
    assert abs(m3.mean() - 1.0) < 0.02             # E[y] = x
    with pytest.raises(ValueError, match="rate"):
        dropout_mask((2,), 1.0, np.random.default_rng(0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_layer_train_and_inference_match_loops(rng, dtype):
    layer = Dropout("dropout", 0.25)
    x = rng.standard_normal((6, 10)).astype(dtype)
    gy = rng.standard_normal((6, 10)).astype(dtype)
    y, mask = layer.forward({}, x, True, np.random.default_rng(9))
    keep = np.random.default_rng(9).random((6, 10)) >= 0.25   # the same draws, read independently
    want_y, want_g = np.zeros(x.shape), np.zeros(x.shape)
    for i, j in np.ndindex(x.shape):
        want_y[i, j] = x[i, j] / 0.75 if keep[i, j] else 0.0
        want_g[i, j] = gy[i, j] / 0.75 if keep[i, j] else 0.0
    tol = 1e-6 if dtype == np.float32 else 1e-15
    npt.assert_allclose(y, want_y, rtol=tol)
    npt.assert_allclose(layer.backward({}, mask, gy, True, True)[0], want_g, rtol=tol)
    # Inference: the identity, and its gradient passes δ unchanged.
    y_inf, saved = layer.forward({}, x, False, None)
    npt.assert_array_equal(y_inf, x)
    npt.assert_array_equal(layer.backward({}, saved, gy, True, True)[0], gy)
    with pytest.raises(ValueError, match="random generator"):
        layer.forward({}, x, True, None)


# --------------------------------------------------------------------------- batch norm


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_training_forward_and_running_stats_match_loops(rng, dtype):
    x = (rng.standard_normal((3, 2, 3, 4)) * 2 + 1).astype(dtype)
    gamma = rng.uniform(0.5, 2, 2).astype(dtype)
    beta = rng.standard_normal(2).astype(dtype)
    rm, rv = np.array([0.2, -0.1], dtype), np.array([1.5, 0.7], dtype)
    rm0, rv0 = rm.copy(), rv.copy()
    y, _ = batch_norm(x, gamma, beta, rm, rv)
    want, mean, var = naive_batch_norm_train(x.astype(np.float64), gamma, beta)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    assert y.dtype == dtype
    npt.assert_allclose(y, want, rtol=tol, atol=tol)
    m = 3 * 3 * 4
    npt.assert_allclose(rm, 0.9 * rm0 + 0.1 * mean, rtol=tol)                   # PyTorch's momentum 0.1
    npt.assert_allclose(rv, 0.9 * rv0 + 0.1 * var * m / (m - 1), rtol=tol)      # unbiased running variance


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_training_backward_matches_jacobian_loops(rng, dtype):
    x = rng.standard_normal((2, 3, 2, 3)).astype(dtype)
    gamma = rng.uniform(0.5, 2, 3).astype(dtype)
    beta = rng.standard_normal(3).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    _, saved = batch_norm(x, gamma, beta, np.zeros(3, dtype), np.ones(3, dtype))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    got = batch_norm_backward(saved, gy)
    want = naive_batch_norm_train_backward(x.astype(np.float64), gamma, gy)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        npt.assert_allclose(g, w, rtol=tol, atol=tol)
    assert batch_norm_backward(saved, gy, input_grad=False)[0] is None


def test_batch_norm_training_backward_matches_finite_differences(rng):
    x = rng.standard_normal((3, 2, 2, 2))
    gamma, beta = rng.uniform(0.5, 2, 2), rng.standard_normal(2)
    probe = rng.standard_normal(x.shape)          # L = Σ probe ⊙ y

    def loss():
        return float((batch_norm(x, gamma, beta, np.zeros(2), np.ones(2))[0] * probe).sum())

    _, saved = batch_norm(x, gamma, beta, np.zeros(2), np.ones(2))
    gx, g_gamma, g_beta = batch_norm_backward(saved, probe)
    for idx in [(0, 0, 0, 0), (1, 1, 0, 1), (2, 0, 1, 1)]:
        assert abs(central_difference(loss, x, idx) - gx[idx]) < 1e-7
    for c in range(2):
        assert abs(central_difference(loss, gamma, c) - g_gamma[c]) < 1e-7
        assert abs(central_difference(loss, beta, c) - g_beta[c]) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_inference_uses_running_stats_and_its_backward_matches_loops(rng, dtype):
    x = rng.standard_normal((2, 2, 3, 3)).astype(dtype)
    gamma, beta = rng.uniform(0.5, 2, 2).astype(dtype), rng.standard_normal(2).astype(dtype)
    rm, rv = rng.standard_normal(2).astype(dtype), rng.uniform(0.5, 2, 2).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    y, saved = batch_norm_inference(x, gamma, beta, rm, rv)
    want_y, want_gx = np.zeros(x.shape), np.zeros(x.shape)
    want_gg, want_gb = np.zeros(2), np.zeros(2)
    for n, c, i, j in np.ndindex(x.shape):
        s = math.sqrt(float(rv[c]) + 1e-5)
        xh = (float(x[n, c, i, j]) - float(rm[c])) / s
        want_y[n, c, i, j] = xh * gamma[c] + beta[c]
        want_gx[n, c, i, j] = gy[n, c, i, j] * gamma[c] / s
        want_gg[c] += gy[n, c, i, j] * xh
        want_gb[c] += gy[n, c, i, j]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    npt.assert_allclose(y, want_y, rtol=tol, atol=tol)
    for got, want in zip(batch_norm_inference_backward(saved, gy), (want_gx, want_gg, want_gb)):
        npt.assert_allclose(got, want, rtol=tol, atol=tol)


def test_batch_norm_layer_modes_and_defaults(rng):
    layer = BatchNorm2d("bn", 3)
    p = layer.initial(None, np.float32)
    npt.assert_array_equal(p["weight"], 1) and npt.assert_array_equal(p["running_var"], 1)
    assert layer.eps == 1e-5 and layer.momentum == 0.1
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32) * 3 + 2
    y_train, _ = layer.forward(p, x, True, None)
    assert np.abs(y_train.mean(axis=(0, 2, 3))).max() < 1e-5              # normalised by the batch
    assert np.abs(p["running_mean"]).max() > 0.05                           # running statistics moved
    before = p["running_mean"].copy()
    y_inf, _ = layer.forward(p, x, False, None)
    npt.assert_array_equal(p["running_mean"], before)                      # inference never updates them
    assert not np.allclose(y_inf, y_train)


# --------------------------------------------------------------------------- softmax cross-entropy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_matches_loops_and_finite_differences(rng, dtype):
    logits = rng.standard_normal((5, 10)).astype(dtype) * 3
    labels = rng.integers(0, 10, 5)
    loss, grad, p = softmax_cross_entropy(logits, labels)
    assert grad.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert abs(loss - naive_cross_entropy(logits.astype(np.float64), labels)) < tol
    npt.assert_allclose(p.sum(axis=1), 1, rtol=tol)
    z = logits.astype(np.float64)
    for idx in [(0, 0), (2, int(labels[2])), (4, 7)]:
        fd = central_difference(lambda: naive_cross_entropy(z, labels), z, idx)
        assert abs(fd - grad[idx]) < (1e-6 if dtype == np.float32 else 1e-9)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-5000.0, 5000.0, 0.0]])
    loss, grad, p = softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert abs(loss - 5000.0) < 1e-9                 # −log p = (5000 − (−5000)) / 2 rows
    npt.assert_allclose(softmax(logits).sum(axis=1), 1)
    with pytest.raises(ValueError, match="class indices"):
        softmax_cross_entropy(logits, np.array([0, 3]))


# --------------------------------------------------------------------------- optimisers


def test_adam_matches_the_textbook_formula_over_steps(rng):
    theta = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2).astype(np.float32)}
    start = {k: v.copy() for k, v in theta.items()}
    grads = [{k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in theta.items()} for _ in range(4)]
    opt = Adam(theta)                                 # lr 1e-3, β 0.9 / 0.999, ε 1e-8
    for g in grads:
        opt.step(theta, g)
    for k in theta:
        for idx in np.ndindex(theta[k].shape):
            p, m, v = float(start[k][idx]), 0.0, 0.0
            for t, g in enumerate(grads, start=1):
                gi = float(g[k][idx])
                m = 0.9 * m + 0.1 * gi
                v = 0.999 * v + 0.001 * gi * gi
                p -= 1e-3 * (m / (1 - 0.9 ** t)) / (math.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
            tol = 1e-6 if theta[k].dtype == np.float32 else 1e-13
            assert abs(theta[k][idx] - p) < tol, (k, idx)
    assert theta["b"].dtype == np.float32 and opt.t == 4


def test_adam_first_step_moves_each_weight_by_lr_against_its_gradient_sign():
    theta = {"w": np.zeros(4)}
    Adam(theta, lr=0.01).step(theta, {"w": np.array([3.0, -0.2, 1e-3, -50.0])})
    npt.assert_allclose(theta["w"], [-0.01, 0.01, -0.01, 0.01], rtol=1e-4)  # m̂/√v̂ = sign(g) at t = 1


def test_sgd_with_and_without_momentum(rng):
    theta = {"w": np.ones(3)}
    g = {"w": np.array([1.0, -2.0, 0.5])}
    SGD(theta, lr=0.1).step(theta, g)
    npt.assert_allclose(theta["w"], [0.9, 1.2, 0.95])
    theta = {"w": np.zeros(1)}
    opt = SGD(theta, lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.step(theta, {"w": np.array([1.0])})
    npt.assert_allclose(theta["w"], [-0.1 - 0.1 * 1.9])  # b₁ = 1, b₂ = 0.9·1 + 1


# --------------------------------------------------------------------------- Sequential


def _tiny_net(seed=0, dtype=np.float64):
    return Sequential([Conv2d("conv", 1, 2), BatchNorm2d("bn", 2), ReLU("relu"), MaxPool2d("pool"),
                       Flatten("flatten"), Dense("fc", 2 * 2 * 2, 3)], seed=seed, dtype=dtype)


def test_sequential_backward_matches_finite_differences(rng):
    net = _tiny_net()
    x = rng.standard_normal((3, 1, 4, 4))
    labels = np.array([0, 2, 1])

    def loss():
        return softmax_cross_entropy(net.forward(x, True)[0], labels)[0]

    logits, cache = net.forward(x, True)
    grads = net.backward(cache, softmax_cross_entropy(logits, labels)[1], input_grad=True)
    assert set(grads.params) == set(net.params)
    for name, value in net.params.items():
        for idx in [(0,) * value.ndim, tuple(s - 1 for s in value.shape)]:
            assert abs(central_difference(loss, value, idx) - grads.params[name][idx]) < 1e-6, name
    for idx in [(0, 0, 1, 2), (2, 0, 3, 0)]:
        assert abs(central_difference(loss, x, idx) - grads.input[idx]) < 1e-6


def test_sequential_state_dict_roundtrip_and_errors():
    a, b = _tiny_net(seed=1), _tiny_net(seed=2)
    assert list(a.state_dict()) == ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                    "bn.running_var", "fc.weight", "fc.bias"]
    assert not np.allclose(a.params["fc.weight"], b.params["fc.weight"])
    b.load_state_dict(a.state_dict())
    for k, v in a.state_dict().items():
        npt.assert_array_equal(b.state_dict()[k], v)
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"conv.weight": a.params["conv.weight"]})
    bad = a.state_dict()
    bad["fc.bias"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"fc.bias has shape \(4,\)"):
        b.load_state_dict(bad)


def test_sequential_reinitialize_redraws_only_the_named_layer():
    net = _tiny_net(seed=5)
    fresh = net.state_dict()
    for v in net.params.values():
        v += 1.0
    net.reinitialize(["fc"], seed=5)
    npt.assert_array_equal(net.params["fc.weight"], fresh["fc.weight"])     # same seed: the same draw
    npt.assert_array_equal(net.params["conv.weight"], fresh["conv.weight"] + 1)
    net.reinitialize(["fc"], seed=6)
    assert not np.allclose(net.params["fc.weight"], fresh["fc.weight"])
    with pytest.raises(ValueError, match="no layer named"):
        net.reinitialize(["nope"], seed=0)
