"""The chapter's classifier (app.labs.train.chapter) and its data (app.labs.train.digits).

The model's gradients are checked end to end against float64 central
differences, with and without batch norm, in training mode with a fixed dropout
mask: sampled entries of every parameter tensor and of the input.  When PyTorch
is installed (benchmarks only; never a dependency) the same weights give the
same logits and gradients in ``torch.nn``.
"""
from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from app.labs.train import digits as D
from app.labs.train.chapter import ChapterModel, Trainer
from app.nn import softmax_cross_entropy

PYTORCH_SHAPES = {
    "conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
    "dense1.weight": (128, 3136), "dense1.bias": (128,), "dense2.weight": (10, 128), "dense2.bias": (10,),
}
BN_SHAPES = {f"bn{i}.{k}": (c,) for i, c in ((1, 32), (2, 64)) for k in ("weight", "bias", "running_mean",
                                                                         "running_var")}


def central_difference(f, x, index, h=1e-6):
    old = x[index]
    x[index] = old + h
    up = f()
    x[index] = old - h
    down = f()
    x[index] = old
    return (up - down) / (2 * h)


def small_data(n_train=40, n_val=8, n_test=16):
    """A slice of the real data, so trainer tests run in a second."""
    c = D.load_chapter_digits()
    return D.ChapterDigits(c.x_train[:n_train], c.y_train[:n_train], c.x_val[:n_val], c.y_val[:n_val],
                           c.x_test[:n_test], c.y_test[:n_test])


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("batch_norm", [False, True])
def test_state_dict_names_and_shapes_are_pytorch_layouts(batch_norm):
    m = ChapterModel(batch_norm=batch_norm)
    want = {**PYTORCH_SHAPES, **(BN_SHAPES if batch_norm else {})}
    assert {k: v.shape for k, v in m.state_dict().items()} == want
    assert m.parameter_count() == 421_642 + (2 * (32 + 64) if batch_norm else 0)  # Keras's summary(): 421,642
    assert all(v.dtype == np.float32 for v in m.state_dict().values())
    assert m.layer_names == (["conv1"] + (["bn1"] if batch_norm else []) + ["relu1", "pool1", "conv2"]
                             + (["bn2"] if batch_norm else []) + ["relu2", "pool2", "flatten", "dense1", "relu3",
                                                                 "dropout", "dense2"])


FANS = (("conv1", 9, 32 * 9), ("conv2", 32 * 9, 64 * 9), ("dense1", 3136, 128), ("dense2", 128, 10))


def test_initialisation_is_keras_glorot_by_default_and_seeded():
    """Keras's Conv2D/Dense defaults: U(±√(6/(fan_in + fan_out))) weights, zero biases."""
    a, b, c = ChapterModel(seed=3), ChapterModel(seed=3), ChapterModel(seed=4)
    assert a.init == "keras"
    for name, fan_in, fan_out in FANS:
        w = a.params[f"{name}.weight"]
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound, name
        assert abs(float(w.astype(np.float64).var()) - bound ** 2 / 3) < 0.15 * bound ** 2 / 3, name  # uniform
        npt.assert_array_equal(a.params[f"{name}.bias"], 0)
    for k in a.params:
        npt.assert_array_equal(a.params[k], b.params[k])
        if k.endswith(".weight"):
            assert not np.array_equal(a.params[k], c.params[k])


def test_initialisation_pytorch_option_is_uniform_one_over_root_fan_in():
    a = ChapterModel(seed=3, init="pytorch")
    for name, fan_in, _ in FANS:
        for part in ("weight", "bias"):
            v = a.params[f"{name}.{part}"]
            bound = 1 / math.sqrt(fan_in)
            assert np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound, (name, part)
    with pytest.raises(ValueError, match='init must be "keras" or "pytorch"'):
        ChapterModel(init="xavier")


