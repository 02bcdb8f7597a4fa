"""The Train lab's small CNN on scikit-learn's 8×8 digits, in NumPy plus ConvLab's kernels.

The network is the chapter's canonical classifier shrunk to 8×8 inputs::

    x (1×8×8) → conv F 3×3 same → ReLU → max pool 2 → conv 2F 3×3 same → ReLU → max pool 2
      → flatten (8F) → dense H → ReLU → dense 10 → softmax cross-entropy

Convolutions, pooling and ReLU (forward and backward) are ``app.kernels``; the
dense layers, softmax and cross-entropy are written here.  The kernels take one
(C, H, W) map, so a batch of N images runs as one *grouped* convolution: the
images are stacked on the channel axis, the weights are tiled N times and
``groups=N`` keeps every image's channels apart.  The weight gradient of the
tiled kernel is then summed over its N copies.

Nothing here knows about HTTP or threads (``app.labs.train.sessions`` runs this in a
worker thread; ``bench/train.py`` times it).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from app.kernels import conv2d, conv2d_backward, pool2d, pool2d_backward, relu, relu_backward
from app.errors import InvalidArgument

CLASSES = 10
SIDE = 8
KERNEL = 3
DEFAULTS = {"lr": 0.01, "batch_size": 32, "filters": 8, "hidden": 32, "optimizer": "adam", "seed": 0}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Digits:
    """scikit-learn's digits scaled to [0, 1], split once with a fixed seed."""

    x_train: np.ndarray  # (N_train, 8, 8) float32
    y_train: np.ndarray  # (N_train,) int64
    x_test: np.ndarray   # (N_test, 8, 8) float32
    y_test: np.ndarray


@lru_cache(maxsize=2)
def load_digits_split(seed: int = 0, test_fraction: float = 0.2) -> Digits:
    """The 1,797 digits (bundled with scikit-learn; no network) as a seeded train/held-out split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    arrays = (x[train], y[train], x[test], y[test])
    for a in arrays:
        a.setflags(write=False)  # shared by every session's thread
    return Digits(*arrays)


# --------------------------------------------------------------------------- parameters


def init_params(filters: int = 8, hidden: int = 32, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """He-initialised weights; biases zero.  Shapes: w1 (F,1,3,3), w2 (2F,F,3,3), w3 (8F,H), w4 (H,10)."""
    rng = np.random.default_rng(seed)
    f1, f2 = filters, 2 * filters
    flat = f2 * (SIDE // 4) ** 2

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)

    return {
        "w1": he((f1, 1, KERNEL, KERNEL), KERNEL * KERNEL),
        "b1": np.zeros(f1, dtype),
        "w2": he((f2, f1, KERNEL, KERNEL), f1 * KERNEL * KERNEL),
        "b2": np.zeros(f2, dtype),
        "w3": he((flat, hidden), flat),
        "b3": np.zeros(hidden, dtype),
        "w4": he((hidden, CLASSES), hidden),
        "b4": np.zeros(CLASSES, dtype),
    }


# --------------------------------------------------------------------------- layers over a batch


def conv_batch(x, w, b):
    """'Same' 3×3 convolution of every image: x (N, C, H, W), w (F, C, 3, 3) → (N, F, H, W)."""
    n, c, h, wd = x.shape
    f = w.shape[0]
    y = conv2d(x.reshape(n * c, h, wd), np.tile(w, (n, 1, 1, 1)), np.tile(b, n), padding=1, groups=n)
    return y.reshape(n, f, h, wd)


def conv_batch_backward(x, w, gy):
    """Gradients of ``conv_batch``: (gx (N,C,H,W), gw (F,C,3,3) summed over images, gb (F,))."""
    n, c, h, wd = x.shape
    f = w.shape[0]
    gx, gw, gb = conv2d_backward(
        x.reshape(n * c, h, wd), np.tile(w, (n, 1, 1, 1)), gy.reshape(n * f, h, wd), padding=1, groups=n
    )
    return gx.reshape(x.shape), gw.reshape((n,) + w.shape).sum(axis=0), gb.reshape(n, f).sum(axis=0)


def pool_batch(x):
    """2×2 max pooling of every map: (N, C, H, W) → (N, C, H/2, W/2)."""
    n, c, h, w = x.shape
    y, _ = pool2d(x.reshape(n * c, h, w), "max", 2)
    return y.reshape(n, c, h // 2, w // 2)


def pool_batch_backward(x, gy):
    n, c, h, w = x.shape
    return pool2d_backward(x.reshape(n * c, h, w), gy.reshape(n * c, h // 2, w // 2), "max", 2).reshape(x.shape)


def softmax(logits):
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels.

    Returns (loss, dL/dlogits, probabilities).  The gradient is (p − onehot)/N.
    """
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    loss = -log_p[np.arange(n), labels].mean()
    grad = p.copy()
    grad[np.arange(n), labels] -= 1.0
    return float(loss), grad / n, p


