"""The Inside lab: every method against an independent slow reference.

References first (plain NumPy from the definitions, no ConvLab kernels), then
the network, each method, the sanity check, feature visualisation, the
held-out pass, the cache and the HTTP endpoints.  Tiny float64 models keep
central finite differences exact to ~1e-8.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.labs.inside import confusion, featurevis, fgsm, gradcam, network, occlusion, sanity, saliency, smoothgrad
from app.labs.inside.service import InsideLab, digit_from, fingerprint
from app.labs.train import small

# --------------------------------------------------------------------------- slow references


def naive_conv_same(x, w, b):
    """'same' 3×3 cross-correlation of one image, eq. 36.3 written as loops over taps: x (C, H, W)."""
    c_out, c_in, k, _ = w.shape
    _, h, wd = x.shape
    xp = np.zeros((c_in, h + 2, wd + 2))
    xp[:, 1:-1, 1:-1] = x
    y = np.zeros((c_out, h, wd))
    for f in range(c_out):
        y[f] += b[f]
        for c in range(c_in):
            for u in range(k):
                for v in range(k):
                    y[f] += w[f, c, u, v] * xp[c, u:u + h, v:v + wd]
    return y


def naive_pool(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def naive_forward(state, image, upto=None):
    """The chapter-shaped stack in inference mode, from the state dict; returns {layer: output}."""
    out = {}
    h = np.asarray(image, np.float64)[None]
    for block in (1, 2):
        h = naive_conv_same(h, state[f"conv{block}.weight"], state[f"conv{block}.bias"])
        out[f"conv{block}"] = h
        if f"bn{block}.weight" in state:
            g, be = state[f"bn{block}.weight"], state[f"bn{block}.bias"]
            mu, var = state[f"bn{block}.running_mean"], state[f"bn{block}.running_var"]
            h = (h - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * g[:, None, None] + be[:, None, None]
            out[f"bn{block}"] = h
        h = np.maximum(h, 0)
        out[f"relu{block}"] = h
        h = naive_pool(h)
        out[f"pool{block}"] = h
    h = h.ravel()
    h = state["dense1.weight"] @ h + state["dense1.bias"]
    out["dense1"] = h
    h = np.maximum(h, 0)
    out["dense2"] = state["dense2.weight"] @ h + state["dense2.bias"]
    return out


def naive_softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def central_difference(f, x, h=1e-6):
    """∂f/∂x by (f(x + h) − f(x − h)) / 2h for every element of x (float64)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (f(xp) - f(xm)) / (2 * h)
    return g


def tiny_chapter_state(seed=0, batch_norm=False, c1=3, c2=4, hidden=6):
    """A chapter-shaped model with few channels (28×28 input, same layer names), float64."""
    rng = np.random.default_rng(seed)
    s = {
        "conv1.weight": rng.normal(0, 0.5, (c1, 1, 3, 3)), "conv1.bias": rng.normal(0, 0.1, c1),
        "conv2.weight": rng.normal(0, 0.3, (c2, c1, 3, 3)), "conv2.bias": rng.normal(0, 0.1, c2),
        "dense1.weight": rng.normal(0, 0.1, (hidden, c2 * 49)), "dense1.bias": rng.normal(0, 0.1, hidden),
        "dense2.weight": rng.normal(0, 0.5, (10, hidden)), "dense2.bias": rng.normal(0, 0.1, 10),
    }
    if batch_norm:
        for name, c in (("bn1", c1), ("bn2", c2)):
            s[f"{name}.weight"] = rng.uniform(0.5, 1.5, c)
            s[f"{name}.bias"] = rng.normal(0, 0.1, c)
            s[f"{name}.running_mean"] = rng.normal(0, 0.2, c)
            s[f"{name}.running_var"] = rng.uniform(0.5, 2.0, c)
    return s


