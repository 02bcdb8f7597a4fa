"""Network layers in NumPy around ConvLab's kernels, each forward beside its backward.

Every layer is a pair of plain functions (``dense``/``dense_backward``,
``batch_norm``/``batch_norm_backward``, ...) written from its equation, plus a
small layer object with the same two methods that ``Sequential`` strings
together.  Layers keep the dtype of their input (float32 for training, float64
for the finite-difference tests) and hold no parameters themselves: a model's
parameters live in one dict keyed the way PyTorch names them
(``conv1.weight``, ``bn1.running_var``, ...), so a state dict is that dict.

Nothing here imports web code.
"""
from .activation import ReLU, relu, relu_backward
from .batchnorm import BatchNorm2d, batch_norm, batch_norm_backward, batch_norm_inference
from .conv import Conv2d, MaxPool2d, conv2d_same, conv2d_same_backward, max_pool2, max_pool2_backward
from .dense import Dense, Flatten, dense, dense_backward
from .dropout import Dropout, dropout, dropout_backward, dropout_mask
from .init import INITS, glorot_uniform, torch_default_uniform
from .loss import log_softmax, softmax, softmax_cross_entropy
from .optim import SGD, Adam
from .sequential import Cache, Gradients, Layer, Sequential

__all__ = [
    "Adam",
    "BatchNorm2d",
    "Cache",
    "Conv2d",
    "Dense",
    "Dropout",
    "Flatten",
    "Gradients",
    "Layer",
    "MaxPool2d",
    "ReLU",
    "SGD",
    "Sequential",
    "batch_norm",
    "batch_norm_backward",
    "batch_norm_inference",
    "conv2d_same",
    "conv2d_same_backward",
    "dense",
    "dense_backward",
    "dropout",
    "dropout_backward",
    "dropout_mask",
    "log_softmax",
    "max_pool2",
    "max_pool2_backward",
    "relu",
    "relu_backward",
    "softmax",
    "softmax_cross_entropy",
    "torch_default_uniform",
    "glorot_uniform",
    "INITS",
]
