"""PyTorch vs TensorFlow/Keras padding and pooling semantics (app.labs.family.frameworks)."""
from math import ceil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import arithmetic
from app.labs.family.frameworks import (
    compare,
    tf_conv_axis,
    tf_pool_axis,
    tf_same_padding,
    torch_conv_axis,
    torch_pool_axis,
)


@pytest.mark.parametrize(
    "n, k, s, d, expected",
    [
        (7, 3, 2, 1, (4, 1, 1)),   # odd input: symmetric
        (8, 3, 2, 1, (4, 0, 1)),   # even input at stride 2: only bottom/right padded
        (5, 1, 2, 1, (3, 0, 0)),
        (6, 4, 1, 1, (6, 1, 2)),   # even kernel: the extra goes after
        (10, 3, 1, 2, (10, 2, 2)),
        (4, 5, 3, 1, (2, 2, 2)),
    ],
)
def test_tf_same_padding_hand_cases(n, k, s, d, expected):
    assert tf_same_padding(n, k, s, d) == expected


def test_torch_same_refuses_stride_and_pads_odd_extra_after():
    with pytest.raises(ValueError, match="strided"):
        torch_conv_axis(8, 3, 2, 1, "same")
    plan = torch_conv_axis(6, 4, 1, 1, "same")
    assert (plan.out, plan.pad_before, plan.pad_after) == (6, 1, 2)


def test_tf_refuses_stride_with_dilation():
    with pytest.raises(ValueError, match="dilation_rate"):
        tf_conv_axis(9, 3, 2, 2, "same")


def test_stride_two_same_differs_between_frameworks():
    # PyTorch's usual stand-in for "same" at stride 2 is padding=1: 8 → 4 either way,
    # but TF pads (0, 1) so its windows start one cell later.
    torch = torch_conv_axis(8, 3, 2, 1, 1)
    tf = tf_conv_axis(8, 3, 2, 1, "same")
    assert torch.out == tf.out == 4
    assert torch.starts == (-1, 1, 3, 5)
    assert tf.starts == (0, 2, 4, 6)


def test_valid_floor_drops_trailing_rows_and_stride_gaps_skip():
    plan = tf_conv_axis(7, 2, 3, 1, "valid")
    assert plan.out == 2 and plan.dropped == (5, 6) and plan.skipped == (2,)
    holes = torch_conv_axis(5, 2, 1, 3, "valid")
    assert holes.out == 2 and holes.skipped == (2,) and holes.dropped == ()


@pytest.mark.parametrize(
    "n, k, s, p, ceil_mode, out, overhang, dropped",
    [
        (5, 2, 2, 0, False, 2, 0, (4,)),
        (5, 2, 2, 0, True, 3, 1, ()),
        (4, 2, 2, 1, True, 3, 0, ()),
        (5, 3, 2, 1, True, 3, 0, ()),  # the 4th window would start in the right padding: removed
        (6, 3, 3, 0, True, 2, 0, ()),
    ],
)
def test_torch_pool_floor_and_ceil_mode(n, k, s, p, ceil_mode, out, overhang, dropped):
    plan = torch_pool_axis(n, k, s, p, ceil_mode)
    assert (plan.out, plan.overhang, plan.dropped) == (out, overhang, dropped)


def test_torch_pool_padding_limit():
    with pytest.raises(ValueError, match="at most half"):
        torch_pool_axis(6, 2, 2, 2)


def test_tf_pool_same_keeps_ceil():
    plan = tf_pool_axis(5, 2, 2, "same")
    assert (plan.out, plan.pad_before, plan.pad_after, plan.dropped) == (3, 0, 1, ())


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3), st.integers(0, 4))
def test_plans_agree_with_arithmetic(n, k, s, d, p):
    try:
        expected = arithmetic.conv_output_size(n, k, s, p, d)
    except ValueError:
        with pytest.raises(ValueError):
            torch_conv_axis(n, k, s, d, p)
        return
    plan = torch_conv_axis(n, k, s, d, p)
    assert plan.out == expected
    assert len(plan.dropped) == max(0, arithmetic.dropped_by_floor(n, k, s, p, d) - p)
    # windows never leave the padded input without ceil mode
    assert plan.starts[-1] + plan.span <= n + p and plan.overhang == 0
    if d == 1 or s == 1:
        tf = tf_conv_axis(n, k, s, d, "same")
        assert tf.out == ceil(n / s)
        assert 0 <= tf.pad_after - tf.pad_before <= 1
        assert tf.starts[-1] + tf.span <= n + tf.pad_after


def test_compare_rows_and_errors():
    rows = {r["id"]: r for r in compare(8, 7, kernel=3, stride=2, padding=1, pool_kernel=2)}
    assert rows["torch-conv-same"]["error"].startswith("PyTorch")
    assert rows["tf-conv-same"]["out"] == [4, 4]
    assert rows["tf-conv-same"]["h"]["pad_before"] == 0 and rows["tf-conv-same"]["w"]["pad_before"] == 1
    assert rows["torch-pool-floor"]["out"] == [4, 3] and rows["torch-pool-floor"]["w"]["dropped"] == [6]
    assert rows["torch-pool-ceil"]["out"] == [4, 4] and rows["torch-pool-ceil"]["w"]["overhang"] == 1
    assert "ceil_mode=True" in rows["torch-pool-ceil"]["code"]
