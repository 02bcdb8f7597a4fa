"""Class mode over HTTP: auth, rounds, reveal, CSV, answer replacement, no leak, bad input.

Every test runs against both stores: this process's memory, and a real redis-server
(tests/redis_server.py: skipped only when redis-server is absent outside CI).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings as hsettings, strategies as st

from app.config import Settings
from app.labs.classmode import rules
from app.labs.classmode.memory import MemoryClassStore
from app.main import create_app
from tests.redis_server import redis_url  # noqa: F401  (session fixture)


def run_coroutine(coro):
    """Run ``coro`` to completion on its own event loop in a fresh thread: Playwright's sync
    API (the e2e tests in the same pytest session) leaves a loop running in the main thread,
    where asyncio.run() refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


CHOICE_Q = {"prompt": "A 5×5 input, a 3×3 kernel, no padding, stride 1: how many rows does the output have?",
            "choices": ["2", "3", "4", "5"], "answer": "3",
            "working": ["H_out = ⌊(n + 2p − k)/s⌋ + 1 = ⌊(5 − 3)/1⌋ + 1 = 3"]}
NUMBER_Q = {"prompt": "How many parameters has a 3×3 conv from 16 to 32 channels with biases?", "answer": 4640}


@pytest.fixture(scope="module", params=["memory", "redis"])
def client(request):
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    with TestClient(create_app(Settings(redis_url=url))) as c:
        yield c


def start(client) -> tuple[str, dict]:
    r = client.post("/api/class")
    assert r.status_code == 201, r.text
    body = r.json()
    return body["code"], {"Authorization": f"Bearer {body['teacher_token']}"}


def join(client, code: str, nickname: str | None = None) -> str:
    r = client.post(f"/api/class/{code}/join", json={} if nickname is None else {"nickname": nickname})
    assert r.status_code == 200, r.text
    return r.json()["student"]


