"""The Train lab's API with the chapter's model: start with a seed, weights, digits, predictions, errors."""
import time

import numpy as np
import pytest

from app.labs.train.chapter import ChapterModel
from tests.conftest import make_client

CHAPTER_SHAPES = {
    "conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
    "dense1.weight": (128, 3136), "dense1.bias": (128,), "dense2.weight": (10, 128), "dense2.bias": (10,),
}
BN_SHAPES = {f"bn{i}.{k}": (c,) for i, c in ((1, 32), (2, 64)) for k in ("weight", "bias", "running_mean", "running_var")}


@pytest.fixture(scope="module")
def api():
    with make_client(max_train_sessions=4) as c:
        yield c


def wait_until_done(api, session, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.get("/api/train/status", params={"session": session}).json()
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError(f"{session} still running after {timeout} s")


def weights_of(api, session):
    r = api.get("/api/train/weights", params={"session": session})
    assert r.status_code == 200, r.text
    body = r.json()
    return body, {k: np.array(v) for k, v in body["arrays"].items()}


def test_one_epoch_with_a_seed_is_repeatable_and_measured(api):
    """Two runs with the same seed end one epoch with the same weights, bit for bit; a curve point per epoch."""
    for session in ("chapter-seed-a", "chapter-seed-b"):
        r = api.post("/api/train/start", json={"session": session, "model": "chapter", "seed": 7, "epochs": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == "chapter" and body["max_epochs"] == 1
        assert body["knobs"] == {"lr": 1e-3, "batch_size": 128, "epochs": 1, "dropout": 0.5, "batch_norm": False,
                                 "augment": False, "seed": 7, "init": "keras"}
        assert np.array(body["filters"]).shape == (32, 3, 3)
    a, b = (wait_until_done(api, s) for s in ("chapter-seed-a", "chapter-seed-b"))
    assert a["state"] == "done" and "finished 1 epochs" in a["reason"]
    assert a["epoch"] == pytest.approx(1.0) and a["step"] == 11  # ⌈1,294 / 128⌉ Adam steps
    first, last = a["points"][0], a["points"][-1]
    assert (first["step"], first["epoch"]) == (0, 0) and (last["step"], last["epoch"]) == (11, 1.0)
    assert 0 <= last["val_accuracy"] <= 1 and last["accuracy"] == a["accuracy"] and last["val_loss"] > 0
    assert last["loss"] < first["loss"] + 0.1  # one epoch of Adam does not make things much worse
    info_a, wa = weights_of(api, "chapter-seed-a")
    _, wb = weights_of(api, "chapter-seed-b")
    assert info_a["model"] == "chapter" and info_a["state"] == "done" and info_a["step"] == 11
    assert {k: v.shape for k, v in wa.items()} == CHAPTER_SHAPES
    for name in CHAPTER_SHAPES:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)
    untrained = ChapterModel(seed=7).state_dict()
    assert not np.allclose(wa["dense2.weight"], untrained["dense2.weight"])  # it did train
    np.testing.assert_array_equal(np.array(a["filters"]), wa["conv1.weight"][:, 0].astype(np.float32))

    # Predict at 28×28 with the trained weights: the layers shown and the probabilities.
    digit = api.get("/api/train/digits", params={"model": "chapter", "count": 1}).json()["digits"][0]
    p = api.post("/api/train/predict", json={"session": "chapter-seed-a", "pixels": digit["pixels"]})
    assert p.status_code == 200, p.text
    body = p.json()
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert body["predicted"] == int(np.argmax(body["probabilities"])) and body["accuracy"] == a["accuracy"]
    assert [(layer["name"], layer["shape"]) for layer in body["layers"]] == [
        ("input", [1, 28, 28]), ("conv1 + ReLU → pool1", [32, 14, 14]), ("conv2 + ReLU → pool2", [64, 7, 7]),
        ("dense1 + ReLU", [128]), ("logits", [10])]
    # The same answer as the weights endpoint's network in inference mode.
    model = ChapterModel.from_state_dict({k: v.astype(np.float32) for k, v in wa.items()})
    probs = model.predict_proba(np.array(digit["pixels"], np.float32)[None])[0]
    np.testing.assert_allclose(body["probabilities"], probs, atol=1e-5)
    small = api.post("/api/train/predict", json={"session": "chapter-seed-a", "pixels": [[0.0] * 8] * 8})
    assert small.status_code == 422 and "28 rows of 28" in small.json()["detail"]
    for s in ("chapter-seed-a", "chapter-seed-b"):
        api.post("/api/train/reset", json={"session": s})


def test_a_running_batch_norm_run_answers_with_its_current_weights(api):
    r = api.post("/api/train/start", json={"session": "chapter-bn-1", "model": "chapter", "batch_norm": True,
                                           "dropout": 0, "augment": True, "epochs": 2, "seed": 1})
    assert r.status_code == 200 and r.json()["knobs"]["dropout"] == 0
    try:
        info, w = weights_of(api, "chapter-bn-1")
        assert info["state"] == "running"
        assert {k: v.shape for k, v in w.items()} == CHAPTER_SHAPES | BN_SHAPES
        assert (w["bn1.running_var"] > 0).all()
    finally:
        api.post("/api/train/reset", json={"session": "chapter-bn-1"})


def test_init_switch_draws_keras_or_pytorch_starting_weights(api):
    """dense1 starts within √(6/3264) ≈ 0.043 (Keras's Glorot) or 1/√3136 ≈ 0.018 (PyTorch's).

    One epoch is 11 Adam steps of at most ~lr = 0.001 per weight, so the two
    runs' largest |dense1 weight| stay apart after it: above 0.03 against below 0.03.
    """
    largest = {}
    for init in ("keras", "pytorch"):
        session = f"chapter-init-{init}"
        r = api.post("/api/train/start", json={"session": session, "model": "chapter", "init": init, "epochs": 1})
        assert r.status_code == 200 and r.json()["knobs"]["init"] == init, r.text
        try:
            assert wait_until_done(api, session)["state"] == "done"
            _, w = weights_of(api, session)
            largest[init] = float(np.abs(w["dense1.weight"]).max())
        finally:
            api.post("/api/train/reset", json={"session": session})
    assert largest["keras"] > 0.03 > largest["pytorch"], largest
    assert "PyTorch's initialisation" in api.get("/api/train/code", params={"init": "pytorch"}).json()["code"]
    assert "Glorot" in api.get("/api/train/code").json()["code"]


@pytest.mark.parametrize("body, word", [
    ({"model": "large"}, "model"),
    ({"model": "chapter", "dropout": 0.95}, "dropout"),
    ({"model": "chapter", "dropout": -0.1}, "dropout"),
    ({"model": "chapter", "epochs": 0}, "epochs"),
    ({"model": "chapter", "epochs": 41}, "epochs"),
    ({"model": "chapter", "seed": -1}, "seed"),
    ({"model": "chapter", "filters": 4}, "filters"),
    ({"model": "small", "batch_norm": True}, "batch_norm"),
    ({"model": "chapter", "init": "xavier"}, "init"),
    ({"model": "small", "init": "keras"}, "init"),
])
def test_bad_start_requests_are_422_with_a_message(api, body, word):
    r = api.post("/api/train/start", json={"session": "chapter-bad-1", **body})
    assert r.status_code == 422 and word in str(r.json()["detail"])


def test_unknown_sessions_are_404_with_a_message(api):
    for r in (api.get("/api/train/weights", params={"session": "nobody-here-1"}),
              api.post("/api/train/predict", json={"session": "nobody-here-1", "pixels": [[0.0] * 28] * 28})):
        assert r.status_code == 404 and "press Start" in r.json()["detail"]
    assert api.get("/api/train/digits", params={"model": "large"}).status_code == 422
    assert api.get("/api/train/augmented", params={"index": 1294}).status_code == 422