@pytest.mark.parametrize("batch_norm", [False, True])
def test_whole_model_gradients_match_float64_finite_differences(batch_norm):
    """Every parameter tensor (sampled entries) and the input, training mode, dropout mask held fixed."""
    rng = np.random.default_rng(7)
    m = ChapterModel(batch_norm=batch_norm, dropout=0.5, seed=1, dtype=np.float64)
    x = rng.random((3, 1, 28, 28))
    labels = np.array([3, 0, 7])
    if batch_norm:   # move γ, β off their initial 1 and 0 so their gradients are generic
        for k in ("bn1.weight", "bn2.weight"):
            m.params[k][:] = rng.uniform(0.5, 1.5, m.params[k].shape)
        for k in ("bn1.bias", "bn2.bias"):
            m.params[k][:] = rng.uniform(-0.2, 0.2, m.params[k].shape)

    def loss():
        logits, _ = m.forward(x, train=True, rng=np.random.default_rng(11))   # the same mask every call
        return softmax_cross_entropy(logits, labels)[0]

    logits, cache = m.forward(x, train=True, rng=np.random.default_rng(11))
    grads = m.backward(cache, softmax_cross_entropy(logits, labels)[1], input_grad=True)
    assert set(grads.params) == set(m.params)
    pick = np.random.default_rng(0)
    for name, value in m.params.items():
        g = grads.params[name]
        assert g.shape == value.shape and g.dtype == np.float64
        # the largest-gradient entry plus a few random ones (random entries may have zero gradient)
        entries = [np.unravel_index(np.abs(g).argmax(), g.shape)]
        entries += [tuple(int(pick.integers(s)) for s in value.shape) for _ in range(3)]
        for idx in entries:
            fd = central_difference(loss, value, idx)
            assert abs(fd - g[idx]) <= 1e-6 + 1e-4 * abs(fd), (name, idx, fd, g[idx])
    gx = grads.input
    assert gx.shape == (3, 1, 28, 28)
    for idx in [np.unravel_index(np.abs(gx).argmax(), gx.shape), (0, 0, 14, 14), (2, 0, 10, 17)]:
        fd = central_difference(loss, x, idx)
        assert abs(fd - gx[idx]) <= 1e-6 + 1e-4 * abs(fd), (idx, fd, gx[idx])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_fused_training_path_gives_the_recorded_paths_numbers(batch_norm):
    """record=False pools before the ReLU (they commute): the same logits and gradients, bit for bit."""
    x = np.random.default_rng(3).random((6, 28, 28), dtype=np.float32)
    x[0, :14] = 0.0                       # windows whose maximum is 0 after conv1 + bias are possible
    labels = np.arange(6)
    grads = []
    for record in (True, False):
        m = ChapterModel(batch_norm=batch_norm, seed=8)
        logits, cache = m.forward(x, train=True, rng=np.random.default_rng(1), record=record)
        g = softmax_cross_entropy(logits, labels)[1]
        grads.append((logits, m.backward(cache, g, input_grad=True)))
        assert ("relu2" in cache.outputs) == record
    (l1, g1), (l2, g2) = grads
    npt.assert_array_equal(l1, l2)
    npt.assert_array_equal(g1.input, g2.input)
    for k in g1.params:
        npt.assert_array_equal(g1.params[k], g2.params[k], err_msg=k)


def test_inference_mode_is_per_image_and_deterministic(rng):
    m = ChapterModel(batch_norm=True, seed=2)
    m.forward(rng.random((16, 28, 28), dtype=np.float32), train=True, rng=rng)   # move the running statistics
    x = rng.random((5, 28, 28), dtype=np.float32)
    p = m.predict_proba(x)
    npt.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    npt.assert_allclose(m.predict_proba(x[2:3]), p[2:3], rtol=1e-5, atol=1e-7)   # running stats, not the batch's
    npt.assert_array_equal(m.predict_proba(x), p)                               # dropout off
    with pytest.raises(ValueError, match="28×28"):
        m.predict_proba(np.zeros((2, 8, 8)))


