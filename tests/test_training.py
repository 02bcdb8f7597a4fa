"""The Train lab's network: whole-network gradient check, and learning from a fixed seed."""
import time

import numpy as np
import pytest

from app import training
from app.training import Trainer, backward, forward, init_params, load_digits_split, softmax_cross_entropy


def naive_loss(params, x, y):
    logits, _ = forward(params, x)
    return softmax_cross_entropy(logits, y)[0]


def test_data_split_is_fixed_and_disjoint():
    d = load_digits_split()
    assert d.x_train.shape[1:] == (8, 8) and len(d.y_train) + len(d.y_test) == 1797
    assert len(d.y_test) == 359
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    # Same split every time, and no test image is also a training image (by content).
    assert load_digits_split() is d
    train_rows = {row.tobytes() for row in d.x_train}
    overlap = sum(row.tobytes() in train_rows for row in d.x_test)
    assert overlap < 5  # the digits set has a handful of exact duplicates, nothing more


def test_softmax_cross_entropy_matches_definition():
    logits = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 1000.0]])
    loss, grad, p = softmax_cross_entropy(logits, np.array([0, 2]))
    p0 = np.exp(logits[0]) / np.exp(logits[0]).sum()
    assert np.allclose(p[0], p0) and np.allclose(p[1], [0, 0, 1])
    assert loss == pytest.approx(-np.log(p0[0]) / 2)
    assert np.allclose(grad[0], (p0 - [1, 0, 0]) / 2)


def test_whole_network_gradient_matches_central_differences():
    """Every parameter of conv → relu → pool → conv → relu → pool → dense → relu → dense → softmax CE."""
    rng = np.random.default_rng(3)
    params = init_params(filters=2, hidden=5, seed=1, dtype=np.float64)
    for k in params:
        if k.startswith("b"):
            params[k] = rng.normal(0, 0.1, params[k].shape)  # non-zero biases exercise their gradients
    x = rng.random((3, 8, 8))
    y = np.array([1, 7, 3])
    logits, cache = forward(params, x)
    _, g_logits, _ = softmax_cross_entropy(logits, y)
    analytic = backward(params, cache, g_logits)
    eps = 1e-6
    worst = 0.0
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = naive_loss(params, x, y)
            p[i] = old - eps
            down = naive_loss(params, x, y)
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        assert analytic[name].shape == p.shape
        worst = max(worst, float(np.abs(analytic[name] - numeric).max()))
        assert np.allclose(analytic[name], numeric, rtol=1e-5, atol=1e-8), name
    assert worst < 1e-7


def test_adam_and_sgd_lower_the_loss_on_one_batch():
    for optimizer, lr in (("adam", 0.01), ("sgd", 0.05)):
        t = Trainer(optimizer=optimizer, lr=lr, filters=4)
        x, y = t.data.x_train[:64], t.data.y_train[:64]
        before = naive_loss(t.params, x, y)
        for _ in range(40):
            loss, grads = training.loss_and_grads(t.params, x, y)
            t.opt.step(t.params, grads)
        assert naive_loss(t.params, x, y) < 0.6 * before, optimizer


def test_training_from_fixed_seed_reaches_80_percent_held_out():
    t = Trainer(seed=0)
    t0 = time.perf_counter()
    acc, seconds, epochs = training.train_until(t, target=0.80, max_seconds=20)
    assert acc >= 0.80, f"held-out accuracy {acc:.3f} after {epochs:.2f} epochs, {seconds:.1f} s"
    assert time.perf_counter() - t0 < 20


def test_explain_returns_probabilities_and_every_layer():
    t = Trainer(filters=4)
    out = training.explain(t.params, t.data.x_test[0])
    assert out["probabilities"].shape == (10,) and out["probabilities"].sum() == pytest.approx(1.0)
    shapes = {name: a.shape for name, a in out["layers"]}
    assert shapes["conv1 + ReLU"] == (4, 8, 8) and shapes["pool1"] == (4, 4, 4)
    assert shapes["conv2 + ReLU"] == (8, 4, 4) and shapes["pool2"] == (8, 2, 2) and shapes["logits"] == (10,)
