"""Occlusion sensitivity (Zeiler & Fergus 2014): cover a square of the digit, watch the probability drop.

A p×p patch of value ``fill`` slides over the side×side image with stride s.
The patch is a window like a convolution's kernel with no padding, so the map
has ⌊(side − p)/s⌋ + 1 cells per axis — eq. 36.4 again
(``app.arithmetic.conv_output_size``).  Cell (i, j) holds
p_target(x) − p_target(x with rows i·s…i·s+p−1, columns j·s…j·s+p−1 set to
fill): positive where covering the digit costs the class probability.  All
occluded copies go through the network as one batch.
"""
from __future__ import annotations

import numpy as np

from app.arithmetic import conv_output_size
from app.errors import InvalidArgument

from .network import InspectNet
from .saliency import predict, resolve_target, softmax

MAX_COPIES = 1024


def occlusion_size(side: int, patch: int, stride: int) -> int:
    """Cells per axis of the occlusion map (eq. 36.4 with no padding); ValueError with the numbers if empty."""
    if not 1 <= patch <= side:
        raise InvalidArgument(f"patch must be between 1 and {side} (the image is {side}×{side}); got {patch}")
    if stride < 1:
        raise InvalidArgument(f"stride must be at least 1; got {stride}")
    return conv_output_size(side, patch, stride)


def occluded_copies(image: np.ndarray, patch: int, stride: int, fill: float) -> np.ndarray:
    """(n·n, side, side): copy i·n + j has the patch at row i·stride, column j·stride set to ``fill``."""
    side = image.shape[0]
    n = occlusion_size(side, patch, stride)
    copies = np.repeat(image[None], n * n, axis=0)
    for i in range(n):
        for j in range(n):
            copies[i * n + j, i * stride:i * stride + patch, j * stride:j * stride + patch] = fill
    return copies


def occlusion(net: InspectNet, image, target: int | None = None, patch: int = 4, stride: int = 2,
              fill: float = 0.0) -> dict:
    """The occlusion map (n × n) for one image, with the prediction and n."""
    if not 0.0 <= fill <= 1.0:
        raise InvalidArgument(f"fill must lie in [0, 1] like the pixels; got {fill}")
    image = np.asarray(image, dtype=np.float64)
    p, predicted = predict(net, image)
    t = resolve_target(target, predicted, net.classes)
    n = occlusion_size(net.side, patch, stride)
    if n * n > MAX_COPIES:  # pragma: no cover - side 28 gives at most 784
        raise InvalidArgument(f"{n}×{n} occluded copies are more than {MAX_COPIES}; use a larger stride")
    probs = softmax(net.logits(occluded_copies(image, patch, stride, fill)).astype(np.float64))
    cells = (p[t] - probs[:, t]).reshape(n, n)
    return {"map": cells, "size": n, "probabilities": p, "predicted": predicted, "target": t}
