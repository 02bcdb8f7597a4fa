"""The rules of a class, with no storage in sight: codes, questions, answers, tallies, CSV.

Both stores (memory.py, redis_store.py) keep the same records and call these functions,
so a class behaves the same on one laptop and on several workers behind Redis.

Peer instruction in ConvLab (Crouch, Fagen, Callan & Mazur, Am. J. Phys. 72, 835, 2004:
predicting, and better predicting and discussing, beats watching): a question has up to
``MAX_ROUNDS`` rounds of answers (predict, discuss, vote again), then the reveal; after
it, students whose last answer missed may write one line on why (Kim, Reinecke &
Hullman, CHI 2017, "explain the gap").
"""
from __future__ import annotations

import csv
import io
import math
import secrets
from dataclasses import dataclass, field

from app.errors import InvalidArgument

# Join codes: 6 characters of A–Z and 2–9 without I and O, which read as 1 and 0 on a
# projector (32 symbols, 2^30 codes: guessing a live one is hopeless).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6

MAX_ROUNDS = 2
NICKNAME_MAX = 24
PROMPT_MAX = 500
CHOICE_MAX = 80
CHOICES_MIN, CHOICES_MAX = 2, 8
EXPLANATION_MAX = 200
WORKING_LINES_MAX = 12
WORKING_LINE_MAX = 300
FIGURES_MAX = 3
FIGURE_SIDE_MAX = 12
NUMBER_LIMIT = 1e12  # numeric answers beyond this are typing accidents


class ClassModeError(Exception):
    """A request a class cannot honour; ``status_code`` says which kind (the API maps it)."""

    status_code = 409

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code


class ClassNotFound(ClassModeError):
    status_code = 404


class NotTeacher(ClassModeError):
    status_code = 403


class ClassModeUnavailable(ClassModeError):
    status_code = 503


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_student_id() -> str:
    return secrets.token_urlsafe(12)


def normalise_code(text: str) -> str:
    """What a student typed ("abc 234", "ABC-234") as a code, or raise ClassNotFound."""
    code = "".join(ch for ch in str(text).upper() if ch not in " -_")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise ClassNotFound(f"there is no class with code {str(text)[:20]!r}: a code is {CODE_LENGTH} letters "
                            f"and digits, as shown on the projector")
    return code


def unknown_class(code: str) -> ClassNotFound:
    return ClassNotFound(f"there is no class with code {code} (it may have ended after a long pause); "
                         "check the code on the projector")


def clean_nickname(nickname: str | None) -> str:
    text = " ".join(str(nickname or "").split())
    if len(text) > NICKNAME_MAX:
        raise InvalidArgument(f"nickname: at most {NICKNAME_MAX} characters, not {len(text)}")
    return text


def format_number(v: float) -> str:
    """One spelling per number: 14, -3, 0.5, 1.25e-07 (so "14", 14 and 14.0 count as one bar)."""
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.10g}"


def parse_number(value, what: str) -> float:
    """A finite number from a JSON number or from text such as "14", " 3,136 " or "−2.5"."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{what}: expected a number, not {str(value).lower()}")
    if isinstance(value, (int, float)):
        v = float(value)
    else:
        text = str(value).strip().replace("−", "-").replace(",", "").replace("_", "").replace(" ", "")
        try:
            v = float(text)
        except ValueError:  # float()'s own message is not for people
            raise InvalidArgument(f"{what}: {str(value)[:40]!r} is not a number; type digits such as 14 or 0.5") from None
    if not math.isfinite(v) or abs(v) > NUMBER_LIMIT:
        raise InvalidArgument(f"{what}: {str(value)[:40]} is not a number between -10^12 and 10^12")
    return v


@dataclass(frozen=True)
class Figure:
    """A small grid of numbers the question refers to (an input patch, a kernel)."""

    label: str
    grid: list[list[float]]

    def public(self) -> dict:
        return {"label": self.label, "grid": self.grid}


@dataclass(frozen=True)
class Question:
    """What the teacher asked: multiple choice (``choices``) or a number (within ``tolerance``)."""

    prompt: str
    answer: str                      # a choice, or a number in format_number's spelling
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0
    figures: tuple[Figure, ...] = ()
    working: tuple[str, ...] = ()    # the worked answer, shown with the reveal
    source: str = ""                 # where it came from, e.g. "exercise:conv:size" (for the CSV reader)

    @property
    def kind(self) -> str:
        return "choice" if self.choices else "number"

    def canonical(self, value) -> str:
        """A student's answer in the spelling the tally counts, or InvalidArgument saying what is allowed."""
        if self.choices:
            text = format_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
                else " ".join(str(value).split())
            if text not in self.choices:
                shown = ", ".join(self.choices)
                raise InvalidArgument(f"value: {text[:40]!r} is not one of the choices ({shown[:200]})")
            return text
        return format_number(parse_number(value, "value"))

    def is_correct(self, canonical: str) -> bool:
        if self.choices:
            return canonical == self.answer
        return abs(float(canonical) - float(self.answer)) <= self.tolerance + 1e-9 * max(1.0, abs(float(self.answer)))

    def to_record(self) -> dict:
        return {"prompt": self.prompt, "answer": self.answer, "choices": list(self.choices),
                "tolerance": self.tolerance, "figures": [f.public() for f in self.figures],
                "working": list(self.working), "source": self.source}

    @classmethod
    def from_record(cls, record: dict) -> "Question":
        return cls(prompt=record["prompt"], answer=record["answer"], choices=tuple(record.get("choices") or ()),
                   tolerance=float(record.get("tolerance") or 0.0),
                   figures=tuple(Figure(f["label"], f["grid"]) for f in record.get("figures") or ()),
                   working=tuple(record.get("working") or ()), source=record.get("source") or "")