def test_inspection_hooks_for_saliency_gradcam_and_feature_visualisation(rng):
    m = ChapterModel(seed=0, dtype=np.float64)
    x = rng.random((2, 28, 28))
    logits, cache = m.forward(x, train=False)
    assert [k for k in cache.outputs] == m.layer_names
    assert cache.outputs["relu2"].shape == (2, 64, 14, 14) and cache.outputs["pool2"].shape == (2, 64, 7, 7)
    target = np.zeros_like(logits)
    target[:, 4] = 1.0                                   # d logit_4 / d ...
    full = m.backward(cache, target, input_grad=True, keep_grads=True, param_grads=False)
    assert full.params == {} and full.input.shape == (2, 1, 28, 28)
    a_grad = full.activations["relu2"]
    assert a_grad.shape == (2, 64, 14, 14)
    # Restarting from relu2 with its gradient gives the same input gradient.
    again = m.backward(cache, a_grad, start="relu2", input_grad=True, param_grads=False)
    npt.assert_allclose(again.input, full.input, rtol=1e-12, atol=1e-15)
    # A forward stopped at a layer, and a finite-difference check of d logit_4 / d pixel.
    out, partial = m.forward(x, train=False, upto="pool1")
    assert out.shape == (2, 32, 14, 14) and list(partial.outputs)[-1] == "pool1"
    idx = np.unravel_index(np.abs(full.input).argmax(), full.input.shape)
    xb = m.as_batch(x).copy()
    fd = central_difference(lambda: float(m.forward(xb, train=False)[0][:, 4].sum()), xb, idx)
    assert abs(fd - full.input[idx]) <= 1e-6 + 1e-5 * abs(fd)
    with pytest.raises(ValueError, match="expected the output shape"):
        m.backward(cache, np.zeros((2, 3)))


def test_reinitialize_named_layers_for_the_randomisation_check():
    m = ChapterModel(seed=0)
    trained = m.state_dict()
    for v in m.params.values():
        v *= 2
    m.reinitialize(["dense2", "dense1"], seed=99)
    assert not np.allclose(m.params["dense2.weight"], 2 * trained["dense2.weight"])
    npt.assert_array_equal(m.params["conv1.weight"], 2 * trained["conv1.weight"])
    m.load_state_dict(trained)
    npt.assert_array_equal(m.params["dense1.weight"], trained["dense1.weight"])
    bn = ChapterModel(batch_norm=True, seed=1)
    copy = ChapterModel.from_state_dict(bn.state_dict(), dtype=np.float64)
    assert copy.batch_norm and copy.dtype == np.float64
    npt.assert_allclose(copy.params["conv2.weight"], bn.params["conv2.weight"])
    with pytest.raises(ValueError, match="missing"):
        ChapterModel.from_state_dict({"conv1.weight": trained["conv1.weight"]})


