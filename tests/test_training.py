"""The Train lab's network: whole-network gradient check, and learning from a fixed seed."""
import time

import numpy as np
import pytest

from app.labs.train import small as training
from app.labs.train.small import Trainer, backward, forward, init_params, load_digits_split, softmax_cross_entropy


def naive_loss(params, x, y):
    logits, _ = forward(params, x)
    return softmax_cross_entropy(logits, y)[0]


def test_data_split_is_fixed_and_disjoint():
    d = load_digits_split()
    assert d.x_train.shape[1:] == (8, 8) and len(d.y_train) + len(d.y_test) == 1797
    assert len(d.y_test) == 359
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    # Same split every time, and no test image is also a training image (by content).
    assert load_digits_split() is d
    train_rows = {row.tobytes() for row in d.x_train}
    overlap = sum(row.tobytes() in train_rows for row in d.x_test)
    assert overlap < 5  # the digits set has a handful of exact duplicates, nothing more


def test_softmax_cross_entropy_matches_definition():
    logits = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 1000.0]])
    loss, grad, p = softmax_cross_entropy(logits, np.array([0, 2]))
    p0 = np.exp(logits[0]) / np.exp(logits[0]).sum()
    assert np.allclose(p[0], p0) and np.allclose(p[1], [0, 0, 1])
    assert loss == pytest.approx(-np.log(p0[0]) / 2)
    assert np.allclose(grad[0], (p0 - [1, 0, 0]) / 2)


def test_whole_network_gradient_matches_central_differences():
    """Every parameter of conv → relu → pool → conv → relu → pool → dense → relu → dense → softmax CE."""
    rng = np.random.default_rng(3)
    params = init_params(filters=2, hidden=5, seed=1, dtype=np.float64)
    for k in params:
        if k.startswith("b"):
            params[k] = rng.normal(0, 0.1, params[k].shape)  # non-zero biases exercise their gradients
    x = rng.random((3, 8, 8))
    y = np.array([1, 7, 3])
    logits, cache = forward(params, x)
    _, g_logits, _ = softmax_cross_entropy(logits, y)
    analytic = backward(params, cache, g_logits)
    eps = 1e-6
    worst = 0.0
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = naive_loss(params, x, y)
            p[i] = old - eps
            down = naive_loss(params, x, y)
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        assert analytic[name].shape == p.shape
        worst = max(worst, float(np.abs(analytic[name] - numeric).max()))
        assert np.allclose(analytic[name], numeric, rtol=1e-5, atol=1e-8), name
    assert worst < 1e-7


def test_adam_and_sgd_lower_the_loss_on_one_batch():
    for optimizer, lr in (("adam", 0.01), ("sgd", 0.05)):
        t = Trainer(optimizer=optimizer, lr=lr, filters=4)
        x, y = t.data.x_train[:64], t.data.y_train[:64]
        before = naive_loss(t.params, x, y)
        for _ in range(40):
            loss, grads = training.loss_and_grads(t.params, x, y)
            t.opt.step(t.params, grads)
        assert naive_loss(t.params, x, y) < 0.6 * before, optimizer


def test_training_from_fixed_seed_reaches_80_percent_held_out():
    # A budget in batches, not seconds (seed 0 passes 80 % after 40; how fast that is
    # on a given machine is bench/train.py's question, not a test's).
    t = Trainer(seed=0)
    for _ in range(80):
        t.run_batch()
    acc = t.test_accuracy()
    assert acc >= 0.80, f"held-out accuracy {acc:.3f} after 80 batches ({t.epoch:.2f} epochs)"


def test_explain_returns_probabilities_and_every_layer():
    t = Trainer(filters=4)
    out = training.explain(t.params, t.data.x_test[0])
    assert out["probabilities"].shape == (10,) and out["probabilities"].sum() == pytest.approx(1.0)
    shapes = {name: a.shape for name, a in out["layers"]}
    assert shapes["conv1 + ReLU"] == (4, 8, 8) and shapes["pool1"] == (4, 4, 4)
    assert shapes["conv2 + ReLU"] == (8, 4, 4) and shapes["pool2"] == (8, 2, 2) and shapes["logits"] == (10,)