def ask(client, code, auth, question=CHOICE_Q) -> int:
    r = client.post(f"/api/class/{code}/questions", json=question, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()["question"]


def answer(client, code, student, question, value):
    return client.post(f"/api/class/{code}/answers", json={"student": student, "question": question, "value": value})


def tally(client, code, auth, **params):
    r = client.get(f"/api/class/{code}/tally", headers=auth, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_start_gives_code_token_and_join_url(client):
    r = client.post("/api/class")
    assert r.status_code == 201
    body = r.json()
    assert re.fullmatch(r"[A-Z2-9]{6}", body["code"])
    assert len(body["teacher_token"]) >= 24
    assert body["join_url"] == f"http://testserver/join/{body['code']}"
    codes = {client.post("/api/class").json()["code"] for _ in range(20)}
    assert len(codes) == 20


def test_teacher_calls_need_the_token(client):
    code, auth = start(client)
    other_code, other_auth = start(client)
    student = join(client, code)
    number = ask(client, code, auth)
    teacher_calls = [
        ("post", f"/api/class/{code}/questions", {"json": CHOICE_Q}),
        ("get", f"/api/class/{code}/tally", {}),
        ("get", f"/api/class/{code}/stream", {"params": {"max_events": 1}}),
        ("post", f"/api/class/{code}/revote", {}),
        ("post", f"/api/class/{code}/reveal", {}),
        ("get", f"/api/class/{code}/results.csv", {}),
        ("delete", f"/api/class/{code}", {}),
    ]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": auth["Authorization"][7:]},
                    other_auth):
        for method, path, kwargs in teacher_calls:
            r = getattr(client, method)(path, headers=headers, **kwargs)
            assert r.status_code == 403, (method, path, headers, r.text)
            assert "teacher token" in r.json()["detail"]
    # Joining, reading the question and answering need no token.
    assert client.get(f"/api/class/{code}/current", params={"student": student}).status_code == 200
    assert answer(client, code, student, number, "3").status_code == 204
    assert tally(client, code, auth)["answered"] == 1


def test_unknown_code_is_404_everywhere(client):
    code, auth = start(client)
    for missing in ("ZZZZZZ", "ABC", "abc-def!", "I0I0I0"):
        calls = [
            client.post(f"/api/class/{missing}/join", json={}),
            client.get(f"/api/class/{missing}/current"),
            client.post(f"/api/class/{missing}/answers", json={"student": "x", "question": 1, "value": "1"}),
            client.get(f"/api/class/{missing}/tally", headers=auth),
            client.post(f"/api/class/{missing}/questions", json=CHOICE_Q, headers=auth),
            client.get(f"/api/class/{missing}/qr.svg"),
            client.get(f"/api/class/{missing}/results.csv", headers=auth),
        ]
        for r in calls:
            assert r.status_code == 404, r.text
            assert "no class with code" in r.json()["detail"]
    # A student types the code in lower case or with a dash: still their class.
    assert client.post(f"/api/class/{code[:3].lower()}-{code[3:]}/join", json={}).status_code == 200


def test_predict_discuss_vote_again_reveal(client):
    code, auth = start(client)
    students = [join(client, code, f"s{i}") for i in range(5)]
    assert tally(client, code, auth) == {"question": None, "joined": 5, "answered": 0, "counts": {}, "round": 0,
                                         "revealed": False, "status": "waiting", "rounds": [], "explanations": []}
    number = ask(client, code, auth)
    for s, v in zip(students, ["2", "3", "4", "4", "5"]):
        assert answer(client, code, s, number, v).status_code == 204
    t = tally(client, code, auth)
    assert t["counts"] == {"2": 1, "3": 1, "4": 2, "5": 1}
    assert (t["joined"], t["answered"], t["round"], t["revealed"]) == (5, 5, 1, False)
    assert "answer" not in t and t["explanations"] == []

    r = client.post(f"/api/class/{code}/revote", headers=auth)
    assert r.status_code == 200
    assert r.json()["round"] == 2 and r.json()["answered"] == 0
    assert r.json()["counts"] == {"2": 0, "3": 0, "4": 0, "5": 0}
    for s, v in zip(students[:4], ["3", "3", "3", "4"]):
        assert answer(client, code, s, number, v).status_code == 204
    t = tally(client, code, auth)
    assert [x["counts"] for x in t["rounds"]] == [{"2": 1, "3": 1, "4": 2, "5": 1}, {"2": 0, "3": 3, "4": 1, "5": 0}]
    assert t["counts"] == t["rounds"][1]["counts"] and t["answered"] == 4

    r = client.post(f"/api/class/{code}/reveal", headers=auth)
    assert r.status_code == 200
    t = r.json()
    assert t["revealed"] and t["answer"] == "3" and t["working"] == CHOICE_Q["working"]
    assert [x["correct"] for x in t["rounds"]] == [1, 3]
    # The same tally for an explicit question number.
    assert tally(client, code, auth, question=number) == t

    # Phones see the answer now, and their own verdict (the last round they answered counts).
    view = client.get(f"/api/class/{code}/current", params={"student": students[3]}).json()
    assert view["answer"] == "3" and view["mine"] == {"value": "4", "correct": False, "explained": False}
    view = client.get(f"/api/class/{code}/current", params={"student": students[4]}).json()
    assert view["mine"]["value"] == "5" and view["mine"]["correct"] is False  # answered in round 1 only


def test_second_answer_in_a_round_replaces_the_first(client):
    code, auth = start(client)
    a, b = join(client, code), join(client, code)
    number = ask(client, code, auth, NUMBER_Q)
    for value in (100, "4,640", 4640.0, " 4640 "):
        assert answer(client, code, a, number, value).status_code == 204
    assert answer(client, code, b, number, "−12").status_code == 204
    t = tally(client, code, auth)
    assert t["counts"] == {"-12": 1, "4640": 1}
    assert t["answered"] == 2
    view = client.get(f"/api/class/{code}/current", params={"student": a}).json()
    assert view["mine"] == {"value": "4640", "round": 1}


def test_no_answer_before_the_reveal(client):
    code, auth = start(client)
    s = join(client, code)
    secret = {"prompt": "Which padding keeps a 7×7 map 7×7 under a 5×5 kernel?", "choices": ["0", "1", "2", "3"],
              "answer": "2", "working": ["p = (k − 1)/2 = SECRET-WORKING"]}
    number = ask(client, code, auth, secret)
    states = [lambda: None, lambda: answer(client, code, s, number, "1"),
              lambda: client.post(f"/api/class/{code}/revote", headers=auth)]
    for step in states:
        step()
        for params in ({}, {"student": s}):
            r = client.get(f"/api/class/{code}/current", params=params)
            body = r.json()
            assert r.status_code == 200 and body["status"] == "open"
            assert "answer" not in body and "working" not in body and "SECRET" not in r.text
            assert "correct" not in json.dumps(body.get("mine") or {})
        t = tally(client, code, auth)
        assert "answer" not in t and "SECRET" not in json.dumps(t)
    client.post(f"/api/class/{code}/reveal", headers=auth)
    body = client.get(f"/api/class/{code}/current").json()
    assert body["answer"] == "2" and body["working"] == secret["working"]


def test_explain_the_gap(client):
    code, auth = start(client)
    right, wrong, silent = join(client, code, "Ada"), join(client, code, "Bo"), join(client, code)
    number = ask(client, code, auth)
    answer(client, code, right, number, "3")
    answer(client, code, wrong, number, "5")
    why = {"student": wrong, "question": number, "text": "I forgot that the kernel  needs room at the edge"}
    r = client.post(f"/api/class/{code}/explanations", json=why)
    assert r.status_code == 409 and "after the reveal" in r.json()["detail"]
    client.post(f"/api/class/{code}/reveal", headers=auth)
    assert client.post(f"/api/class/{code}/explanations", json=why).status_code == 204
    for student, reason in ((right, "was right"), (silent, "did not answer")):
        r = client.post(f"/api/class/{code}/explanations", json={**why, "student": student})
        assert r.status_code == 409 and reason in r.json()["detail"]
    t = tally(client, code, auth)
    assert t["explanations"] == [{"answer": "5", "text": "I forgot that the kernel needs room at the edge"}]
    text = json.dumps(t)
    assert "Ada" not in text and "Bo" not in text and wrong not in text
    assert client.get(f"/api/class/{code}/current", params={"student": wrong}).json()["mine"]["explained"] is True


def test_results_csv(client):
    code, auth = start(client)
    s1, s2 = join(client, code), join(client, code)
    q1 = ask(client, code, auth)
    answer(client, code, s1, q1, "4")
    answer(client, code, s2, q1, "3")
    client.post(f"/api/class/{code}/revote", headers=auth)
    answer(client, code, s1, q1, "3")
    client.post(f"/api/class/{code}/reveal", headers=auth)
    q2 = ask(client, code, auth, {**NUMBER_Q, "prompt": "=HYPERLINK(\"x\") how many?"})
    answer(client, code, s2, q2, 4000)
    client.post(f"/api/class/{code}/reveal", headers=auth)
    client.post(f"/api/class/{code}/explanations", json={"student": s2, "question": q2, "text": "-forgot, the bias"})
    r = client.get(f"/api/class/{code}/results.csv", headers=auth)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert f"convlab-class-{code}.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["question", "prompt", "round", "student", "answer", "correct", "explanation"]
    got = [(x["question"], x["round"], x["student"], x["answer"], x["correct"], x["explanation"]) for x in rows]
    assert got == [("1", "1", "1", "4", "no", ""), ("1", "1", "2", "3", "yes", ""), ("1", "2", "1", "3", "yes", ""),
                   ("2", "1", "2", "4000", "no", "'-forgot, the bias")]
    assert rows[-1]["prompt"].startswith("'=")  # a spreadsheet shows it as text, never runs it


def test_bad_input_is_a_clear_4xx(client):
    code, auth = start(client)
    s = join(client, code)
    r = client.post(f"/api/class/{code}/join", json={"nickname": "x" * 25})
    assert r.status_code == 422 and "nickname" in r.json()["detail"]
    r = client.post(f"/api/class/{code}/join", content=b"not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = client.post(f"/api/class/{code}/revote", headers=auth)
    assert r.status_code == 409 and "no question yet" in r.json()["detail"]
    bad_questions = [
        ({**CHOICE_Q, "answer": "7"}, "answer"),
        ({**CHOICE_Q, "choices": ["1", "1"]}, "choices"),
        ({**CHOICE_Q, "choices": ["only"]}, "choices"),
        ({**NUMBER_Q, "answer": "many"}, "answer"),
        ({"prompt": "", "answer": 1}, "prompt"),
        ({"prompt": "p" * 501, "answer": 1}, "prompt"),
        ({"answer": 1}, "prompt"),
        ({**NUMBER_Q, "tolerance": -1}, "tolerance"),
    ]
    for body, field in bad_questions:
        r = client.post(f"/api/class/{code}/questions", json=body, headers=auth)
        assert r.status_code == 422 and field in r.json()["detail"], (body, r.text)
    q1 = ask(client, code, auth)
    for value, status, words in [("7", 422, "not one of the choices"), ("", 422, "value"), (True, 422, "value")]:
        r = answer(client, code, s, q1, value)
        assert r.status_code == status and words in r.json()["detail"], r.text
    r = answer(client, code, "not-a-student", q1, "3")
    assert r.status_code == 404 and "join again" in r.json()["detail"]
    r = answer(client, code, s, 99, "3")
    assert r.status_code == 404 and "no question 99" in r.json()["detail"]
    r = client.get(f"/api/class/{code}/current", params={"student": "ghost"})
    assert r.status_code == 404
    client.post(f"/api/class/{code}/revote", headers=auth)
    r = client.post(f"/api/class/{code}/revote", headers=auth)
    assert r.status_code == 409 and "second vote" in r.json()["detail"]
    client.post(f"/api/class/{code}/reveal", headers=auth)
    r = answer(client, code, s, q1, "3")
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    r = client.post(f"/api/class/{code}/revote", headers=auth)
    assert r.status_code == 409 and "already revealed" in r.json()["detail"]
    q2 = ask(client, code, auth, NUMBER_Q)
    r = answer(client, code, s, q2, "twelve")
    assert r.status_code == 422 and "not a number" in r.json()["detail"]
    r = answer(client, code, s, q2, 1e300)
    assert r.status_code == 422
    ask(client, code, auth, NUMBER_Q)
    r = answer(client, code, s, q2, 4640)
    assert r.status_code == 409 and "moved on to question 3" in r.json()["detail"]
    r = client.get(f"/api/class/{code}/tally", headers=auth, params={"question": 9})
    assert r.status_code == 404
    r = client.post(f"/api/class/{code}/explanations", json={"student": s, "question": q1, "text": "y" * 201})
    assert r.status_code == 422 and "text" in r.json()["detail"]


def test_stream_sends_the_tally(client):
    code, auth = start(client)
    s = join(client, code)
    number = ask(client, code, auth)
    answer(client, code, s, number, "4")
    r = client.get(f"/api/class/{code}/stream", headers=auth, params={"max_events": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert json.loads(data[0]) == tally(client, code, auth)


def test_end_class_forgets_it(client):
    code, auth = start(client)
    join(client, code)
    assert client.delete(f"/api/class/{code}", headers=auth).status_code == 204
    assert client.get(f"/api/class/{code}/current").status_code == 404
    assert client.get(f"/api/class/{code}/tally", headers=auth).status_code == 404


def test_qr_code_and_join_page(client):
    import segno

    code, _ = start(client)
    r = client.get(f"/api/class/{code}/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.text.startswith("<svg") and f"QR code of http://testserver/join/{code}" in r.text
    # The same symbol segno makes for the join URL (so the phone's camera reads that URL).
    expected = io.BytesIO()
    segno.make(f"http://testserver/join/{code}", error="m", micro=False).save(
        expected, kind="svg", scale=8, border=2, xmldecl=False, omitsize=True, dark="#000000", light="#ffffff",
        title=f"QR code of http://testserver/join/{code}")
    assert r.content == expected.getvalue()
    for path in (f"/join/{code}", f"/join/{code.lower()}", "/join", "/join/nonsense"):
        page = client.get(path)
        assert page.status_code == 200 and "student-answer" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None or "application/json" in page.text


def test_several_workers_without_redis_refuse_class_mode():
    with TestClient(create_app(Settings(workers=2))) as c:
        r = c.post("/api/class")
        assert r.status_code == 503
        assert "CONVLAB_REDIS_URL" in r.json()["detail"] and "--workers 1" in r.json()["detail"]


def test_unreachable_redis_is_503_not_500():
    with TestClient(create_app(Settings(redis_url="redis://127.0.0.1:1/0"))) as c:
        r = c.post("/api/class")
        assert r.status_code == 503 and "cannot reach Redis at 127.0.0.1:1" in r.json()["detail"]


def test_idle_class_is_forgotten():
    now = [1000.0]
    store = MemoryClassStore(idle_seconds=3600, clock=lambda: now[0])

    async def story():
        code, _, _ = await store.create(lambda c: f"http://x/join/{c}")
        student = await store.join(code, "")
        now[0] += 3000
        await store.ask(code, rules.make_question("q", 1))  # activity renews the hour
        now[0] += 3000
        await store.answer(code, student, 1, 1)
        now[0] += 3601
        with pytest.raises(rules.ClassNotFound):
            await store.tally(code)
        assert store._classes == {}

    run_coroutine(story())


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", "c"]), st.booleans()), max_size=40))
def test_tally_counts_each_students_last_answer_once(steps):
    """Any order of answers and revotes: each round's counts are the last answer of each student in it."""
    store = MemoryClassStore()

    async def story():
        code, _, _ = await store.create(lambda c: c)
        students = [await store.join(code, "") for _ in range(6)]
        await store.ask(code, rules.make_question("pick", "b", ["a", "b", "c"]))
        expected: dict[int, dict[str, str]] = {1: {}}
        for who, value, revote in steps:
            if revote and len(expected) < rules.MAX_ROUNDS:
                await store.revote(code)
                expected[len(expected) + 1] = {}
            await store.answer(code, students[who], 1, value)
            expected[len(expected)][students[who]] = value
        t = await store.tally(code)
        for entry in t["rounds"]:
            last = expected[entry["round"]]
            assert entry["counts"] == {c: sum(v == c for v in last.values()) for c in "abc"}
            assert entry["answered"] == len(last)

    run_coroutine(story())


def test_figures_reach_the_projector_and_the_phones(client):
    code, auth = start(client)
    grid = [[0, 5, 3, 7], [7, 8, 8, 6], [3, 8, 8, 1], [6, 0, 0, 1.5]]
    ask(client, code, auth, {"prompt": "2×2 max pooling, stride 2: output[0, 1]?", "answer": 8,
                             "figures": [{"label": "Input x", "grid": grid}]})
    expected = [{"label": "Input x", "grid": grid}]
    assert tally(client, code, auth)["figures"] == expected
    assert client.get(f"/api/class/{code}/current").json()["figures"] == expected
    r = client.post(f"/api/class/{code}/questions", headers=auth,
                    json={"prompt": "p", "answer": 1, "figures": [{"label": "x", "grid": [[1] * 13]}]})
    assert r.status_code == 422 and "grid" in r.json()["detail"]