def digit(seed=0, side=28):
    """A blurry stroke-like image in [0, 1] (never exactly at a ReLU kink in practice)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((side, side))
    m = side // 7
    img[m:-m, side // 2 - m // 2:side // 2 + m // 2 + 1] = 0.9
    return np.clip(img + rng.uniform(0, 0.1, img.shape), 0, 1)


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "batchnorm"])
def tiny(request):
    state = tiny_chapter_state(batch_norm=request.param)
    return state, network.from_chapter_state(state, dtype=np.float64)


@pytest.fixture(scope="module")
def trained_small():
    """The 8×8 network after a few seconds of training (float32, as a run holds it)."""
    trainer = small.Trainer(filters=8, seed=0)
    acc, _, _ = small.train_until(trainer, target=0.9, max_seconds=60)
    assert acc >= 0.85
    return trainer.params


# --------------------------------------------------------------------------- the network


def test_forward_matches_the_naive_stack(tiny):
    state, net = tiny
    x = digit(1)
    ref = naive_forward(state, x)
    trace = net.forward(x)
    for name in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "dense1", "dense2"):
        np.testing.assert_allclose(trace.outputs[name][0], ref[name], atol=1e-10, err_msg=name)
    assert net.cam_layer == "relu2" and net.side == 28 and net.model == "chapter"


def test_small_model_matches_the_train_labs_forward():
    params = small.init_params(4, 8, seed=2, dtype=np.float64)
    net = network.from_small_params(params, dtype=np.float64)
    x = np.random.default_rng(0).random((6, 8, 8))
    np.testing.assert_allclose(net.logits(x), small.forward(params, x)[0], atol=1e-12)
    assert (net.side, net.cam_layer, net.model) == (8, "relu2", "small")
    assert net.forward(x[:1]).outputs["relu2"].shape == (1, 8, 4, 4)


def test_chapter_model_agrees_with_app_nn_sequential_in_inference_mode():
    """The same weights in app.nn's layers (a second implementation) give the same logits and input gradient."""
    from app.nn import BatchNorm2d, Conv2d, Dense, Dropout, Flatten, MaxPool2d, ReLU, Sequential

    layers = [Conv2d("conv1", 1, 3), BatchNorm2d("bn1", 3), ReLU("relu1"), MaxPool2d("pool1"), Conv2d("conv2", 3, 4),
              BatchNorm2d("bn2", 4), ReLU("relu2"), MaxPool2d("pool2"), Flatten("flatten"), Dense("dense1", 196, 6),
              ReLU("relu3"), Dropout("dropout", 0.5), Dense("dense2", 6, 10)]
    seq = Sequential(layers, dtype=np.float64)
    state = tiny_chapter_state(3, batch_norm=True)
    seq.load_state_dict(state)
    net = network.from_chapter_state(seq.state_dict(), dtype=np.float64)
    x = np.stack([digit(4), digit(5)])[:, None]
    logits, cache = seq.forward(x, train=False)
    np.testing.assert_allclose(net.logits(x), logits, atol=1e-12)
    seed = np.zeros_like(logits)
    seed[:, 7] = 1
    ref = seq.backward(cache, seed, input_grad=True).input[:, 0]
    np.testing.assert_allclose(saliency.logit_gradient(net, x, 7)[0], ref, atol=1e-12)


def test_bad_images_and_states_are_refused_with_a_message():
    net = network.from_chapter_state(tiny_chapter_state(), dtype=np.float64)
    with pytest.raises(ValueError, match="28×28"):
        net.forward(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="unrecognised weights"):
        network.from_state({"foo": np.zeros(3)})
    with pytest.raises(ValueError, match="target must be a class"):
        saliency.saliency(net, digit(), target=10)
    with pytest.raises(ValueError, match="pixels: values must lie in"):
        digit_from(net, pixels=np.full((28, 28), 1.5))
    with pytest.raises(ValueError, match="either pixels"):
        digit_from(net)


# --------------------------------------------------------------------------- saliency and SmoothGrad


@pytest.mark.parametrize("target", [None, 4])
def test_saliency_is_the_input_gradient_by_central_differences(tiny, target):
    state, net = tiny
    x = digit(2)
    out = saliency.saliency(net, x, target)
    t = out["target"]
    ref_logits = naive_forward(state, x)["dense2"]
    assert t == (int(np.argmax(ref_logits)) if target is None else target)
    numeric = central_difference(lambda z: naive_forward(state, z)["dense2"][t], x)
    assert np.abs(out["map"] - numeric).max() < 1e-7
    assert np.abs(numeric).max() > 1e-3            # a real signal, not zeros agreeing with zeros
    np.testing.assert_allclose(out["probabilities"], naive_softmax(ref_logits), atol=1e-12)