# --------------------------------------------------------------------------- the network


def forward(params, x):
    """Logits (N, 10) for images x (N, 8, 8), and the activations backward needs."""
    w1, b1, w2, b2, w3, b3, w4, b4 = (params[k] for k in ("w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4"))
    a0 = np.ascontiguousarray(x, dtype=w1.dtype)[:, None]      # (N, 1, 8, 8)
    z1 = conv_batch(a0, w1, b1)                                 # (N, F, 8, 8)
    a1 = relu(z1)
    p1 = pool_batch(a1)                                         # (N, F, 4, 4)
    z2 = conv_batch(p1, w2, b2)                                 # (N, 2F, 4, 4)
    a2 = relu(z2)
    p2 = pool_batch(a2)                                         # (N, 2F, 2, 2)
    flat = p2.reshape(len(x), -1)                               # (N, 8F)
    z3 = flat @ w3 + b3                                         # (N, H)
    a3 = relu(z3)
    logits = a3 @ w4 + b4                                       # (N, 10)
    cache = {"a0": a0, "z1": z1, "a1": a1, "p1": p1, "z2": z2, "a2": a2, "p2": p2, "flat": flat, "z3": z3, "a3": a3}
    return logits, cache


def backward(params, cache, g_logits):
    """Gradients of every parameter given dL/dlogits (N, 10); same keys as ``params``."""
    c = cache
    grads = {}
    grads["w4"] = c["a3"].T @ g_logits
    grads["b4"] = g_logits.sum(axis=0)
    g_a3 = g_logits @ params["w4"].T
    g_z3 = relu_backward(c["z3"], g_a3)
    grads["w3"] = c["flat"].T @ g_z3
    grads["b3"] = g_z3.sum(axis=0)
    g_p2 = (g_z3 @ params["w3"].T).reshape(c["p2"].shape)
    g_a2 = pool_batch_backward(c["a2"], g_p2)
    g_z2 = relu_backward(c["z2"], g_a2)
    g_p1, grads["w2"], grads["b2"] = conv_batch_backward(c["p1"], params["w2"], g_z2)
    g_a1 = pool_batch_backward(c["a1"], g_p1)
    g_z1 = relu_backward(c["z1"], g_a1)
    _, grads["w1"], grads["b1"] = conv_batch_backward(c["a0"], params["w1"], g_z1)
    return {k: np.asarray(v, dtype=params[k].dtype) for k, v in grads.items()}


def loss_and_grads(params, x, labels):
    """(mean cross-entropy, gradients) of one batch."""
    logits, cache = forward(params, x)
    loss, g_logits, _ = softmax_cross_entropy(logits, labels)
    return loss, backward(params, cache, g_logits.astype(logits.dtype))


def predict_proba(params, x, batch: int = 512):
    """Class probabilities (N, 10) for images x (N, 8, 8)."""
    out = [softmax(forward(params, x[i : i + batch])[0]) for i in range(0, len(x), batch)]
    return np.concatenate(out)


def accuracy(params, x, labels) -> float:
    return float((predict_proba(params, x).argmax(axis=1) == labels).mean())


def explain(params, image):
    """One image (8, 8) through the network: probabilities and every layer's maps.

    Returns {"probabilities": (10,), "layers": [(name, array)]} with conv and pool
    maps as (C, H, W) and the dense layers as (units,).
    """
    logits, c = forward(params, np.asarray(image, dtype=np.float64).reshape(1, SIDE, SIDE))
    layers = [
        ("input", c["a0"][0]),
        ("conv1 + ReLU", c["a1"][0]),
        ("pool1", c["p1"][0]),
        ("conv2 + ReLU", c["a2"][0]),
        ("pool2", c["p2"][0]),
        ("dense + ReLU", c["a3"][0]),
        ("logits", logits[0]),
    ]
    return {"probabilities": softmax(logits)[0], "layers": layers}


