"""A trained classifier as the Inside lab sees it: inference only, gradients with respect to inputs.

Every method of the lab asks the same three questions of a network: what it
outputs (and what each layer holds on the way), how a scalar read off some
layer changes with the pixels, and what happens when some of its layers are
re-drawn at random.  ``Inspectable`` names that interface; ``InspectNet``
implements it for both networks the Train lab trains, built from a state dict
(a copy of a run's weights):

- the chapter's classifier (PyTorch names ``conv1.weight`` … ``dense2.bias``,
  optionally ``bn1.*``/``bn2.*``), 28×28 inputs, Grad-CAM on 64×14×14;
- the small 8×8 network (``w1`` … ``b4``; ``w3``/``w4`` stored as (in, out)),
  8×8 inputs, Grad-CAM on 2F×4×4.

Both are the same stack — conv 3×3 same → [bn] → ReLU → max pool 2 → conv →
[bn] → ReLU → max pool 2 → flatten → dense → ReLU → [dropout] → dense — so one
implementation serves them.  It is always in inference mode: dropout is the
identity and batch norm the per-channel affine map of its running statistics.

Why not ``app.nn.Sequential``'s backward?  Training needs every weight
gradient; inspection needs none, only dL/dx.  The input gradient of a 3×3
'same' convolution is itself a 'same' convolution of δ with the kernel flipped
in space and transposed in channels (chapter eq. 36.10), so it runs through the
same fast batched forward kernel, and no weight gradient is ever computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.errors import InvalidArgument
from app.kernels import conv2d_batch, pool2d_batch, pool2d_batch_backward

BN_EPS = 1e-5   # PyTorch's BatchNorm2d default, as app.nn.batchnorm
CHUNK = 32      # images per pass: 32 chapter-sized activations stay in cache (64 or 128 ran ~1.6× slower)


# --------------------------------------------------------------------------- the interface


class Inspectable(Protocol):
    """What the Inside lab's methods need from a trained classifier."""

    side: int             # input images are side × side, values in [0, 1]
    classes: int
    model: str            # "small" or "chapter"
    layer_names: list     # every layer in forward order (conv1, [bn1], relu1, pool1, ...)
    cam_layer: str        # Grad-CAM's A: the last conv block's output after its ReLU, before pooling

    def forward(self, x: np.ndarray, upto: str | None = None) -> "Pass": ...

    def backward(self, trace: "Pass", grad: np.ndarray, start: str | None = None,
                 keep: tuple = ()) -> tuple[np.ndarray, dict]: ...

    def randomised(self, layers, seed: int) -> "Inspectable": ...


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class Layer:
    """One step of the stack; ``arrays`` holds its weights (none for relu/pool/flatten)."""

    name: str
    kind: str                           # conv | bn | relu | pool | flatten | dense
    arrays: dict = field(default_factory=dict)

    @property
    def units(self) -> int:
        """Output channels (conv, bn) or units (dense); 0 for layers without weights."""
        if self.kind in ("conv", "dense"):
            return int(self.arrays["weight"].shape[0])
        if self.kind == "bn":
            return int(self.arrays["weight"].shape[0])
        return 0


@dataclass
class Pass:
    """One inference-mode forward pass: each layer's output (N, ...) by name, plus what backward needs."""

    input: np.ndarray                   # (N, 1, side, side)
    outputs: dict = field(default_factory=dict)
    saved: dict = field(default_factory=dict)

    @property
    def last(self) -> str:
        return next(reversed(self.outputs))


