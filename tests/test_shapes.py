"""app/arithmetic.py against the hand cases in tests/cases/shapes.json.

The same file is checked against static/js/shape.js in Chromium
(tests/e2e/test_conv_lab.py::test_shape_js_matches_hand_cases), so the page and
the server agree on every output size the lab shows.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import arithmetic

CASES = json.loads((Path(__file__).parent / "cases" / "shapes.json").read_text())
FUNCTIONS = [name for name in CASES if not name.startswith("_")]


def _params():
    for name in FUNCTIONS:
        for i, case in enumerate(CASES[name]):
            yield pytest.param(name, case, id=f"{name}-{i}")


@pytest.mark.parametrize("name, case", list(_params()))
def test_hand_case(name, case):
    fn = getattr(arithmetic, name)
    args = [tuple(a) if isinstance(a, list) and name == "activation_bytes" else a for a in case["args"]]
    if "error" in case:
        with pytest.raises(ValueError) as info:
            fn(*args)
        assert case["error"] in str(info.value)
    else:
        out = fn(*args)
        expected = tuple(case["out"]) if isinstance(case["out"], list) else case["out"]
        assert out == expected


def test_dropped_by_floor_agrees_with_output_size():
    # The rows no window reaches are exactly the remainder of the floor division.
    for n in range(1, 20):
        for k in range(1, 6):
            for s in range(1, 5):
                for d in (1, 2):
                    if n < arithmetic.effective_kernel(k, d):
                        continue
                    assert arithmetic.dropped_by_floor(n, k, s, 0, d) == (n - arithmetic.effective_kernel(k, d)) % s


def test_layer_sizes_give_zero_where_the_window_does_not_fit():
    # What the routers size work with: no error, the kernel explains a misfit later.
    assert arithmetic.conv_sizes(5, 6, 3, 4, padding="same") == (5, 6, (1, 1, 1, 2))
    assert arithmetic.conv_sizes(4, 9, 3, 3, stride=2, dilation=(2, 1)) == (0, 4, (0, 0, 0, 0))
    assert arithmetic.pool_sizes(7, 6, (3, 2), padding=(1, 0)) == (3, 3, (1, 1, 0, 0))