@pytest.mark.parametrize("batch_norm", [False, True])
def test_logits_and_gradients_equal_pytorch_with_the_same_weights(batch_norm):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = ChapterModel(batch_norm=batch_norm, dropout=0.5, seed=4, dtype=np.float64)
    layers = [nn.Conv2d(1, 32, 3, padding=1)] + ([nn.BatchNorm2d(32)] if batch_norm else []) + [
        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1)] + ([nn.BatchNorm2d(64)] if batch_norm else []) + [
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10)]
    net = nn.Sequential(*layers).double()
    ours = {"conv1": 0, "conv2": 4 if batch_norm else 3, "dense1": 9 if batch_norm else 7,
            "dense2": 11 if batch_norm else 9}
    if batch_norm:
        ours.update(bn1=1, bn2=5)
    state = {}
    for name, index in ours.items():
        for k, v in m.state_dict().items():
            if k.startswith(name + "."):
                state[f"{index}.{k.split('.', 1)[1]}"] = torch.from_numpy(v.copy())
    if batch_norm:
        state.update({f"{i}.num_batches_tracked": torch.tensor(0) for i in (1, 5)})
    net.load_state_dict(state, strict=True)
    x = np.random.default_rng(5).random((4, 1, 28, 28))
    labels = np.array([1, 5, 9, 0])
    # Inference mode (dropout is the identity; batch norm's running statistics).
    net.eval()
    npt.assert_allclose(m.logits(x), net(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    # Training mode without dropout (a dropout-free twin shares the weights), gradients of the mean cross-entropy.
    twin = ChapterModel(batch_norm=batch_norm, dropout=0.0, seed=4, dtype=np.float64)
    twin.load_state_dict(m.state_dict())
    net.train()
    xt = torch.from_numpy(x).requires_grad_(True)
    loss_t = nn.functional.cross_entropy(net(xt), torch.from_numpy(labels))
    loss_t.backward()
    loss, grads, _ = twin.loss_and_grads(x, labels)
    assert abs(loss - loss_t.item()) < 1e-10
    for name, index in ours.items():
        for part in ("weight", "bias"):
            want = net[index]._parameters[part].grad.numpy()
            npt.assert_allclose(grads[f"{name}.{part}"], want, rtol=1e-8, atol=1e-12, err_msg=f"{name}.{part}")
    if batch_norm:   # running statistics updated the same way (momentum 0.1, unbiased variance)
        npt.assert_allclose(twin.buffers["bn2.running_var"], net[5].running_var.numpy(), rtol=1e-10)


# --------------------------------------------------------------------------- the trainer


def test_trainer_defaults_are_the_chapter_fit_call():
    t = Trainer(data=small_data())
    assert (t.lr, t.batch_size, t.epochs, t.dropout, t.batch_norm, t.augment) == (1e-3, 128, 10, 0.5, False, False)
    assert t.opt.beta1 == 0.9 and t.opt.beta2 == 0.999


def test_trainer_epochs_history_and_done():
    t = Trainer(seed=1, epochs=2, batch_size=16, data=small_data())
    assert t.steps_per_epoch == 3                       # 40 digits: 16 + 16 + 8, the last batch partial
    losses = [t.run_batch() for _ in range(3)]
    assert all(np.isfinite(losses)) and len(t.history) == 1 and t.epoch == 1.0
    rec = t.history[0]
    assert set(rec) >= {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy", "train_seconds"}
    assert rec["epoch"] == 1 and 0 <= rec["val_accuracy"] <= 1 and 0 <= rec["test_accuracy"] <= 1
    assert not t.done
    t.fit()
    assert t.done and len(t.history) == 2 and t.step == 6
    assert t.last["step"] == 6 and t.first_layer_filters().shape == (32, 3, 3)
    p = t.progress()
    assert p["done"] and p["step"] == 6 and p["test_accuracy"] == t.history[-1]["test_accuracy"]


@pytest.mark.parametrize("options", [dict(), dict(batch_norm=True, augment=True, dropout=0.3)])
def test_trainer_seed_makes_a_run_repeatable(options):
    def run(seed):
        t = Trainer(seed=seed, epochs=1, batch_size=16, data=small_data(), **options)
        losses = [t.run_batch() for _ in range(4)]
        return losses, t.model.state_dict()

    a, b, c = run(5), run(5), run(6)
    assert a[0] == b[0]
    for k in a[1]:
        npt.assert_array_equal(a[1][k], b[1][k])
    assert a[0] != c[0]


def test_trainer_rejects_bad_options():
    with pytest.raises(ValueError, match="dropout"):
        Trainer(dropout=0.95, data=small_data())
    with pytest.raises(ValueError, match="epochs"):
        Trainer(epochs=0, data=small_data())
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        Trainer(seed=-1, data=small_data())


def test_a_few_epochs_learn_something():
    c = D.load_chapter_digits()
    data = D.ChapterDigits(c.x_train[:400], c.y_train[:400], c.x_val, c.y_val, c.x_test[:200], c.y_test[:200])
    t = Trainer(seed=0, epochs=3, batch_size=32, data=data)
    t.fit()
    assert t.history[-1]["test_accuracy"] > 0.4       # chance is 0.1; 39 Adam steps reach ~0.6
    assert t.history[-1]["loss"] < t.history[0]["loss"]


# --------------------------------------------------------------------------- the data


def test_held_out_split_is_the_small_models_split():
    d = D.load_digits_split()
    assert (len(d.y_train), len(d.y_test)) == (1438, 359)
    assert len(set(d.test_index) & set(d.train_index)) == 0
    try:
        from app.labs.train.small import load_digits_split as small_split
    except ImportError:
        from app.training import load_digits_split as small_split
    s = small_split()
    npt.assert_array_equal(s.x_test, d.x_test)
    npt.assert_array_equal(s.y_train, d.y_train)
    c = D.load_chapter_digits()
    npt.assert_array_equal(c.y_test, d.y_test)
    npt.assert_array_equal(c.x_test, D.to_chapter_input(d.x_test))


def test_validation_cut_is_keras_and_fixed():
    c = D.load_chapter_digits()
    assert (len(c.y_train), len(c.y_val), len(c.y_test)) == (1294, 144, 359)   # ⌊0.9 · 1438⌋ = 1294, as Keras cuts
    assert D.validation_cut(1438, 0.1) == 1294 and D.validation_cut(10, 0.0) == 10
    npt.assert_array_equal(c.y_val, D.load_digits_split().y_train[1294:])
    assert not c.x_train.flags.writeable


def test_28x28_frame_is_bilinear_20x20_centred_with_values_in_0_1():
    from PIL import Image

    d = D.load_digits_split()
    c = D.load_chapter_digits()
    assert c.x_train.shape[1:] == (28, 28) and c.x_train.dtype == np.float32
    assert c.x_train.min() >= 0.0 and c.x_train.max() <= 1.0
    frame = c.x_train[:5]
    assert not frame[:, :4].any() and not frame[:, 24:].any() and not frame[:, :, :4].any() and not frame[:, :, 24:].any()
    for k in range(3):   # Pillow's bilinear upscaling is the independent reference
        ref = np.asarray(Image.fromarray(d.x_train[k], mode="F").resize((20, 20), Image.BILINEAR))
        npt.assert_allclose(frame[k, 4:24, 4:24], ref, atol=1e-6)
    with pytest.raises(ValueError, match="8×8"):
        D.to_chapter_input(np.zeros((2, 28, 28)))


def test_augmentation_geometry_and_seeding():
    x = D.load_chapter_digits().x_train[:4]
    ident = np.tile([0.0, 0.0, 0.0, 1.0], (4, 1))
    npt.assert_array_equal(D.affine_warp(x, ident), x)
    shifted = D.affine_warp(x, np.tile([2.0, -3.0, 0.0, 1.0], (4, 1)))       # down 2, left 3
    npt.assert_allclose(shifted[:, 2:, :-3], x[:, :-2, 3:], atol=1e-6)
    assert not shifted[:, :2].any() and not shifted[:, :, -3:].any()          # zeros come in from outside
    quarter = D.affine_warp(x, np.tile([0.0, 0.0, 90.0, 1.0], (4, 1)))       # pixel centres land on centres
    assert min(np.abs(quarter - np.rot90(x, k, axes=(1, 2))).max() for k in (1, 3)) < 1e-5
    bigger = D.affine_warp(x, np.tile([0.0, 0.0, 0.0, 1.1], (4, 1)))
    assert (bigger > 0.05).sum() > (x > 0.05).sum()                           # scale > 1 enlarges the digit
    strip = D.augmented_strip(x[0], 8, seed=3)
    assert strip.shape == (8, 28, 28) and strip.min() >= 0 and strip.max() <= 1
    npt.assert_array_equal(strip, D.augmented_strip(x[0], 8, seed=3))
    assert not np.array_equal(strip[0], strip[1])
    t = D.random_affine(1000, np.random.default_rng(0))
    assert np.abs(t[:, :2]).max() <= D.MAX_SHIFT and np.abs(t[:, 2]).max() <= D.MAX_ROTATION
    assert t[:, 3].min() >= D.SCALE_RANGE[0] and t[:, 3].max() <= D.SCALE_RANGE[1]


def test_keras_code_follows_the_switches():
    from app.labs.train.chapter import keras_code

    plain = keras_code()
    assert 'layer_dropout(rate = 0.5)' in plain and "batch_normalization" not in plain and "random" not in plain
    assert "batch_size = 128" in plain and "epochs = 10" in plain and "validation_split = 0.1" in plain
    assert plain.count('padding = "same", activation = "relu"') == 2
    switched = keras_code(batch_norm=True, dropout=0.0, augment=True, epochs=30)
    assert switched.count("layer_batch_normalization(epsilon = 1e-5") == 2 and "layer_dropout" not in switched
    assert "layer_random_rotation" in switched and "epochs = 30" in switched