def make_question(prompt: str, answer, choices: list[str] | None = None, tolerance: float = 0.0,
                  figures: list[dict] | None = None, working: list[str] | None = None, source: str = "") -> Question:
    """Check a teacher's question and spell it canonically (InvalidArgument names the field at fault)."""
    prompt = str(prompt).strip()
    if not prompt:
        raise InvalidArgument("prompt: write the question students will see")
    if len(prompt) > PROMPT_MAX:
        raise InvalidArgument(f"prompt: at most {PROMPT_MAX} characters, not {len(prompt)}")
    if not math.isfinite(tolerance) or tolerance < 0:
        raise InvalidArgument("tolerance: must be a number ≥ 0")
    cleaned: tuple[str, ...] = ()
    if choices:
        cleaned = tuple(" ".join(str(c).split()) for c in choices)
        if not CHOICES_MIN <= len(cleaned) <= CHOICES_MAX:
            raise InvalidArgument(f"choices: give {CHOICES_MIN} to {CHOICES_MAX} choices, not {len(cleaned)}")
        if any(not c or len(c) > CHOICE_MAX for c in cleaned):
            raise InvalidArgument(f"choices: each choice is 1 to {CHOICE_MAX} characters")
        if len(set(cleaned)) != len(cleaned):
            raise InvalidArgument("choices: two choices are the same; each must differ")
    question = Question(prompt=prompt, answer="", choices=cleaned, tolerance=float(tolerance))
    try:
        spelled = question.canonical(answer)
    except InvalidArgument as exc:
        raise InvalidArgument(str(exc).replace("value:", "answer:", 1)) from None
    lines = tuple(str(line)[:WORKING_LINE_MAX] for line in (working or ())[:WORKING_LINES_MAX])
    figs = []
    for i, fig in enumerate((figures or ())[:FIGURES_MAX]):
        grid = [[float(v) for v in row] for row in fig.get("grid", [])]
        if not grid or len(grid) > FIGURE_SIDE_MAX or any(not row or len(row) > FIGURE_SIDE_MAX for row in grid):
            raise InvalidArgument(f"figures.{i}.grid: 1 to {FIGURE_SIDE_MAX} rows of 1 to {FIGURE_SIDE_MAX} numbers")
        if any(not math.isfinite(v) for row in grid for v in row):
            raise InvalidArgument(f"figures.{i}.grid: numbers must be finite")
        grid = [[int(v) if v.is_integer() else v for v in row] for row in grid]
        figs.append(Figure(str(fig.get("label", ""))[:60], grid))
    return Question(prompt=prompt, answer=spelled, choices=cleaned, tolerance=float(tolerance),
                    figures=tuple(figs), working=lines, source=str(source or "")[:60])


@dataclass
class QuestionState:
    """One question as a store holds it: the spec, the round, and every answer by round."""

    number: int
    question: Question
    round: int = 1
    revealed: bool = False
    answers: dict[int, dict[str, str]] = field(default_factory=dict)   # round -> student -> canonical value
    explanations: dict[str, str] = field(default_factory=dict)          # student -> one line

    @property
    def status(self) -> str:
        return "revealed" if self.revealed else "open"

    def last_answer(self, student: str) -> str | None:
        for r in range(self.round, 0, -1):
            if student in self.answers.get(r, {}):
                return self.answers[r][student]
        return None


def check_answerable(state: QuestionState | None, current: int, number: int) -> None:
    """Raise the reason a student may not answer question ``number`` now."""
    if state is None:
        raise ClassNotFound(f"question: there is no question {number} in this class")
    if state.revealed:
        raise ClassModeError(f"question {number} is closed: the teacher has revealed the answer")
    if number != current:
        raise ClassModeError(f"question {number} is closed: the teacher has moved on to question {current}")