# --------------------------------------------------------------------------- sessions and API


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_runs_are_bounded_in_time_and_stop_when_nobody_watches():
    from app.labs.train.sessions import TrainSessions

    sessions = TrainSessions(max_active=2, max_seconds=0.6, idle_seconds=30)
    run = sessions.start("timeboundA", lr=0.01, batch_size=32, filters=4)
    assert wait_for(lambda: not run.active)
    assert run.state == "done" and "time limit" in run.reason and run.trained_seconds < 1.5

    sessions = TrainSessions(max_active=2, max_seconds=60, idle_seconds=0.3)
    run = sessions.start("abandoned", lr=0.01, batch_size=32, filters=4)
    assert wait_for(lambda: not run.active)  # nobody touched it: the slot frees itself
    assert run.state == "stopped" and sessions.active_count() == 0


def test_api_start_capacity_pause_resume_predict_reset():
    from tests.conftest import make_client

    with make_client(max_train_sessions=1) as c:
        r = c.post("/api/train/start", json={"session": "page-one-1", "filters": 4, "lr": 0.02})
        assert r.status_code == 200
        assert r.json()["state"] == "running" and r.json()["knobs"]["filters"] == 4
        assert len(r.json()["filters"]) == 4 and len(r.json()["filters"][0]) == 3

        busy = c.post("/api/train/start", json={"session": "page-two-2"})
        assert busy.status_code == 503
        assert busy.json()["detail"].startswith("server at capacity")
        assert busy.headers["retry-after"] == "30"

        assert wait_for(lambda: len(c.get("/api/train/status", params={"session": "page-one-1"}).json()["points"]) >= 3)
        assert c.post("/api/train/config", json={"session": "page-one-1", "batch_size": 16}).json()["knobs"][
            "batch_size"] == 16
        paused = c.post("/api/train/pause", json={"session": "page-one-1"})
        assert paused.status_code == 200 and paused.json()["state"] == "paused"
        assert c.post("/api/train/pause", json={"session": "page-one-1"}).status_code == 409
        # A paused run frees its slot.
        assert c.post("/api/train/start", json={"session": "page-two-2"}).status_code == 200
        assert c.post("/api/train/resume", json={"session": "page-one-1"}).status_code == 503
        c.post("/api/train/reset", json={"session": "page-two-2"})

        digit = c.get("/api/train/digits", params={"count": 2}).json()["digits"][0]
        p = c.post("/api/train/predict", json={"session": "page-one-1", "pixels": digit["pixels"]})
        assert p.status_code == 200
        body = p.json()
        assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert body["predicted"] == int(np.argmax(body["probabilities"]))
        assert [layer["name"] for layer in body["layers"]][:3] == ["input", "conv1 + ReLU", "pool1"]

        assert c.post("/api/train/resume", json={"session": "page-one-1"}).json()["state"] == "running"
        assert c.post("/api/train/reset", json={"session": "page-one-1"}).json() == {"state": "none"}
        missing = c.get("/api/train/status", params={"session": "page-one-1"})
        assert missing.status_code == 404 and "press Start" in missing.json()["detail"]


def test_api_rejects_bad_knobs_and_pixels():
    from tests.conftest import make_client

    with make_client() as c:
        r = c.post("/api/train/start", json={"session": "knobs-page", "lr": 5})
        assert r.status_code == 422 and "lr" in r.json()["detail"]
        assert c.post("/api/train/start", json={"session": "x"}).status_code == 422
        bad = c.post("/api/train/predict", json={"session": "knobs-page", "pixels": [[0.5] * 8] * 7})
        assert bad.status_code == 422 and "8 rows of 8" in bad.json()["detail"]
        none = c.post("/api/train/predict", json={"session": "knobs-page", "pixels": [[0.5] * 8] * 8})
        assert none.status_code == 404 and "press Start" in none.json()["detail"]


def test_progress_stream_sends_events_and_ends_when_the_run_stops():
    import json

    from tests.conftest import make_client

    with make_client() as c:
        c.post("/api/train/start", json={"session": "stream-page", "filters": 4})
        events = []
        with c.stream("GET", "/api/train/stream", params={"session": "stream-page"}) as s:
            assert s.headers["content-type"].startswith("text/event-stream")
            for line in s.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if len(events) == 3:
                        c.post("/api/train/pause", json={"session": "stream-page"})
                if events and events[-1]["state"] != "running":
                    break
        assert len(events) >= 4 and events[-1]["state"] == "paused"
        assert sum(len(e["points"]) for e in events) >= 2 and events[0]["filters"]
        c.post("/api/train/reset", json={"session": "stream-page"})
