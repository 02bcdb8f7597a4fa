"""app/arithmetic.py against the hand cases in tests/cases/shapes.json.

The same file is checked against static/js/shape.js in Chromium
(tests/e2e/test_conv_lab.py::test_shape_js_matches_hand_cases), so the page and
the server agree on every size, padding, receptive field and byte count the page
shows. ``conv_geometry`` (the page's whole-layer check) has no twin in
app.arithmetic: its cases are checked against app.arithmetic.conv_sizes and the
kernels' own ``conv_geometry``, so the page refuses exactly what the server would.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import arithmetic

CASES = json.loads((Path(__file__).parent / "cases" / "shapes.json").read_text())
FUNCTIONS = [name for name in CASES if not name.startswith("_") and name != "conv_geometry"]


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
        # JSON has no tuples: compare as the page would see the answer
        assert json.loads(json.dumps(fn(*args))) == case["out"]


@pytest.mark.parametrize("case", CASES["conv_geometry"], ids=lambda c: json.dumps(c["args"][0]))
def test_conv_geometry_case(case):
    from app.kernels.conv import conv_geometry

    g = {"stride": 1, "padding": 0, "dilation": 1, "mode": "zeros", **case["args"][0]}
    kh, kw = arithmetic.pair(g["kernel"])
    padding = g["padding"] if isinstance(g["padding"], str) else arithmetic.pair(g["padding"])
    stride, dilation = arithmetic.pair(g["stride"]), arithmetic.pair(g["dilation"])

    def server():
        return conv_geometry((1, g["h"], g["w"]), (1, 1, kh, kw), stride, padding, dilation, g["mode"], 1)

    if "error" in case:
        with pytest.raises(ValueError) as info:
            server()
        assert case["error"] in str(info.value)
    else:
        want = case["out"]
        sizes = arithmetic.conv_sizes(g["h"], g["w"], kh, kw, stride, padding, dilation)
        assert [sizes.oh, sizes.ow, list(sizes.pads)] == [want["hOut"], want["wOut"], want["pads"]]
        kernel = server()
        assert [kernel.oh, kernel.ow, list(kernel.pads)] == [want["hOut"], want["wOut"], want["pads"]]


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