def test_saliency_of_the_small_model_matches_central_differences():
    params = small.init_params(4, 8, seed=5, dtype=np.float64)
    net = network.from_small_params(params, dtype=np.float64)
    x = np.random.default_rng(3).random((8, 8))
    out = saliency.saliency(net, x, 2)
    numeric = central_difference(lambda z: small.forward(params, z[None])[0][0, 2], x)
    assert np.abs(out["map"] - numeric).max() < 1e-8


def test_smoothgrad_is_the_mean_saliency_of_the_same_noisy_copies(tiny):
    _, net = tiny
    x = digit(3)
    out = smoothgrad.smoothgrad(net, x, target=1, samples=6, noise=0.2, seed=9)
    copies = smoothgrad.noisy_copies(x, 6, 0.2, 9)
    one_by_one = np.mean([saliency.saliency(net, c, 1)["map"] for c in copies], axis=0)
    np.testing.assert_allclose(out["map"], one_by_one, atol=1e-12)
    # σ = 0: every copy is the image, so SmoothGrad is saliency
    np.testing.assert_allclose(smoothgrad.smoothgrad(net, x, 1, 3, 0.0)["map"], saliency.saliency(net, x, 1)["map"],
                               atol=1e-12)
    with pytest.raises(ValueError, match="samples"):
        smoothgrad.smoothgrad(net, x, samples=0)


# --------------------------------------------------------------------------- Grad-CAM


def head_logit(state, pooled, t):
    """logit_t as a function of pool2's output (C, 7, 7): flatten → dense → ReLU → dense."""
    h = np.maximum(state["dense1.weight"] @ pooled.ravel() + state["dense1.bias"], 0)
    return (state["dense2.weight"] @ h + state["dense2.bias"])[t]


def test_gradcam_is_relu_of_gradient_weighted_maps(tiny):
    """α_k = mean over A_k's cells of ∂ logit / ∂A_k.  Max pooling hands each window's δ to one cell
    (which one, among tied zeros, does not change the sum), so Σ over A_k's cells of ∂ logit / ∂A_k is
    the sum of ∂ logit / ∂ pool2_k, taken here by central differences through the dense head."""
    state, net = tiny
    x = digit(4)
    out = gradcam.gradcam(net, x, target=3)
    ref = naive_forward(state, x)
    a = ref["relu2"]                                                              # (C, 14, 14)
    d_pool = central_difference(lambda z: head_logit(state, z, 3), ref["pool2"])  # (C, 7, 7)
    alpha = d_pool.sum(axis=(1, 2)) / (14 * 14)
    expected = np.maximum((alpha[:, None, None] * a).sum(axis=0), 0)
    assert out["map"].shape == (14, 14) and out["layer"] == "relu2"
    assert np.abs(alpha).max() > 1e-4
    np.testing.assert_allclose(out["weights"], alpha, atol=1e-8)
    np.testing.assert_allclose(out["map"], expected, atol=1e-8)


# --------------------------------------------------------------------------- occlusion


@settings(max_examples=25, deadline=None)
@given(side=st.sampled_from([8, 28]), patch=st.integers(1, 12), stride=st.integers(1, 9))
def test_occlusion_map_size_is_eq_36_4(side, patch, stride):
    if patch > side:
        with pytest.raises(ValueError, match="patch"):
            occlusion.occlusion_size(side, patch, stride)
        return
    assert occlusion.occlusion_size(side, patch, stride) == (side - patch) // stride + 1
    copies = occlusion.occluded_copies(np.ones((side, side)), patch, stride, 0.0)
    n = (side - patch) // stride + 1
    assert copies.shape == (n * n, side, side)
    assert (copies == 0).sum(axis=(1, 2)).tolist() == [patch * patch] * (n * n)


