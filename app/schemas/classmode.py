"""Schemas of class mode: starting a class, joining, questions, answers, tallies."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.labs.classmode import rules
from app.schemas.common import STRICT

StudentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
QuestionNumber = Annotated[int, Field(ge=1, le=100_000)]
# An answer: a number (number questions), or text (a choice, or a number typed as text).
AnswerValue = float | Annotated[str, Field(min_length=1, max_length=rules.CHOICE_MAX)]


# Requests


class JoinRequest(BaseModel):
    model_config = STRICT
    nickname: Annotated[str, Field(max_length=rules.NICKNAME_MAX)] | None = None


class FigureSpec(BaseModel):
    """A small grid the question refers to (shown to students with the question)."""

    model_config = STRICT
    label: Annotated[str, Field(max_length=60)] = ""
    grid: Annotated[list[Annotated[list[Annotated[float, Field(ge=-1e6, le=1e6)]],
                                   Field(min_length=1, max_length=rules.FIGURE_SIDE_MAX)]],
                    Field(min_length=1, max_length=rules.FIGURE_SIDE_MAX)]


class QuestionRequest(BaseModel):
    """Multiple choice when ``choices`` is given (``answer`` is one of them), else a number."""

    model_config = STRICT
    prompt: Annotated[str, Field(min_length=1, max_length=rules.PROMPT_MAX)]
    choices: Annotated[list[Annotated[str, Field(min_length=1, max_length=rules.CHOICE_MAX)]],
                       Field(min_length=rules.CHOICES_MIN, max_length=rules.CHOICES_MAX)] | None = None
    answer: AnswerValue
    tolerance: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    figures: Annotated[list[FigureSpec], Field(max_length=rules.FIGURES_MAX)] = []
    working: Annotated[list[Annotated[str, Field(max_length=rules.WORKING_LINE_MAX)]],
                       Field(max_length=rules.WORKING_LINES_MAX)] = []
    source: Annotated[str, Field(max_length=60)] = ""


class AnswerRequest(BaseModel):
    model_config = STRICT
    student: StudentId
    question: QuestionNumber
    value: AnswerValue


class ExplanationRequest(BaseModel):
    model_config = STRICT
    student: StudentId
    question: QuestionNumber
    text: Annotated[str, Field(min_length=1, max_length=rules.EXPLANATION_MAX)]


# Responses


class ClassCreated(BaseModel):
    code: str
    teacher_token: str
    join_url: str
    note: str | None = Field(None, description="why phones may not reach join_url, when that is likely")


class Joined(BaseModel):
    student: str


class QuestionCreated(BaseModel):
    question: int


class RoundTally(BaseModel):
    round: int
    answered: int
    counts: dict[str, int]
    correct: int | None = None


class Explanation(BaseModel):
    answer: str
    text: str


class Figure(BaseModel):
    label: str
    grid: list[list[float]]


class Tally(BaseModel):
    """The teacher's live view; the stream sends this object whenever it changes."""

    question: int | None
    joined: int
    answered: int
    counts: dict[str, int]
    round: int
    revealed: bool
    status: Literal["waiting", "open", "revealed"]
    prompt: str | None = None
    kind: Literal["choice", "number"] | None = None
    choices: list[str] | None = None
    figures: list[Figure] = []
    rounds: list[RoundTally] = []
    answer: str | None = None
    working: list[str] | None = None
    explanations: list[Explanation] = []


class MyAnswer(BaseModel):
    value: str | None
    round: int | None = None
    correct: bool | None = None
    explained: bool | None = None


class CurrentQuestion(BaseModel):
    """What a phone shows. ``answer`` and ``working`` appear only once the teacher reveals."""

    question: int | None
    status: Literal["waiting", "open", "revealed"]
    round: int
    prompt: str | None = None
    kind: Literal["choice", "number"] | None = None
    choices: list[str] | None = None
    figures: list[Figure] = []
    mine: MyAnswer | None = None
    answer: str | None = None
    working: list[str] | None = None
