"""Parameter fuzzing: schemathesis against /openapi.json in-process, plus hypothesis on the request schemas.

No generated request may get a 5xx, hang, or an undocumented status; every 4xx
carries a ``detail``. The counts (cases, 5xx) are printed at the end of the run.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from app.config import Settings
from app.main import create_app
from app.imaging.samples import load_samples
from tests._report import report

# Small limits keep every generated request cheap; the rules under test are the same.
FUZZ_SETTINGS = Settings(max_work=20_000_000, max_json_elements=20_000, max_output_elements=2_000_000,
                         max_json_response_elements=200_000, cache_bytes=32 * 1024 * 1024)
app = create_app(FUZZ_SETTINGS)
load_samples(app.state.store)  # the lifespan's job; schemathesis calls the ASGI app directly

# Long-running or streaming operations of the train lab are driven by its own tests.
schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(
    path_regex=r"^/api/train/(stream|start|resume)$"
)
# Examples from the schema plus random generation; the exhaustive "coverage" phase alone would
# take minutes on two cores.
schema.config.phases.update(phases=["examples", "fuzzing"])

COUNTS = {"cases": 0, "5xx": 0, "slowest": 0.0, "operations": set()}
EXAMPLES = 48  # per operation (small operations exhaust earlier): about 1,150 cases in all


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_openapi_contract(case):
    t0 = time.perf_counter()
    response = case.call(timeout=120)  # generous: CI machines are shared and slow at times
    elapsed = time.perf_counter() - t0
    COUNTS["cases"] += 1
    COUNTS["operations"].add(f"{case.method} {case.path}")
    COUNTS["slowest"] = max(COUNTS["slowest"], elapsed)
    if response.status_code >= 500:
        COUNTS["5xx"] += 1
    report("fuzz", f"schemathesis: {COUNTS['cases']} generated cases over {len(COUNTS['operations'])} operations, "
                   f"{COUNTS['5xx']} answered 5xx, slowest {COUNTS['slowest']:.2f} s")
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
    content_type = response.headers.get("content-type") or [""]
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if 400 <= response.status_code < 500 and content_type.startswith("application/json"):
        detail = response.json().get("detail")
        assert isinstance(detail, str) and detail, response.text
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])


# --- hypothesis on the JSON schemas of conv2d/pool2d: hostile values, shapes, nesting ------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(), st.none(), st.text(max_size=3),
)
ragged = st.recursive(numbers, lambda inner: st.lists(inner, max_size=4), max_leaves=30)
sizes = st.one_of(st.integers(-(10**12), 10**12), st.lists(st.integers(-5, 5000), max_size=3), st.text(max_size=5),
                  st.floats(), st.none())


@st.composite
def conv_bodies(draw):
    body = {}
    if draw(st.booleans()):
        body["input"] = draw(ragged)
    else:
        body["image_id"] = draw(st.sampled_from(["sample-square", "sample-astronaut", "../x", "", "0" * 24,
                                                 "sample-" + "a" * 60]))
    body["weight"] = draw(st.one_of(ragged, st.just([[[[1.0, -1.0]]]])))
    for key in ("stride", "padding", "dilation", "groups", "kernel_size"):
        if draw(st.booleans()):
            body[key] = draw(sizes)
    if draw(st.booleans()):
        body["grad_output"] = draw(st.one_of(ragged, st.fixed_dictionaries(
            {"kind": st.sampled_from(["ones", "one_hot", "random", "x"])},
            optional={"index": st.lists(st.integers(-3, 10**9), max_size=4), "seed": st.integers(-5, 2**70)})))
    if draw(st.booleans()):
        body[draw(st.text(min_size=1, max_size=8))] = draw(numbers)
    return body


@pytest.fixture(scope="module")
def fuzz_client():
    with TestClient(create_app(FUZZ_SETTINGS)) as c:
        yield c


HYPOTHESIS_CASES = {"n": 0}


@pytest.mark.parametrize("path", ["/api/conv2d", "/api/pool2d"])
def test_hostile_json_bodies(fuzz_client, path):
    @settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(body=conv_bodies())
    def run(body):
        if path == "/api/pool2d":
            body.pop("weight", None)
        raw = json.dumps(body, allow_nan=True)  # NaN and ±Infinity as JavaScript would send them
        r = fuzz_client.post(path, content=raw, headers={"Accept": "application/x-convlab-arrays",
                                                         "Content-Type": "application/json"})
        HYPOTHESIS_CASES["n"] += 1
        assert r.status_code in (200, 404, 413, 422), (body, r.status_code, r.text[:300])
        if r.status_code != 200:
            detail = r.json()["detail"]
            assert isinstance(detail, str) and detail

    run()
    report("hypothesis", f"hypothesis: {HYPOTHESIS_CASES['n']} hostile JSON bodies on /api/conv2d and /api/pool2d, "
                         "no 5xx")


def test_fuzzed_enough():
    """Runs after the contract test (file order): the bounded run still tried over 1,000 cases."""
    if len(COUNTS["operations"]) < 20:
        pytest.skip("the schemathesis test was deselected or failed early")
    assert COUNTS["cases"] >= 1000, COUNTS["cases"]


def test_million_element_array_is_refused(fuzz_client):
    body = {"input": np.zeros((1, 1000, 1000)).tolist(), "weight": [[[[1.0]]]]}
    r = fuzz_client.post("/api/conv2d", json=body)
    assert r.status_code == 413
    assert r.json()["detail"].startswith("input: 1,000,000 numbers exceed the limit of 20,000")