@pytest.mark.parametrize("patch, stride, fill", [(4, 2, 0.0), (7, 7, 0.5), (3, 5, 1.0)])
def test_occlusion_matches_the_definition_cell_by_cell(tiny, patch, stride, fill):
    state, net = tiny
    x = digit(5)
    out = occlusion.occlusion(net, x, target=6, patch=patch, stride=stride, fill=fill)
    p0 = naive_softmax(naive_forward(state, x)["dense2"])[6]
    n = (28 - patch) // stride + 1
    assert out["map"].shape == (n, n) and out["size"] == n
    for i in range(n):
        for j in range(n):
            covered = x.copy()
            for r in range(i * stride, i * stride + patch):
                for c in range(j * stride, j * stride + patch):
                    covered[r, c] = fill
            expected = p0 - naive_softmax(naive_forward(state, covered)["dense2"])[6]
            assert abs(out["map"][i, j] - expected) < 1e-10


# --------------------------------------------------------------------------- FGSM


def cross_entropy(state, x, y):
    return -np.log(naive_softmax(naive_forward(state, x)["dense2"])[y])


@pytest.mark.parametrize("label", [None, 2])
def test_fgsm_steps_by_epsilon_times_the_sign_of_the_loss_gradient(tiny, label):
    state, net = tiny
    x = digit(6)
    out = fgsm.fgsm(net, x, epsilon=0.07, label=label)
    y = int(np.argmax(naive_forward(state, x)["dense2"])) if label is None else label
    assert out["label"] == y
    g = central_difference(lambda z: cross_entropy(state, z, y), x)
    clear = np.abs(g) > 1e-6                      # where the sign is not in doubt
    assert clear.mean() > 0.5
    expected = np.clip(x + 0.07 * np.sign(g), 0, 1)
    np.testing.assert_allclose(out["adversarial"][clear], expected[clear], atol=1e-12)
    np.testing.assert_allclose(out["perturbation"], out["adversarial"] - x, atol=1e-15)
    assert np.abs(out["perturbation"]).max() <= 0.07 + 1e-12
    np.testing.assert_allclose(out["probabilities_after"],
                               naive_softmax(naive_forward(state, out["adversarial"])["dense2"]), atol=1e-12)
    # the step raises the loss it climbs
    assert cross_entropy(state, out["adversarial"], y) > cross_entropy(state, x, y)
    with pytest.raises(ValueError, match="epsilon"):
        fgsm.fgsm(net, x, epsilon=1.5)


