"""The kernels the chapter names (section 36.7: Sobel x, Sobel y, the Laplacian) are the
same everywhere ConvLab uses them: the page's presets, the Backward lab's targets, the
Network lab's edge filters and learn-a-filter's hidden kernels."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from app.labs.backward.delta import TARGET_KERNELS
from app.labs.classroom.learn import HIDDEN
from app.labs.network.run import EDGE_KERNELS, EDGE_NAMES

# The chapter's matrices (row by row).
CHAPTER = {
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
}
PRESETS_JS = Path(__file__).resolve().parents[1] / "static" / "js" / "presets.js"


def page_preset(name: str) -> np.ndarray:
    """A 3×3 preset as written in static/js/presets.js (its `fixed` table)."""
    text = PRESETS_JS.read_text()
    key = f'"{name}"' if "-" in name else name
    found = re.search(rf"^\s*{re.escape(key)}:\s*(\[[^\]]*\])", text, re.M)
    assert found, f"{name} not in presets.js"
    return np.array(json.loads(found.group(1)), dtype=float).reshape(3, 3)


@pytest.mark.parametrize("name", sorted(CHAPTER))
def test_every_copy_of_a_chapter_kernel_is_the_chapters(name):
    want = np.array(CHAPTER[name], dtype=float)
    np.testing.assert_array_equal(page_preset(name), want)
    np.testing.assert_array_equal(TARGET_KERNELS[name.replace("-", "_")], want)
    np.testing.assert_array_equal(np.array(HIDDEN[name], dtype=float), want)
    title = {"sobel-x": "Sobel x", "sobel-y": "Sobel y", "laplacian": "Laplacian"}[name]
    np.testing.assert_array_equal(EDGE_KERNELS[EDGE_NAMES.index(title)], want)


def test_the_laplacian_of_the_bright_square_is_positive_on_its_edge():
    """The chapter's sign: +1.4 just inside the square's edge (0.85 − 0.15 = 0.7, times 2 at a corner)."""
    from app.imaging.samples import square
    from app.kernels import conv2d

    out = conv2d(square(), np.array(CHAPTER["laplacian"], dtype=np.float32)[None, None])[0]
    assert np.isclose(out.max(), 1.4, atol=1e-6) and np.isclose(out.min(), -0.7, atol=1e-6)
    assert np.isclose(out[3, 3], 1.4, atol=1e-6)  # the square's corner (4, 4) in valid coordinates
