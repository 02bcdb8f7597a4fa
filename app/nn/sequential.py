"""A chain of named layers over one parameter dict: forward, backward, state dict.

Layers (``app.nn.dense.Dense``, ``app.nn.conv.Conv2d``, ...) are stateless
objects with a ``name`` and two methods::

    forward(p, x, train, rng)                        -> (y, saved)
    backward(p, saved, gy, input_grad, param_grads)  -> (gx or None, {local name: gradient})

``p`` maps the layer's local names (``weight``, ``bias``, ``running_mean``)
to the model's arrays, which live in ``Sequential.params`` (trained) and
``Sequential.buffers`` (running statistics) under PyTorch's dotted names
(``conv1.weight``).  The optimiser and ``load_state_dict`` write into those
arrays in place, so the layers' views never go stale.

``forward`` keeps every layer's output in ``Cache.outputs`` (in order), which is
what feature visualisation and Grad-CAM read; ``backward`` can start from any
layer's output and can keep the gradient with respect to every layer's output.
A training step that needs none of that passes ``record=False``: a ReLU
followed by a 2×2 max pool then runs as one ``ReLUMaxPool2d`` (pool first,
the same numbers) and the ReLU's full-size output is never made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from app.errors import InvalidArgument


class Layer:
    """Base of the layers: no parameters, no buffers, identity-shaped."""

    name: str = ""

    def param_shapes(self) -> dict[str, tuple]:
        """Trained arrays by local name (e.g. {"weight": (out, in), "bias": (out,)})."""
        return {}

    def buffer_shapes(self) -> dict[str, tuple]:
        """Arrays that are state but not trained (batch norm's running statistics)."""
        return {}

    def initial(self, rng: np.random.Generator, dtype) -> dict[str, np.ndarray]:
        """Fresh values for every parameter and buffer (as the layer's initialiser draws them)."""
        return {}

    def forward(self, p, x, train, rng):  # pragma: no cover - every layer overrides
        raise NotImplementedError

    def backward(self, p, saved, gy, input_grad, param_grads):  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


@dataclass
class Cache:
    """What one forward pass leaves for backward and for inspection.

    ``outputs[name]`` is layer ``name``'s output (N, ...) in forward order;
    ``input`` is the batch as the first layer saw it; ``train`` says which mode
    ran (dropout on, batch statistics) so backward differentiates the same
    function.
    """

    input: np.ndarray
    train: bool
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    saved: dict[str, object] = field(default_factory=dict)
    ran: dict[str, Layer] = field(default_factory=dict)   # the layer object that produced each output

    @property
    def last(self) -> str:
        return next(reversed(self.outputs))


class Gradients(NamedTuple):
    """Result of ``Sequential.backward``.

    ``params``: dL/dθ by dotted name (empty when ``param_grads=False``);
    ``input``: dL/dx for the input batch, or None unless ``input_grad=True``;
    ``activations``: dL/d(output of layer name), filled when ``keep_grads=True``.
    """

    params: dict[str, np.ndarray]
    input: np.ndarray | None
    activations: dict[str, np.ndarray]


class Sequential:
    """Layers applied in order; parameters and buffers in two dicts of dotted names."""

    def __init__(self, layers: list[Layer], seed: int = 0, dtype=np.float32):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidArgument(f"seed must be a non-negative integer; got {seed!r}")
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names) or not all(names):
            raise InvalidArgument(f"layer names must be unique and non-empty; got {names}")
        self.layers = list(layers)
        self.dtype = np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._views: dict[str, dict[str, np.ndarray]] = {}
        for index, layer in enumerate(self.layers):
            values = layer.initial(self._layer_rng(seed, index), self.dtype)
            for local, value in values.items():
                target = self.params if local in layer.param_shapes() else self.buffers
                target[f"{layer.name}.{local}"] = value
            self._views[layer.name] = {local: v for local, v in values.items()}

    @staticmethod
    def _layer_rng(seed: int, index: int) -> np.random.Generator:
        """One generator per (seed, layer): re-initialising a layer alone redraws the same values."""
        return np.random.default_rng([seed, index])

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InvalidArgument(f"no layer named {name!r}; the layers are {[l.name for l in self.layers]}")

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    # ----------------------------------------------------------------- passes

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator | None = None,
                upto: str | None = None, record: bool = True) -> tuple[np.ndarray, Cache]:
        """Run the layers on batch ``x``; stop after layer ``upto`` if given.

        ``train=True``: dropout draws its mask from ``rng`` and batch norm
        normalises by the batch and updates its running statistics.
        ``train=False``: dropout is the identity and batch norm uses the running
        statistics (inference mode).  ``record=False`` allows the fused
        ReLU → max-pool path (same result; ``cache.outputs`` then lacks those
        ReLUs' outputs).
        """
        from .activation import (
            ReLU,  # here, not at the top: those modules import Layer from this one
        )
        from .conv import MaxPool2d, ReLUMaxPool2d

        if upto is not None:
            self.layer(upto)
        h = np.ascontiguousarray(x, dtype=self.dtype)
        cache = Cache(input=h, train=train)
        layers = self.layers
        i = 0
        while i < len(layers):
            layer = layers[i]
            if (not record and upto is None and isinstance(layer, ReLU) and i + 1 < len(layers)
                    and isinstance(layers[i + 1], MaxPool2d)):
                layer = ReLUMaxPool2d(layers[i + 1].name)
                i += 1
            h, cache.saved[layer.name] = layer.forward(self._views.get(layer.name, {}), h, train, rng)
            cache.outputs[layer.name] = h
            cache.ran[layer.name] = layer
            if layer.name == upto:
                break
            i += 1
        return h, cache

    def backward(self, cache: Cache, grad: np.ndarray, start: str | None = None, input_grad: bool = False,
                 param_grads: bool = True, keep_grads: bool = False) -> Gradients:
        """Back-propagate ``grad`` = dL/d(output of layer ``start``) (default: the last layer run).

        ``input_grad`` asks for dL/dx of the input batch (saliency); without it
        the first layer skips that work.  ``param_grads=False`` skips every
        weight gradient (for input-only questions).  ``keep_grads`` keeps
        dL/d(output) of every layer passed, by layer name (Grad-CAM reads
        ``activations["relu2"]`` of the chapter model).
        """
        start = cache.last if start is None else start
        if start not in cache.outputs:
            raise InvalidArgument(f"layer {start!r} did not run in this forward pass; ran {list(cache.outputs)}")
        if np.shape(grad) != cache.outputs[start].shape:
            raise InvalidArgument(f"grad has shape {np.shape(grad)}; expected the output shape of {start!r}, "
                             f"{cache.outputs[start].shape}")
        names = list(cache.outputs)
        g = np.asarray(grad, dtype=self.dtype)
        params: dict[str, np.ndarray] = {}
        kept: dict[str, np.ndarray] = {}
        for i in range(names.index(start), -1, -1):
            name = names[i]
            if keep_grads:
                kept[name] = g
            layer = cache.ran[name]
            need_gx = i > 0 or input_grad
            gx, grads = layer.backward(self._views.get(name, {}), cache.saved[name], g, need_gx, param_grads)
            for local, value in grads.items():
                params[f"{name}.{local}"] = value
            g = gx
        return Gradients(params, g if input_grad else None, kept)

    # ----------------------------------------------------------------- state

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name, in layer order."""
        out = {}
        for layer in self.layers:
            for local in list(layer.param_shapes()) + list(layer.buffer_shapes()):
                key = f"{layer.name}.{local}"
                out[key] = (self.params.get(key) if key in self.params else self.buffers[key]).copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the model's arrays (in place); names and shapes must match exactly."""
        expected = set(self.params) | set(self.buffers)
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise InvalidArgument(f"state dict does not fit this model: missing {sorted(missing)}, "
                             f"unexpected {sorted(unexpected)}")
        for key, value in state.items():
            target = self.params[key] if key in self.params else self.buffers[key]
            value = np.asarray(value)
            if value.shape != target.shape:
                raise InvalidArgument(f"{key} has shape {value.shape}; the model's is {target.shape}")
            target[...] = value

    def reinitialize(self, names, seed: int) -> None:
        """Redraw the parameters and buffers of the named layers from their initialisers (in place)."""
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidArgument(f"seed must be a non-negative integer; got {seed!r}")
        for name in names:
            layer = self.layer(name)
            index = self.layers.index(layer)
            for local, value in layer.initial(self._layer_rng(seed, index), self.dtype).items():
                self._views[name][local][...] = value
