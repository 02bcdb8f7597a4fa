"""Translation equivariance of the kernels, as the Equivariance lab shows it."""
import numpy as np
import pytest

from app.labs.equivariance import compare, output_shift, shift, stride_sweep
from app.kernels import conv2d

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)


@pytest.fixture
def image():
    return np.random.default_rng(0).random((1, 24, 30), dtype=np.float32)


def test_shift_moves_content_and_fills_with_zeros():
    x = np.arange(12.0).reshape(1, 3, 4)
    s = shift(x, 1, -1, circular=False)
    assert s[0, 0].tolist() == [0, 0, 0, 0]
    assert s[0, 1].tolist() == [1, 2, 3, 0]
    assert np.array_equal(shift(x, 1, -1, circular=True), np.roll(x, (1, -1), axis=(1, 2)))
    assert not shift(x, 5, 0, circular=False).any()


def test_output_shift_rounds_to_the_nearest_output_cell():
    assert [output_shift(d, 2) for d in (-3, -2, -1, 0, 1, 2, 3, 4)] == [-2, -1, -1, 0, 1, 1, 2, 2]
    assert output_shift(5, 1) == 5


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 2), (-3, 5), (7, -4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_circular_padding_is_exactly_equivariant_on_the_whole_map(image, dy, dx, dtype):
    r = compare(image.astype(dtype), SOBEL, dy, dx, padding=1, padding_mode="circular")
    assert r["max_whole"] == 0.0  # exact, not approximately
    assert r["conv_shift"].dtype == dtype


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
def test_other_paddings_are_exact_in_the_interior_only(image, mode):
    r = compare(image, SOBEL, 2, -3, padding=1, padding_mode=mode)
    assert r["max_interior"] == 0.0
    assert r["max_whole"] > 0.1  # the border sees padding on one side and image on the other
    # The interior is the map minus a border of (kernel radius + shift) cells.
    ys, xs = np.nonzero(r["interior"])
    assert (ys.min(), ys.max()) == (2 + 1, 23 - 1) and (xs.min(), xs.max()) == (1, 29 - 3 - 1)


def test_equivariance_holds_for_random_kernels_and_dilation(image):
    rng = np.random.default_rng(1)
    for _ in range(5):
        k = rng.normal(size=(int(rng.integers(1, 6)), int(rng.integers(1, 6)))).astype(np.float32)
        r = compare(image, k, int(rng.integers(-4, 5)), int(rng.integers(-4, 5)), padding=0, dilation=2)
        assert r["interior_cells"] > 0 and r["max_interior"] == 0.0


def test_stride_breaks_equivariance_except_at_multiples_of_the_stride(image):
    rows = stride_sweep(image, SOBEL, range(0, 5), stride=2, padding=1, padding_mode="circular")
    by_shift = {r["dx"]: r for r in rows}
    for d in (0, 2, 4):
        assert by_shift[d]["exact_shift"] and by_shift[d]["max_whole"] == 0.0
    for d in (1, 3):
        assert not by_shift[d]["exact_shift"] and by_shift[d]["max_interior"] > 0.05


def test_stride_crops_the_image_to_a_multiple_of_the_stride():
    x = np.random.default_rng(2).random((1, 25, 31), dtype=np.float32)
    r = compare(x, SOBEL, 3, 3, stride=3, padding=1, padding_mode="circular")
    assert r["cropped"] == (24, 30) and r["max_whole"] == 0.0


def test_rgb_uses_the_kernel_on_the_channel_mean():
    x = np.random.default_rng(3).random((3, 10, 12), dtype=np.float32)
    r = compare(x, SOBEL, 0, 0, padding=1)
    expected = conv2d(x.mean(axis=0, keepdims=True), SOBEL[None, None], padding=1)[0]
    assert np.allclose(r["conv_shift"], expected, atol=1e-5)


def test_max_pooling_keeps_more_cells_unchanged_than_the_raw_map():
    # Blocky image: constant 4×4 tiles, so a one-pixel shift often keeps the window max.
    tiles = np.random.default_rng(4).random((1, 8, 8), dtype=np.float32)
    x = np.kron(tiles, np.ones((4, 4), dtype=np.float32))
    box = np.full((3, 3), 1 / 9, dtype=np.float32)
    r = compare(x, box, 1, 0, padding=1, pool=4)
    p = r["pool"]
    assert p["pooled"].shape == (8, 8)
    assert p["unchanged_after"] > p["unchanged_before"]
    assert 0.0 <= p["unchanged_before"] < 1.0


def test_bad_kernel_is_a_value_error(image):
    with pytest.raises(ValueError, match="kernel must be 2-dimensional"):
        compare(image, np.ones(3), 0, 0)


def test_api_circular_padding_gives_exactly_zero(client):
    body = {"image_id": "sample-square", "kernel": SOBEL.tolist(), "dy": 2, "dx": -3,
            "padding_mode": "circular", "pool": 2}
    r = client.post("/api/equivariance", json=body)
    assert r.status_code == 200
    j = r.json()
    assert j["max_whole"] == 0.0 and j["max_interior"] == 0.0
    assert len(j["diff"]) == j["output_shape"][0] and [row["dx"] for row in j["sweep"]] == [0, 1, 2]
    assert 0 <= j["pool_unchanged_after"] <= 1


def test_api_stride_and_bad_kernel(client):
    r = client.post("/api/equivariance", json={"image_id": "sample-square", "kernel": SOBEL.tolist(), "dx": 1,
                                               "stride": 2, "padding_mode": "zeros"})
    assert r.status_code == 200 and r.json()["exact_shift"] is False and r.json()["max_interior"] > 0
    r = client.post("/api/equivariance", json={"image_id": "sample-square", "kernel": [[1, 2], [3]]})
    assert r.status_code == 422 and "kernel" in r.json()["detail"]