def check_explainable(state: QuestionState | None, number: int, student: str) -> None:
    if state is None:
        raise ClassNotFound(f"question: there is no question {number} in this class")
    if not state.revealed:
        raise ClassModeError(f"question {number} is still open: explanations come after the reveal")
    last = state.last_answer(student)
    if last is None:
        raise ClassModeError(f"you did not answer question {number}, so there is no gap to explain")
    if state.question.is_correct(last):
        raise ClassModeError(f"your answer to question {number} was right: nothing to explain")


def clean_explanation(text: str) -> str:
    line = " ".join(str(text).split())
    if not line:
        raise InvalidArgument("text: write one line on why your prediction differed")
    if len(line) > EXPLANATION_MAX:
        raise InvalidArgument(f"text: at most {EXPLANATION_MAX} characters, not {len(line)}")
    return line


def _sorted_counts(question: Question, answers: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in answers.values():
        counts[value] = counts.get(value, 0) + 1
    if question.choices:  # every choice, in the teacher's order, zeros included
        return {c: counts.get(c, 0) for c in question.choices}
    return dict(sorted(counts.items(), key=lambda kv: float(kv[0])))


def tally(state: QuestionState | None, joined: int) -> dict:
    """The teacher's view (the stream sends this object): counts, never names.

    ``counts``/``answered``/``round`` describe the current round; ``rounds`` lists
    every round so the page can draw them side by side. The answer, the working
    and the students' explanations appear only after the reveal.
    """
    if state is None:
        return {"question": None, "joined": joined, "answered": 0, "counts": {}, "round": 0, "revealed": False,
                "status": "waiting", "rounds": [], "explanations": []}
    q = state.question
    rounds = []
    for r in range(1, state.round + 1):
        answers = state.answers.get(r, {})
        entry = {"round": r, "answered": len(answers), "counts": _sorted_counts(q, answers)}
        if state.revealed:
            entry["correct"] = sum(1 for v in answers.values() if q.is_correct(v))
        rounds.append(entry)
    out = {
        "question": state.number, "joined": joined, "answered": rounds[-1]["answered"], "counts": rounds[-1]["counts"],
        "round": state.round, "revealed": state.revealed, "status": state.status, "prompt": q.prompt, "kind": q.kind,
        "choices": list(q.choices) or None, "figures": [f.public() for f in q.figures], "rounds": rounds,
        "explanations": [],
    }
    if state.revealed:
        out["answer"] = q.answer
        out["working"] = list(q.working)
        out["explanations"] = [{"answer": state.last_answer(s) or "", "text": t}
                               for s, t in state.explanations.items()]
    return out


def student_view(state: QuestionState | None, student: str | None) -> dict:
    """What a phone shows. Before the reveal it holds no trace of the answer."""
    if state is None:
        return {"question": None, "status": "waiting", "round": 0}
    q = state.question
    out = {"question": state.number, "status": state.status, "round": state.round, "prompt": q.prompt,
           "kind": q.kind, "choices": list(q.choices) or None, "figures": [f.public() for f in q.figures]}
    if student:
        mine = state.answers.get(state.round, {}).get(student)
        out["mine"] = {"value": mine, "round": state.round if mine is not None else None}
    if state.revealed:
        out["answer"] = q.answer
        out["working"] = list(q.working)
        if student:
            last = state.last_answer(student)
            out["mine"] = {"value": last, "correct": None if last is None else q.is_correct(last),
                           "explained": student in state.explanations}
    return out


CSV_COLUMNS = ["question", "prompt", "round", "student", "answer", "correct", "explanation"]


def _cell(text: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula; numbers stay numbers.
    if text and text[0] in "=+-@\t\r":
        try:
            float(text)
            return text
        except ValueError:
            return "'" + text
    return text


def results_csv(questions: list[QuestionState], student_numbers: dict[str, int]) -> str:
    """One row per answer: question, prompt, round, anonymous student number, answer, correct, explanation.

    A student's explanation sits on the row of their last round.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for state in questions:
        q = state.question
        last_round = {}
        for r in sorted(state.answers):
            for s in state.answers[r]:
                last_round[s] = r
        for r in sorted(state.answers):
            rows = sorted(state.answers[r].items(), key=lambda kv: student_numbers.get(kv[0], 0))
            for s, value in rows:
                why = state.explanations.get(s, "") if last_round.get(s) == r else ""
                writer.writerow([state.number, _cell(q.prompt), r, student_numbers.get(s, 0), _cell(value),
                                 "yes" if q.is_correct(value) else "no", _cell(why)])
    return buf.getvalue()