def _flip_for_input_grad(weight: np.ndarray) -> np.ndarray:
    """W (F, C, k, k) → W' (C, F, k, k) with W'[c, f, u, v] = W[f, c, k−1−u, k−1−v] (eq. 36.10's kernel)."""
    return np.ascontiguousarray(weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def _bn_affine(arrays: dict, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Inference batch norm as y = x·scale + shift per channel (running statistics)."""
    scale = arrays["weight"] / np.sqrt(arrays["running_var"] + BN_EPS)
    shift = arrays["bias"] - arrays["running_mean"] * scale
    return scale.astype(dtype), shift.astype(dtype)


def _per_channel(v: np.ndarray) -> np.ndarray:
    return v.reshape(1, -1, 1, 1)


# --------------------------------------------------------------------------- the network


class InspectNet:
    """The conv–pool–conv–pool–dense–dense classifier in inference mode (see the module docstring).

    ``forward(x, upto)`` keeps every layer's output; ``backward(trace, grad,
    start, keep)`` returns dL/dx (N, side, side) for grad = dL/d(output of
    ``start``) and dL/d(output of each layer in ``keep``).  Immutable once
    built, so threads may share one.
    """

    def __init__(self, layers: list[Layer], side: int, model: str, init: str, dtype=np.float32):
        self.layers = list(layers)
        self.side = int(side)
        self.model = model
        self.init = init                       # "torch" (uniform ±1/√fan_in) or "he" (normal, √(2/fan_in))
        self.dtype = np.dtype(dtype)
        self.classes = self.layers[-1].units
        self._by_name = {layer.name: layer for layer in self.layers}
        self._derived = {}
        for layer in self.layers:
            if layer.kind == "conv":
                self._derived[layer.name] = _flip_for_input_grad(layer.arrays["weight"])
            elif layer.kind == "bn":
                self._derived[layer.name] = _bn_affine(layer.arrays, self.dtype)
        # Grad-CAM's layer: the ReLU right before the last pool (the last conv block's output).
        last_pool = max(i for i, layer in enumerate(self.layers) if layer.kind == "pool")
        self.cam_layer = self.layers[last_pool - 1].name

    def __repr__(self) -> str:
        return f"InspectNet({self.model}, side={self.side}, layers={self.layer_names})"

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def layer(self, name: str) -> Layer:
        if name not in self._by_name:
            raise InvalidArgument(f"no layer named {name!r}; the layers are {self.layer_names}")
        return self._by_name[name]

    def weighted_layers(self) -> list[str]:
        """Layers with weights, input side first (conv1, [bn1], conv2, [bn2], dense1, dense2)."""
        return [layer.name for layer in self.layers if layer.arrays]

    def state(self) -> dict[str, np.ndarray]:
        """The weights by PyTorch name (``conv1.weight``, ``bn1.running_var``, ...)."""
        return {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.arrays.items()}

    # ----------------------------------------------------------------- passes

    def as_batch(self, x) -> np.ndarray:
        """(side, side), (N, side, side) or (N, 1, side, side) → (N, 1, side, side) in the net's dtype."""
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[None]
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != (1, self.side, self.side):
            raise InvalidArgument(f"the {self.model} model takes {self.side}×{self.side} images; got shape {x.shape}")
        return np.ascontiguousarray(x, dtype=self.dtype)

    def forward(self, x, upto: str | None = None) -> Pass:
        """Run the layers (inference mode) on a batch; stop after ``upto`` if given."""
        if upto is not None:
            self.layer(upto)
        h = self.as_batch(x)
        trace = Pass(input=h)
        for layer in self.layers:
            h = self._forward_layer(layer, h, trace)
            trace.outputs[layer.name] = h
            if layer.name == upto:
                break
        return trace

    def _forward_layer(self, layer: Layer, h: np.ndarray, trace: Pass) -> np.ndarray:
        a = layer.arrays
        if layer.kind == "conv":
            # Eq. 36.3, 3×3 'same': stride 1, one cell of zero padding.
            return conv2d_batch(h, a["weight"], a["bias"], padding=a["weight"].shape[-1] // 2)
        if layer.kind == "bn":
            scale, shift = self._derived[layer.name]
            return h * _per_channel(scale) + _per_channel(shift)
        if layer.kind == "relu":
            return np.maximum(h, 0)
        if layer.kind == "pool":
            y, argmax = pool2d_batch(h, "max", 2)
            trace.saved[layer.name] = (h, argmax)
            return y
        if layer.kind == "flatten":
            return h.reshape(len(h), -1)          # (C, H, W) order, as PyTorch and the small model flatten
        if layer.kind == "dense":
            return h @ a["weight"].T + a["bias"]
        raise InvalidArgument(f"unknown layer kind {layer.kind!r}")  # pragma: no cover - built here only

    def backward(self, trace: Pass, grad, start: str | None = None, keep=()) -> tuple[np.ndarray, dict]:
        """dL/dx (N, side, side) for ``grad`` = dL/d(output of ``start``) (default: the logits).

        ``keep`` names layers whose output gradient to return as well, e.g.
        Grad-CAM's ``cam_layer``.  Every step is the input gradient of its layer
        only; no weight gradient is formed.
        """
        start = trace.last if start is None else start
        if start not in trace.outputs:
            raise InvalidArgument(f"layer {start!r} did not run in this forward pass; ran {list(trace.outputs)}")
        g = np.asarray(grad, dtype=self.dtype)
        if g.shape != trace.outputs[start].shape:
            raise InvalidArgument(f"grad has shape {g.shape}; the output of {start!r} is {trace.outputs[start].shape}")
        names = list(trace.outputs)
        kept = {}
        for i in range(names.index(start), -1, -1):
            name = names[i]
            if name in keep:
                kept[name] = g
            g = self._backward_layer(self._by_name[name], trace, names, i, g)
        return g[:, 0], kept

    def _backward_layer(self, layer: Layer, trace: Pass, names: list, i: int, g: np.ndarray) -> np.ndarray:
        if layer.kind == "conv":
            # Eq. 36.10: the full convolution of δ with the flipped kernel, here a 'same'
            # cross-correlation with W' (channels swapped, taps reversed).
            return conv2d_batch(g, self._derived[layer.name], None, padding=layer.arrays["weight"].shape[-1] // 2)
        if layer.kind == "bn":
            return g * _per_channel(self._derived[layer.name][0])
        if layer.kind == "relu":
            return g * (trace.outputs[layer.name] > 0)
        if layer.kind == "pool":
            x, argmax = trace.saved[layer.name]
            return pool2d_batch_backward(x, np.ascontiguousarray(g), "max", 2, argmax=argmax)
        if layer.kind == "flatten":
            before = trace.outputs[names[i - 1]] if i > 0 else trace.input
            return g.reshape(before.shape)
        if layer.kind == "dense":
            return g @ layer.arrays["weight"]
        raise InvalidArgument(f"unknown layer kind {layer.kind!r}")  # pragma: no cover

    def logits(self, x, batch: int = CHUNK) -> np.ndarray:
        """Inference-mode logits (N, classes), ``batch`` images at a time."""
        x = self.as_batch(x)
        out = [self.forward(x[i:i + batch]).outputs[self.layers[-1].name] for i in range(0, len(x), batch)]
        return np.concatenate(out) if out else np.zeros((0, self.classes), self.dtype)

    # ----------------------------------------------------------------- randomisation

    def randomised(self, layers, seed: int) -> "InspectNet":
        """A copy whose named layers are re-drawn as at initialisation (the rest shared, read-only).

        Conv and dense weights and biases come from the model's own initialiser;
        a batch-norm layer goes back to its initial state (γ = 1, β = 0, running
        mean 0, variance 1).  ``seed`` and the layer's position fix the draw.
        """
        names = set(layers)
        for name in names:
            self.layer(name)
        fresh = []
        for index, layer in enumerate(self.layers):
            if layer.name in names and layer.arrays:
                rng = np.random.default_rng([seed, index])
                layer = Layer(layer.name, layer.kind, self._initial(layer, rng))
            fresh.append(layer)
        return InspectNet(fresh, self.side, self.model, self.init, self.dtype)

    def _initial(self, layer: Layer, rng: np.random.Generator) -> dict:
        a = layer.arrays
        if layer.kind == "bn":
            c = a["weight"].shape[0]
            ones, zeros = np.ones(c, self.dtype), np.zeros(c, self.dtype)
            return {"weight": ones, "bias": zeros, "running_mean": zeros.copy(), "running_var": ones.copy()}
        w = a["weight"]
        fan_in = int(np.prod(w.shape[1:]))
        if self.init == "he":
            weight = rng.standard_normal(w.shape) * np.sqrt(2.0 / fan_in)
            bias = np.zeros(a["bias"].shape)
        else:
            bound = 1.0 / np.sqrt(fan_in)
            weight = rng.uniform(-bound, bound, w.shape)
            bias = rng.uniform(-bound, bound, a["bias"].shape)
        return {"weight": weight.astype(self.dtype), "bias": bias.astype(self.dtype)}


# --------------------------------------------------------------------------- building from a state dict


def _frozen(arrays: dict, dtype) -> dict:
    out = {}
    for k, v in arrays.items():
        a = np.array(v, dtype=dtype)      # a private copy
        a.setflags(write=False)
        out[k] = a
    return out


def from_chapter_state(state: dict, dtype=np.float32) -> InspectNet:
    """The chapter's classifier from its state dict (PyTorch names; batch norm when ``bn1.*`` is present)."""
    need = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "dense1.weight", "dense1.bias",
            "dense2.weight", "dense2.bias"]
    missing = [k for k in need if k not in state]
    if missing:
        raise InvalidArgument(f"not a chapter-model state dict: missing {missing}")

    def arrays(prefix, keys=("weight", "bias")):
        return _frozen({k: state[f"{prefix}.{k}"] for k in keys}, dtype)

    bn_keys = ("weight", "bias", "running_mean", "running_var")
    batch_norm = "bn1.weight" in state
    layers = [Layer("conv1", "conv", arrays("conv1"))]
    layers += [Layer("bn1", "bn", arrays("bn1", bn_keys))] if batch_norm else []
    layers += [Layer("relu1", "relu"), Layer("pool1", "pool"), Layer("conv2", "conv", arrays("conv2"))]
    layers += [Layer("bn2", "bn", arrays("bn2", bn_keys))] if batch_norm else []
    layers += [Layer("relu2", "relu"), Layer("pool2", "pool"), Layer("flatten", "flatten"),
               Layer("dense1", "dense", arrays("dense1")), Layer("relu3", "relu"),
               Layer("dense2", "dense", arrays("dense2"))]
    side = 4 * int(round(np.sqrt(state["dense1.weight"].shape[1] / state["conv2.weight"].shape[0])))
    return InspectNet(layers, side, "chapter", "torch", dtype)


def from_small_params(params: dict, dtype=np.float32) -> InspectNet:
    """The Train lab's 8×8 network from its params (``w1`` … ``b4``; dense weights stored (in, out))."""
    missing = [k for k in ("w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4") if k not in params]
    if missing:
        raise InvalidArgument(f"not a small-model parameter dict: missing {missing}")
    p = params
    layers = [
        Layer("conv1", "conv", _frozen({"weight": p["w1"], "bias": p["b1"]}, dtype)),
        Layer("relu1", "relu"), Layer("pool1", "pool"),
        Layer("conv2", "conv", _frozen({"weight": p["w2"], "bias": p["b2"]}, dtype)),
        Layer("relu2", "relu"), Layer("pool2", "pool"), Layer("flatten", "flatten"),
        Layer("dense1", "dense", _frozen({"weight": np.asarray(p["w3"]).T, "bias": p["b3"]}, dtype)),
        Layer("relu3", "relu"),
        Layer("dense2", "dense", _frozen({"weight": np.asarray(p["w4"]).T, "bias": p["b4"]}, dtype)),
    ]
    side = 4 * int(round(np.sqrt(p["w3"].shape[0] / p["w2"].shape[0])))
    return InspectNet(layers, side, "small", "he", dtype)


def from_state(state: dict, dtype=np.float32) -> InspectNet:
    """Either model, recognised by its parameter names."""
    if "w1" in state:
        return from_small_params(state, dtype)
    if "conv1.weight" in state:
        return from_chapter_state(state, dtype)
    raise InvalidArgument(f"unrecognised weights: expected the small model's w1…b4 or the chapter model's "
                     f"conv1.weight…; got {sorted(state)[:6]}")
