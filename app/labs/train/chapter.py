"""The chapter's Keras classifier, at its own 28×28 input, trained by ConvLab's kernels.

The model, layer by layer (PyTorch names; shapes for a batch of N)::

    input    (N, 1, 28, 28)
    conv1    3×3 same, 32 filters     (N, 32, 28, 28)   conv1.weight (32, 1, 3, 3), conv1.bias (32,)
    [bn1]    batch norm (optional)    (N, 32, 28, 28)   bn1.weight/bias/running_mean/running_var (32,)
    relu1                             (N, 32, 28, 28)
    pool1    max 2×2                  (N, 32, 14, 14)
    conv2    3×3 same, 64 filters     (N, 64, 14, 14)   conv2.weight (64, 32, 3, 3), conv2.bias (64,)
    [bn2]                             (N, 64, 14, 14)
    relu2                             (N, 64, 14, 14)   ← Grad-CAM's A (after ReLU, before pooling)
    pool2    max 2×2                  (N, 64, 7, 7)
    flatten  C, H, W order            (N, 3136)
    dense1                            (N, 128)          dense1.weight (128, 3136), dense1.bias (128,)
    relu3                             (N, 128)
    dropout  rate 0.5 (0 removes it)  (N, 128)
    dense2                            (N, 10)           dense2.weight (10, 128), dense2.bias (10,)  → logits

softmax and the sparse categorical cross-entropy are ``app.nn.loss`` (fused);
421,642 parameters without batch norm, as Keras's ``summary()`` counts them.
Batch norm sits after each conv and before its ReLU.  Initialisation is
Keras's, as the chapter's code would get it (Glorot-uniform weights, zero
biases); ``init="pytorch"`` draws PyTorch's defaults instead (U(±1/√fan_in)
for weights and biases), for a run to compare with the same model in PyTorch
(``app.nn.init``).

Inspecting the network (the Inside lab): ``forward`` returns a ``Cache`` whose
``outputs`` holds every layer's output by the names above; ``backward`` takes
``input_grad=True`` for dL/dpixels (saliency), ``keep_grads=True`` for
dL/d(every layer's output) (Grad-CAM reads ``activations["relu2"]``), and
``start="relu2"`` (any layer) to back-propagate from an intermediate output
(feature visualisation).  For those questions use ``train=False`` (dropout off,
running statistics).

``Trainer`` is the chapter's ``fit`` call: Adam (lr 1e-3), batch 128, 10
epochs, validation split 0.1, shuffled every epoch, step by step so a session
thread can pause between steps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from app.errors import InvalidArgument
from app.nn import (
    Adam,
    BatchNorm2d,
    Cache,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    Gradients,
    MaxPool2d,
    ReLU,
    Sequential,
    softmax,
    softmax_cross_entropy,
)
from app.nn.blas import use_one_blas_thread

from .digits import (
    CHAPTER_SIDE,
    ChapterDigits,
    augment_batch,
    augmented_strip,
    load_chapter_digits,
)

CLASSES = 10
DEFAULTS = {"lr": 1e-3, "batch_size": 128, "epochs": 10, "dropout": 0.5, "batch_norm": False, "augment": False,
            "seed": 0, "init": "keras"}
MAX_DROPOUT = 0.9


def chapter_layers(batch_norm: bool = False, dropout: float = 0.5, init: str = DEFAULTS["init"]) -> list:
    """The chapter's layer stack (see the module docstring); ``dropout`` 0 leaves the dropout layer out.

    ``init``: "keras" (the chapter's framework's defaults) or "pytorch", for the conv and dense layers.
    """
    if not 0.0 <= dropout <= MAX_DROPOUT:
        raise InvalidArgument(f"dropout must be between 0 and {MAX_DROPOUT}; got {dropout}")
    layers = [Conv2d("conv1", 1, 32, init=init)]
    layers += [BatchNorm2d("bn1", 32)] if batch_norm else []
    layers += [ReLU("relu1"), MaxPool2d("pool1"), Conv2d("conv2", 32, 64, init=init)]
    layers += [BatchNorm2d("bn2", 64)] if batch_norm else []
    layers += [ReLU("relu2"), MaxPool2d("pool2"), Flatten("flatten"), Dense("dense1", 64 * 7 * 7, 128, init=init),
               ReLU("relu3")]
    layers += [Dropout("dropout", dropout)] if dropout > 0 else []
    layers += [Dense("dense2", 128, CLASSES, init=init)]
    return layers


class ChapterModel(Sequential):
    """The chapter's classifier.  Inherits ``forward``/``backward``/``state_dict``/... from ``app.nn.Sequential``.

    ``forward(x, train, rng=None, upto=None, record=True) -> (logits or the output of upto, Cache)``:
    x is (N, 28, 28) or (N, 1, 28, 28) in [0, 1]; ``rng`` draws dropout masks
    when ``train`` is True; ``cache.outputs[name]`` is every layer's output.
    ``record=False`` (training steps, ``logits``) lets ReLU and the max pool
    after it run fused, so ``cache.outputs`` then has no ``relu1``/``relu2``.

    ``backward(cache, grad, start=None, input_grad=False, param_grads=True, keep_grads=False) -> Gradients``:
    ``grad`` is dL/d(output of ``start``), by default dL/dlogits; returns
    ``Gradients(params, input, activations)``.  ``input`` is (N, 1, 28, 28).
    """

    def __init__(self, batch_norm: bool = False, dropout: float = 0.5, seed: int = 0, dtype=np.float32,
                 init: str = DEFAULTS["init"]):
        super().__init__(chapter_layers(batch_norm, dropout, init), seed=seed, dtype=dtype)
        self.batch_norm, self.dropout, self.seed, self.init = bool(batch_norm), float(dropout), seed, init

    def __repr__(self) -> str:
        return (f"ChapterModel(batch_norm={self.batch_norm}, dropout={self.dropout}, init={self.init!r}, "
                f"dtype={self.dtype.name})")

    @classmethod
    def from_state_dict(cls, state: dict, dropout: float = 0.5, dtype=np.float32) -> "ChapterModel":
        """A model holding ``state`` (PyTorch names; batch norm when ``bn1.*`` is present).

        ``dropout`` only matters for training; inference ignores it.
        """
        model = cls(batch_norm="bn1.weight" in state, dropout=dropout, dtype=dtype)
        model.load_state_dict(state)
        return model

    @staticmethod
    def as_batch(x) -> np.ndarray:
        """(N, 28, 28) or (N, 1, 28, 28) or one (28, 28) image → (N, 1, 28, 28); ValueError otherwise."""
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[None]
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != (1, CHAPTER_SIDE, CHAPTER_SIDE):
            raise InvalidArgument(f"the chapter model takes 28×28 images, (N, 28, 28) or (N, 1, 28, 28); got {x.shape}")
        return x

    def forward(self, x, train: bool, rng: np.random.Generator | None = None,
                upto: str | None = None, record: bool = True) -> tuple[np.ndarray, Cache]:
        use_one_blas_thread()  # app.nn.blas: spinning BLAS threads would slow the kernels after each dense layer
        return super().forward(self.as_batch(x), train, rng, upto, record)

    def loss_and_grads(self, x, labels, rng: np.random.Generator | None = None):
        """One training-mode pass: (mean cross-entropy, parameter gradients, logits).

        ``forward`` switches NumPy's BLAS to one thread for the process (``app.nn.blas``):
        the dense layers then no longer leave spinning threads behind to slow the kernels.
        """
        logits, cache = self.forward(x, train=True, rng=rng, record=False)
        loss, g_logits, _ = softmax_cross_entropy(logits, labels)
        return loss, self.backward(cache, g_logits).params, logits

    def logits(self, x, batch: int = 256) -> np.ndarray:
        """Inference-mode logits (N, 10), in chunks of ``batch`` images."""
        x = self.as_batch(x)
        if not len(x):
            return np.zeros((0, CLASSES), self.dtype)
        return np.concatenate([self.forward(x[i:i + batch], train=False, record=False)[0]
                               for i in range(0, len(x), batch)])

    def predict_proba(self, x, batch: int = 256) -> np.ndarray:
        """Class probabilities (N, 10) in inference mode (dropout off, batch norm's running statistics)."""
        return softmax(self.logits(x, batch))

    def accuracy(self, x, labels) -> float:
        return float((self.logits(x).argmax(axis=1) == np.asarray(labels)).mean())

    def first_layer_filters(self) -> np.ndarray:
        """conv1's 32 filters as (32, 3, 3) copies (the page draws them)."""
        return self.params["conv1.weight"][:, 0].copy()

    def parameter_count(self) -> int:
        """Trained parameters (421,642 without batch norm; + 192 with)."""
        return int(sum(v.size for v in self.params.values()))


def keras_code(batch_norm: bool = False, dropout: float = 0.5, augment: bool = False, epochs: int = 10,
               batch_size: int = 128, lr: float = 1e-3, init: str = DEFAULTS["init"]) -> str:
    """The R Keras code (the chapter's dialect) that this run reproduces, for the page to show beside it.

    Batch norm appears as ``layer_batch_normalization`` between each conv and its
    ReLU; augmentation as Keras's random-transform layers (ConvLab's own ranges:
    ±2 pixels, ±10°, ±10 % scale).  ConvLab's numerical choices that differ from
    Keras's defaults are PyTorch's (batch norm's ε and momentum, Adam's ε, and
    the initialisation when ``init`` is "pytorch") and are named in comments.
    """
    conv_act = "" if batch_norm else ', activation = "relu"'
    bn = ("  layer_batch_normalization(epsilon = 1e-5, momentum = 0.9) |>\n"
          "  layer_activation(\"relu\") |>\n") if batch_norm else ""
    aug = ("  layer_random_translation(height_factor = 2 / 28, width_factor = 2 / 28) |>\n"
           "  layer_random_rotation(factor = 10 / 360) |>\n"
           "  layer_random_zoom(height_factor = 0.1) |>\n") if augment else ""
    drop = f"  layer_dropout(rate = {dropout:g}) |>\n" if dropout > 0 else ""
    lr_arg = "" if lr == 1e-3 else f"learning_rate = {lr:g}"
    init_comment = ("# Starting weights as Keras draws them (Glorot-uniform, zero biases).\n"
                    if init == "keras" else
                    "# ConvLab draws PyTorch's initialisation here (weights and biases uniform in ±1/sqrt(fan_in))\n"
                    "# instead of Keras's Glorot-uniform weights and zero biases.\n")
    init_comment += "# ConvLab's Adam adds epsilon 1e-8 (PyTorch's; Keras's default is 1e-7).\n"
    return (
        "library(keras)\n\n"
        f"{init_comment}"
        "model <- keras_model_sequential(input_shape = c(28, 28, 1)) |>\n"
        f"{aug}"
        f"  layer_conv_2d(filters = 32, kernel_size = c(3, 3), padding = \"same\"{conv_act}) |>\n{bn}"
        "  layer_max_pooling_2d(pool_size = c(2, 2)) |>\n"
        f"  layer_conv_2d(filters = 64, kernel_size = c(3, 3), padding = \"same\"{conv_act}) |>\n{bn}"
        "  layer_max_pooling_2d(pool_size = c(2, 2)) |>\n"
        "  layer_flatten() |>\n"
        "  layer_dense(units = 128, activation = \"relu\") |>\n"
        f"{drop}"
        "  layer_dense(units = 10, activation = \"softmax\")\n\n"
        "model |> compile(\n"
        f"  optimizer = optimizer_adam({lr_arg}),\n"
        "  loss = \"sparse_categorical_crossentropy\",\n"
        "  metrics = \"accuracy\"\n"
        ")\n\n"
        f"model |> fit(x_train, y_train, epochs = {epochs}, batch_size = {batch_size}, validation_split = 0.1)\n"
    )


# --------------------------------------------------------------------------- training


@dataclass
class Trainer:
    """The chapter's ``fit`` call, one mini-batch at a time.

    ``run_batch()`` is one Adam step (forward, backward, update) on the next
    mini-batch and returns its loss; at the end of every epoch the trainer
    measures validation and held-out accuracy and appends a record to
    ``history``.  ``done`` becomes True after ``epochs`` epochs.  ``lr`` and
    ``batch_size`` may change between steps; everything else needs a new
    Trainer (the page's "applied from the next Start").

    ``seed`` fixes the initial weights, the shuffling, the dropout masks and the
    augmentation, each from its own stream: the same seed and options give the
    same run, bit for bit, on the same machine.
    """

    seed: int = DEFAULTS["seed"]
    epochs: int = DEFAULTS["epochs"]
    lr: float = DEFAULTS["lr"]
    batch_size: int = DEFAULTS["batch_size"]
    batch_norm: bool = DEFAULTS["batch_norm"]
    dropout: float = DEFAULTS["dropout"]
    augment: bool = DEFAULTS["augment"]
    init: str = DEFAULTS["init"]
    data: ChapterDigits = field(default_factory=load_chapter_digits)
    model: ChapterModel = field(init=False)
    step: int = field(init=False, default=0)
    seen: int = field(init=False, default=0)
    epochs_done: int = field(init=False, default=0)
    history: list = field(init=False, default_factory=list)
    last: dict = field(init=False, default_factory=dict)
    train_seconds: float = field(init=False, default=0.0)

    def __post_init__(self):
        if self.epochs < 1:
            raise InvalidArgument(f"epochs must be at least 1; got {self.epochs}")
        if self.batch_size < 1:
            raise InvalidArgument(f"batch_size must be at least 1; got {self.batch_size}")
        self.model = ChapterModel(self.batch_norm, self.dropout, self.seed, init=self.init)
        self.opt = Adam(self.model.params, lr=self.lr)
        self.shuffle_rng = np.random.default_rng([self.seed, 1])
        self.dropout_rng = np.random.default_rng([self.seed, 2])
        self.augment_rng = np.random.default_rng([self.seed, 3])
        self.order = self.shuffle_rng.permutation(len(self.data.y_train))
        self.cursor = 0
        self._epoch_sums = np.zeros(3)  # loss·n, correct, n over the current epoch

    # ----------------------------------------------------------------- progress

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The live parameter arrays by PyTorch name (copy before handing them to another thread)."""
        return self.model.params

    @property
    def epoch(self) -> float:
        """Passes over the fitted digits so far (fractional)."""
        return self.seen / len(self.data.y_train)

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.data.y_train) // self.batch_size)

    @property
    def done(self) -> bool:
        return self.epochs_done >= self.epochs

    def next_batch(self):
        """The next mini-batch (images, labels) of this epoch's shuffled order, augmented if asked."""
        idx = self.order[self.cursor:self.cursor + self.batch_size]
        self.cursor += len(idx)
        x = self.data.x_train[idx]
        if self.augment:
            x = augment_batch(x, self.augment_rng)
        return x, self.data.y_train[idx]

    def run_batch(self) -> float:
        """One Adam step on the next mini-batch; returns its loss (ends the epoch when the data runs out)."""
        t0 = time.perf_counter()
        x, y = self.next_batch()
        loss, grads, logits = self.model.loss_and_grads(x, y, self.dropout_rng)
        self.opt.lr = self.lr
        self.opt.step(self.model.params, grads)
        self.train_seconds += time.perf_counter() - t0
        self.step += 1
        self.seen += len(y)
        correct = int((logits.argmax(axis=1) == y).sum())
        self._epoch_sums += (loss * len(y), correct, len(y))
        self.last = {"step": self.step, "epoch": round(self.epoch, 4), "loss": loss, "accuracy": correct / len(y)}
        if self.cursor >= len(self.order):
            self.end_epoch()
        return loss

    def end_epoch(self) -> dict:
        """Close the epoch: record Keras's per-epoch numbers plus held-out accuracy, reshuffle."""
        loss_sum, correct, n = self._epoch_sums
        val_logits = self.model.logits(self.data.x_val)
        val_loss = softmax_cross_entropy(val_logits, self.data.y_val)[0] if len(val_logits) else float("nan")
        record = {
            "epoch": self.epochs_done + 1,
            "step": self.step,
            "loss": float(loss_sum / max(n, 1)),
            "accuracy": float(correct / max(n, 1)),
            "val_loss": float(val_loss),
            "val_accuracy": float((val_logits.argmax(axis=1) == self.data.y_val).mean()) if len(val_logits) else None,
            "test_accuracy": self.test_accuracy(),
            "train_seconds": round(self.train_seconds, 3),
        }
        self.history.append(record)
        self.epochs_done += 1
        self._epoch_sums[:] = 0
        self.order = self.shuffle_rng.permutation(len(self.data.y_train))
        self.cursor = 0
        return record

    def run_epoch(self) -> dict:
        """Steps until the current epoch ends; returns its record."""
        done = self.epochs_done
        while self.epochs_done == done:
            self.run_batch()
        return self.history[-1]

    def fit(self) -> list[dict]:
        """Train until ``epochs`` epochs are done; returns ``history``."""
        while not self.done:
            self.run_batch()
        return self.history

    def progress(self) -> dict:
        """Where the run stands, cheaply (no evaluation): the last step's numbers and the last epoch's record."""
        last_epoch = self.history[-1] if self.history else {}
        return {"step": self.step, "epoch": round(self.epoch, 4), "epochs": self.epochs, "done": self.done,
                "loss": self.last.get("loss"), "accuracy": self.last.get("accuracy"),
                "val_accuracy": last_epoch.get("val_accuracy"), "test_accuracy": last_epoch.get("test_accuracy"),
                "train_seconds": round(self.train_seconds, 3)}

    # ----------------------------------------------------------------- measurements

    def test_accuracy(self) -> float:
        """Accuracy on the fixed held-out digits (inference mode)."""
        return self.model.accuracy(self.data.x_test, self.data.y_test)

    def validation_accuracy(self) -> float:
        return self.model.accuracy(self.data.x_val, self.data.y_val)

    def train_loss(self, limit: int = 256) -> float:
        """Inference-mode cross-entropy on the first ``limit`` fitted digits (a steadier curve than batch losses).

        Costs about a forward pass of a batch of ``limit``; the per-step ``last`` and
        per-epoch ``history`` numbers cost nothing extra.
        """
        return softmax_cross_entropy(self.model.logits(self.data.x_train[:limit]), self.data.y_train[:limit])[0]

    def first_layer_filters(self) -> np.ndarray:
        return self.model.first_layer_filters()

    def augmented_strip(self, count: int = 8, index: int = 0, seed: int | None = None) -> np.ndarray:
        """``count`` augmented versions of fitted digit ``index`` (count, 28, 28), for the page's strip."""
        if not 0 <= index < len(self.data.y_train):
            raise InvalidArgument(f"index must be in [0, {len(self.data.y_train)}); got {index}")
        return augmented_strip(self.data.x_train[index], count, self.seed if seed is None else seed)


def warmup() -> float:
    """Compile (or load from Numba's cache) every kernel the chapter model uses; returns the seconds it took.

    One tiny training step with batch norm, dropout and augmentation, then
    inference and an input gradient, in float32 (training) and float64 (the
    finite-difference tests and any float64 inspection).  A server calls this
    at start-up so no request waits for the JIT.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    x = augment_batch(rng.random((2, CHAPTER_SIDE, CHAPTER_SIDE), dtype=np.float32), rng)
    for dtype in (np.float32, np.float64):
        model = ChapterModel(batch_norm=True, dtype=dtype)
        _, grads, _ = model.loss_and_grads(x, np.array([0, 1]), rng)
        Adam(model.params).step(model.params, grads)
        logits, cache = model.forward(x, train=False)
        model.backward(cache, np.ones_like(logits), input_grad=True, keep_grads=True)
    return time.perf_counter() - t0


__all__ = ["CLASSES", "DEFAULTS", "ChapterModel", "Gradients", "Trainer", "chapter_layers", "keras_code", "warmup"]
