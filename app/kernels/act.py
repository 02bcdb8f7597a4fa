"""ReLU and its backward pass (element-wise; NumPy's ufuncs are already vectorised)."""
import numpy as np

from ._checks import as_float_array
from app.errors import InvalidArgument


def relu(x):
    """max(x, 0), element-wise, in the dtype of ``x`` (any shape)."""
    x = np.asarray(x)
    x = as_float_array(x, "x", x.ndim)
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(x, grad_output):
    """δ where x > 0, else 0 (the subgradient at 0 is taken as 0, as PyTorch does)."""
    x = np.asarray(x)
    x = as_float_array(x, "x", x.ndim)
    gy = as_float_array(grad_output, "grad_output", np.ndim(grad_output), x.dtype)
    if gy.shape != x.shape:
        raise InvalidArgument(f"grad_output has shape {tuple(gy.shape)}; expected the shape of x, {tuple(x.shape)}")
    return np.where(x > 0, gy, np.zeros((), dtype=x.dtype))