# --------------------------------------------------------------------------- optimisers


class Adam:
    """Adam (Kingma & Ba) with bias correction; ``lr`` may change between steps."""

    def __init__(self, params, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for k, g in grads.items():
            self.m[k] *= self.beta1
            self.m[k] += (1.0 - self.beta1) * g
            self.v[k] *= self.beta2
            self.v[k] += (1.0 - self.beta2) * g * g
            params[k] -= (self.lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps)).astype(params[k].dtype)


class SGDMomentum:
    """SGD with heavy-ball momentum: v ← μ v − lr g; θ ← θ + v."""

    def __init__(self, params, lr=0.05, momentum=0.9):
        self.lr, self.momentum = lr, momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params, grads):
        for k, g in grads.items():
            v = self.velocity[k]
            v *= self.momentum
            v -= self.lr * g
            params[k] += v


OPTIMIZERS = {"adam": Adam, "sgd": SGDMomentum}


# --------------------------------------------------------------------------- the loop


@dataclass
class Trainer:
    """Mini-batch training from a fixed seed; ``run_batch`` is one optimiser step.

    ``lr`` and ``batch_size`` may change between batches (the page's knobs);
    changing ``filters`` needs a new Trainer.
    """

    filters: int = DEFAULTS["filters"]
    lr: float = DEFAULTS["lr"]
    batch_size: int = DEFAULTS["batch_size"]
    optimizer: str = DEFAULTS["optimizer"]
    hidden: int = DEFAULTS["hidden"]
    seed: int = DEFAULTS["seed"]
    data: Digits = field(default_factory=load_digits_split)
    params: dict = field(init=False)
    step: int = field(init=False, default=0)
    seen: int = field(init=False, default=0)

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise InvalidArgument(f'optimizer must be "adam" or "sgd"; got {self.optimizer!r}')
        self.params = init_params(self.filters, self.hidden, self.seed)
        self.opt = OPTIMIZERS[self.optimizer](self.params, lr=self.lr)
        self.rng = np.random.default_rng(self.seed + 1)
        self.order = self.rng.permutation(len(self.data.y_train))
        self.cursor = 0

    @property
    def epoch(self) -> float:
        """Passes over the training set so far (fractional)."""
        return self.seen / len(self.data.y_train)

    def next_batch(self):
        n = len(self.order)
        if self.cursor >= n:
            self.order = self.rng.permutation(n)
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + self.batch_size]
        self.cursor += len(idx)
        return self.data.x_train[idx], self.data.y_train[idx]

    def run_batch(self) -> float:
        """One optimiser step on the next mini-batch; returns its loss."""
        x, y = self.next_batch()
        loss, grads = loss_and_grads(self.params, x, y)
        self.opt.lr = self.lr
        self.opt.step(self.params, grads)
        self.step += 1
        self.seen += len(y)
        return loss

    def test_accuracy(self) -> float:
        return accuracy(self.params, self.data.x_test, self.data.y_test)

    def train_loss(self, limit: int = 400) -> float:
        """Cross-entropy on the first ``limit`` training images (a steadier curve than batch losses)."""
        x, y = self.data.x_train[:limit], self.data.y_train[:limit]
        return softmax_cross_entropy(forward(self.params, x)[0], y)[0]


def train_until(trainer: Trainer, target: float = 0.95, max_seconds: float = 120.0, eval_every: int = 10):
    """Run batches until held-out accuracy reaches ``target`` or time runs out.

    Returns (accuracy, seconds, epochs).  Used by the benchmark and the tests.
    """
    t0 = time.perf_counter()
    acc = trainer.test_accuracy()
    while acc < target and time.perf_counter() - t0 < max_seconds:
        for _ in range(eval_every):
            trainer.run_batch()
        acc = trainer.test_accuracy()
    return acc, time.perf_counter() - t0, trainer.epoch