def test_accuracy_curve_equals_one_digit_at_a_time(trained_small):
    net = network.from_small_params(trained_small)
    images, labels = confusion.heldout("small")
    images, labels = images[:60], labels[:60]
    eps = [0.0, 0.05, 0.2]
    curve = fgsm.accuracy_curve(net, images, labels, eps)
    for e, acc in zip(eps, curve):
        one = [fgsm.fgsm(net, images[i], e, int(labels[i]))["predicted_after"] == labels[i] for i in range(60)]
        assert acc == pytest.approx(np.mean(one))
    assert curve[0] == pytest.approx(float((net.logits(images).argmax(1) == labels).mean()))
    assert curve[-1] < curve[0]                   # a trained network is fooled by ε = 0.2
    events = list(fgsm.curve_steps(net, images, labels, eps))
    chunks = -(-60 // network.CHUNK)
    assert [e["stage"] for e in events] == ["gradient"] * chunks + ["epsilon"] * 3
    assert [e["done"] for e in events[:chunks]] == list(range(1, chunks + 1))


# --------------------------------------------------------------------------- sanity check


def test_spearman_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    for _ in range(5):
        a = rng.integers(0, 5, 40).astype(float)
        b = a + rng.normal(0, 2, 40)
        assert sanity.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert sanity.spearman(np.zeros(9), np.arange(9.0)) is None


def test_cascading_randomisation_goes_top_down_and_ends_far_from_the_original(trained_small):
    net = network.from_small_params(trained_small)
    images, _ = confusion.heldout("small")
    x = images[3].astype(np.float64)
    out = sanity.sanity_check(net, x, methods=("saliency", "gradcam", "occlusion"), knobs={"patch": 2, "stride": 1})
    steps = out["steps"]
    assert [s["label"] for s in steps] == ["trained", "dense2", "dense1", "conv2", "conv1"]
    assert steps[-1]["randomised"] == ["dense2", "dense1", "conv2", "conv1"]
    np.testing.assert_allclose(steps[0]["maps"]["saliency"], saliency.saliency(net, x, out["target"])["map"])
    final = steps[-1]
    assert not np.allclose(final["maps"]["saliency"], steps[0]["maps"]["saliency"])
    assert final["rank_correlation"]["saliency"] < 0.9
    # layers below the randomised ones keep their weights; randomised ones change
    half = net.randomised(["dense2", "dense1"], seed=0)
    for name in ("conv1", "conv2"):
        np.testing.assert_array_equal(half.layer(name).arrays["weight"], net.layer(name).arrays["weight"])
    for name in ("dense1", "dense2"):
        assert not np.allclose(half.layer(name).arrays["weight"], net.layer(name).arrays["weight"])


def test_cascade_keeps_batch_norm_with_its_convolution(tiny):
    _, net = tiny
    groups = sanity.cascade(net)
    if "bn1" in net.layer_names:
        assert groups == [["dense2"], ["dense1"], ["conv2", "bn2"], ["conv1", "bn1"]]
        fresh = net.randomised(["bn1"], 0).layer("bn1").arrays
        assert fresh["weight"].tolist() == [1.0] * 3 and fresh["running_var"].tolist() == [1.0] * 3
    else:
        assert groups == [["dense2"], ["dense1"], ["conv2"], ["conv1"]]


# --------------------------------------------------------------------------- feature visualisation


def test_feature_visualisation_objective_gradient_matches_central_differences(tiny):
    state, net = tiny
    x = digit(7)[None]
    reads = "bn2" if "bn2" in net.layer_names else "conv2"
    value, grad = featurevis.objective_gradient(net, x, reads, 1)
    assert value[0] == pytest.approx(naive_forward(state, x[0])[reads][1].mean(), abs=1e-12)
    numeric = central_difference(lambda z: naive_forward(state, z)[reads][1].mean(), x[0])
    assert np.abs(grad[0] - numeric).max() < 1e-8


@pytest.mark.parametrize("layer, unit", [("conv1", 0), ("dense1", 2), ("dense2", 3)])
def test_gradient_ascent_raises_the_unit_from_grey(trained_small, layer, unit):
    net = network.from_small_params(trained_small)
    events = list(featurevis.visualise(net, layer, unit, steps=40, lr=0.05))
    final = events[-1]
    assert final["done"] and not any(e["done"] for e in events[:-1])
    assert final["images"].shape == (2, 8, 8)
    assert 0 <= final["images"].min() and final["images"].max() <= 1
    assert final["objective"][0] > final["grey_objective"] and final["objective"][1] > final["grey_objective"]
    # the regularised image is smoother: smaller neighbour differences
    tv = np.abs(np.diff(final["images"], axis=2)).mean(axis=(1, 2))
    assert tv[1] < tv[0]


def test_top_digits_are_the_highest_scores_of_the_held_out_pass(trained_small):
    net = network.from_small_params(trained_small)
    images, labels = confusion.heldout("small")
    ev = confusion.evaluate(net, images, labels)
    top = featurevis.top_digits(ev.unit_scores["dense2"], 4)
    logits = net.logits(images)[:, 4]
    assert [i for i, _ in top] == list(np.argsort(-logits, kind="stable")[:9])
    conv = ev.unit_scores["conv2"]
    direct = net.forward(images[:5]).outputs["conv2"].mean(axis=(2, 3))
    np.testing.assert_allclose(conv[:5], direct, rtol=1e-5)


def test_gaussian_blur_keeps_the_mean_of_a_smooth_image_and_flattens_noise():
    rng = np.random.default_rng(0)
    noise = rng.random((1, 28, 28))
    blurred = featurevis.gaussian_blur(noise, 1.0)
    assert blurred.std() < 0.5 * noise.std()
    np.testing.assert_allclose(featurevis.gaussian_blur(np.full((1, 8, 8), 0.3), 0.7), 0.3)


# --------------------------------------------------------------------------- held-out pass and cache


def test_confusion_matrix_counts_every_held_out_digit_once(trained_small):
    net = network.from_small_params(trained_small)
    images, labels = confusion.heldout("small")
    ev = confusion.evaluate(net, images, labels)
    assert ev.matrix.sum() == len(labels) == 359
    expected = np.zeros((10, 10), int)
    for t, p in zip(labels, net.logits(images).argmax(1)):
        expected[t, p] += 1
    np.testing.assert_array_equal(ev.matrix, expected)
    assert ev.accuracy == pytest.approx(np.trace(expected) / 359)
    assert confusion.heldout("chapter")[0].shape == (359, 28, 28)
    np.testing.assert_array_equal(confusion.heldout("chapter")[1], labels)


def test_results_are_cached_per_weights_digit_method_and_knobs(trained_small):
    lab = InsideLab()
    key, net = lab.net(trained_small)
    image, d = digit_from(net, index=5)
    first, cached = lab.inspect(key, net, image, d, "occlusion", None, {"patch": 2, "stride": 2, "fill": 0.0})
    again, cached_again = lab.inspect(key, net, image, d, "occlusion", None, {"patch": 2, "stride": 2, "fill": 0.0})
    assert not cached and cached_again and again is first
    other, cached_other = lab.inspect(key, net, image, d, "occlusion", None, {"patch": 3, "stride": 2, "fill": 0.0})
    assert not cached_other and other["map"].shape == (3, 3)
    changed = {k: v.copy() for k, v in trained_small.items()}
    changed["b4"][0] += 1e-3
    assert fingerprint(changed) != key and fingerprint({k: v.copy() for k, v in trained_small.items()}) == key


# --------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def api(trained_small):
    """A client whose session 'inside-page-1' holds a paused run with the trained weights."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    with TestClient(create_app(Settings())) as c:
        assert c.post("/api/train/start", json={"session": "inside-page-1", "filters": 8}).status_code == 200
        assert c.post("/api/train/pause", json={"session": "inside-page-1"}).status_code == 200
        run = c.app.state.train_sessions.get("inside-page-1")
        with run.lock:
            for k, v in trained_small.items():
                run.trainer.params[k][...] = v
        yield c


def test_inspect_without_a_run_is_a_404_that_says_what_to_do(api):
    r = api.post("/api/inspect", json={"session": "nobody-here-1", "index": 0, "method": "saliency"})
    assert r.status_code == 404
    assert r.json()["detail"] == "no training run for this page yet: press Start"
    assert api.get("/api/inside/confusion", params={"session": "nobody-here-1"}).status_code == 404


@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "gradcam", "occlusion", "fgsm"])
def test_inspect_answers_every_method(api, trained_small, method):
    r = api.post("/api/inspect", json={"session": "inside-page-1", "index": 7, "method": method, "patch": 3,
                                       "stride": 1, "epsilon": 0.1})
    assert r.status_code == 200, r.text
    body = r.json()
    net = network.from_small_params(trained_small)
    image = confusion.heldout("small")[0][7]
    p = naive_softmax(net.logits(image)[0].astype(np.float64))
    assert body["predicted"] == int(np.argmax(p)) and body["model"] == "small" and body["side"] == 8
    np.testing.assert_allclose(body["probabilities"], p, atol=1e-6)
    shapes = {"saliency": 8, "smoothgrad": 8, "gradcam": 4, "occlusion": 6}
    if method in shapes:
        assert np.array(body["map"]).shape == (shapes[method],) * 2
    if method == "saliency":
        np.testing.assert_allclose(body["map"], saliency.saliency(net, image)["map"], atol=1e-6)
    if method == "occlusion":
        assert body["map_size"] == (8 - 3) // 1 + 1
    if method == "fgsm":
        adv, pert = np.array(body["adversarial"]), np.array(body["perturbation"])
        np.testing.assert_allclose(adv - image, pert, atol=1e-6)
        assert np.abs(pert).max() <= 0.1 + 1e-6 and len(body["probabilities_after"]) == 10
    assert body["run"]["state"] == "paused" and len(body["run"]["weights"]) == 32


def test_inspect_takes_drawn_pixels_and_refuses_the_wrong_size(api):
    drawn = np.zeros((8, 8))
    drawn[1:7, 3:5] = 1.0
    r = api.post("/api/inspect", json={"session": "inside-page-1", "pixels": drawn.tolist(), "method": "saliency",
                                       "target": 1})
    assert r.status_code == 200 and r.json()["target"] == 1
    r = api.post("/api/inspect", json={"session": "inside-page-1", "pixels": np.zeros((28, 28)).tolist(),
                                       "method": "saliency"})
    assert r.status_code == 422 and "8×8" in r.json()["detail"]
    r = api.post("/api/inspect", json={"session": "inside-page-1", "index": 1, "method": "occlusion", "patch": 9})
    assert r.status_code == 422 and "patch" in r.json()["detail"]
    r = api.post("/api/inspect", json={"session": "inside-page-1", "index": 1, "pixels": [[0.0]],
                                       "method": "saliency"})
    assert r.status_code == 422 and "either pixels" in r.json()["detail"]


def test_confusion_digits_and_sanity_endpoints(api):
    r = api.get("/api/inside/confusion", params={"session": "inside-page-1"})
    assert r.status_code == 200
    body = r.json()
    assert sum(map(sum, body["matrix"])) == 359 and body["accuracy"] > 0.85
    assert [u["layer"] for u in body["units"]] == ["conv1", "conv2", "dense1", "dense2"]
    d = api.get("/api/inside/digits", params={"model": "chapter"}).json()
    assert d["side"] == 28 and d["count"] == 359 and d["labels"] == body["labels"]
    assert api.get("/api/inside/digits", params={"model": "big"}).status_code == 422
    r = api.post("/api/inside/sanity", json={"session": "inside-page-1", "index": 2, "methods": ["saliency", "gradcam"]})
    assert r.status_code == 200
    steps = r.json()["steps"]
    assert len(steps) == 5 and steps[0]["rank_correlation"]["saliency"] == 1.0


def read_lines(client, url, body):
    with client.stream("POST", url, json=body) as s:
        assert s.status_code == 200
        assert s.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in s.iter_lines() if line]


def test_featurevis_and_fgsm_curve_stream_progress_then_a_result(api):
    lines = read_lines(api, "/api/inside/featurevis", {"session": "inside-page-1", "layer": "dense2", "unit": 3,
                                                        "steps": 32})
    assert [line["type"] for line in lines[:-1]] == ["progress"] * (len(lines) - 1) and lines[-1]["type"] == "result"
    assert len(lines[-1]["top"]) == 9 and np.array(lines[-1]["plain"]).shape == (8, 8)
    lines = read_lines(api, "/api/inside/fgsm-curve", {"session": "inside-page-1", "epsilons": [0, 0.1, 0.3]})
    assert lines[-1]["type"] == "result" and len(lines[-1]["curve"]) == 3
    assert lines[-1]["curve"][0] > lines[-1]["curve"][2]
    assert [line["accuracy"] for line in lines if line.get("stage") == "epsilon"] == lines[-1]["curve"]
    r = api.post("/api/inside/featurevis", json={"session": "inside-page-1", "layer": "conv1", "unit": 99})
    assert r.status_code == 422 and "unit must be between 0 and 7" in r.json()["detail"]


def test_a_running_run_answers_with_its_current_weights(api):
    r = api.post("/api/train/start", json={"session": "inside-running-2", "filters": 4})
    assert r.status_code == 200
    try:
        answers = [api.post("/api/inspect", json={"session": "inside-running-2", "index": 0, "method": "gradcam"})
                   for _ in range(2)]
        assert all(a.status_code == 200 for a in answers)
        assert answers[0].json()["run"]["state"] == "running"
    finally:
        api.post("/api/train/reset", json={"session": "inside-running-2"})


# --------------------------------------------------------------------------- the chapter model itself


@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_chapter_models_state_dict_builds_the_same_network(batch_norm):
    chapter = pytest.importorskip("app.labs.train.chapter")
    model = chapter.ChapterModel(batch_norm=batch_norm, dropout=0.5, seed=1, dtype=np.float64)
    if batch_norm:  # non-trivial running statistics
        for name in ("bn1", "bn2"):
            c = model.buffers[f"{name}.running_var"].shape[0]
            model.buffers[f"{name}.running_var"][...] = np.linspace(0.5, 2.0, c)
            model.buffers[f"{name}.running_mean"][...] = np.linspace(-0.1, 0.1, c)
    net = network.from_state(model.state_dict(), dtype=np.float64)
    x = np.stack([digit(8), digit(9)])
    np.testing.assert_allclose(net.logits(x), model.logits(x), atol=1e-10)
    assert net.model == "chapter" and net.side == 28
    logits, cache = model.forward(x, train=False)
    seed = np.zeros_like(logits)
    seed[:, 5] = 1.0
    ref = model.backward(cache, seed, input_grad=True, param_grads=False).input[:, 0]
    np.testing.assert_allclose(saliency.logit_gradient(net, x, 5)[0], ref, atol=1e-10)
    cam = gradcam.gradcam(net, x[0], 5)
    assert cam["map"].shape == (14, 14) and cam["weights"].shape == (64,)


def test_a_chapter_run_is_inspected_at_28_by_28(api):
    """A session whose run trains the chapter's model (batch norm on): every endpoint answers at its sizes."""
    chapter = pytest.importorskip("app.labs.train.chapter")
    assert api.post("/api/train/start", json={"session": "inside-chapter-3", "filters": 4}).status_code == 200
    api.post("/api/train/pause", json={"session": "inside-chapter-3"})
    run = api.app.state.train_sessions.get("inside-chapter-3")
    with run.lock:
        run.trainer = chapter.Trainer(seed=0, epochs=1, batch_norm=True)
    try:
        body = api.get("/api/inside/confusion", params={"session": "inside-chapter-3"}).json()
        assert body["model"] == "chapter" and body["side"] == 28 and body["cam_layer"] == "relu2"
        assert "bn1" in body["layers"] and body["units"][0] == {"layer": "conv1", "reads": "bn1", "units": 32,
                                                                  "kind": "filter"}
        r = api.post("/api/inspect", json={"session": "inside-chapter-3", "index": 4, "method": "gradcam"})
        assert r.status_code == 200 and np.array(r.json()["map"]).shape == (14, 14)
        r = api.post("/api/inspect", json={"session": "inside-chapter-3", "index": 4, "method": "occlusion",
                                           "patch": 4, "stride": 2})
        assert r.json()["map_size"] == 13
        drawn = np.zeros((28, 28))
        drawn[6:22, 13:15] = 1.0
        r = api.post("/api/inspect", json={"session": "inside-chapter-3", "pixels": drawn.tolist(), "method": "fgsm",
                                           "epsilon": 0.05})
        assert r.status_code == 200 and np.abs(np.array(r.json()["perturbation"])).max() <= 0.05 + 1e-6
    finally:
        api.post("/api/train/reset", json={"session": "inside-chapter-3"})


def test_no_inside_request_compiles_after_the_warm_up(api):
    """After warm_kernels() (server start-up), every Inside endpoint runs on kernels already compiled."""
    import sys

    import numba

    from app.main import warm_kernels

    def versions():
        out = {}
        for name, module in list(sys.modules.items()):
            if name == "app" or name.startswith("app."):
                for attr, obj in vars(module).items():
                    if isinstance(obj, numba.core.registry.CPUDispatcher):
                        out[f"{name}.{attr}"] = {str(sig) for sig in obj.signatures}
        return out

    warm_kernels()
    before = versions()
    chapter_state = {k: v.astype(np.float32) for k, v in tiny_chapter_state(4, batch_norm=True).items()}
    lab = InsideLab()
    for state in (chapter_state,):
        key, net = lab.net(state)
        image, d = digit_from(net, index=1)
        for method in ("saliency", "smoothgrad", "gradcam", "occlusion", "fgsm"):
            lab.inspect(key, net, image, d, method, None, {})
    for method in ("saliency", "smoothgrad", "gradcam", "occlusion", "fgsm"):
        assert api.post("/api/inspect", json={"session": "inside-page-1", "index": 9, "method": method}).status_code == 200
    assert api.post("/api/inside/sanity", json={"session": "inside-page-1", "index": 9}).status_code == 200
    read_lines(api, "/api/inside/featurevis", {"session": "inside-page-1", "layer": "conv2", "unit": 1, "steps": 4})
    read_lines(api, "/api/inside/fgsm-curve", {"session": "inside-page-1", "epsilons": [0.05]})
    after = versions()
    added = {n: sorted(after[n] - before.get(n, set())) for n in after if after[n] - before.get(n, set())}
    assert not added, f"compiled on a request, not at start-up: {added}"
