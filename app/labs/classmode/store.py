"""The one interface both class stores offer (memory.py: one process; redis_store.py: many).

Every method is a coroutine: the API awaits them on the event loop, never in the
thread pool that the compute endpoints queue in, so a class answers at once while a
convolution is computing.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import Awaitable, Callable

from app.labs.classmode.rules import ClassModeError, ClassNotFound, Question

# wait(timeout) -> True when the class changed (or may have), False after `timeout` seconds of quiet
ChangeWaiter = Callable[[float], Awaitable[bool]]


class ClassStore(ABC):
    """Classes by code: students, questions, answers by round, explanations.

    Errors are rules.ClassModeError subclasses (404 unknown class, 403 not the teacher,
    409 not now, 503 store unreachable) or app.errors.InvalidArgument (bad input, 422).
    """

    idle_seconds: float

    @abstractmethod
    async def create(self, join_url_for: Callable[[str], str]) -> tuple[str, str, str]:
        """A new class: (code, teacher token, join URL)."""

    @abstractmethod
    async def join_url(self, code: str) -> str: ...

    @abstractmethod
    async def authorize(self, code: str, token: str) -> None:
        """Raise ClassNotFound for an unknown code, NotTeacher for a wrong token."""

    @abstractmethod
    async def join(self, code: str, nickname: str) -> str:
        """A new student's id (their number in the CSV is the order of joining)."""

    @abstractmethod
    async def ask(self, code: str, question: Question) -> int:
        """Make ``question`` the current one, round 1; its number."""

    @abstractmethod
    async def answer(self, code: str, student: str, number: int, value) -> None:
        """Record (or replace, within the round) a student's answer."""

    @abstractmethod
    async def explain(self, code: str, student: str, number: int, text: str) -> None: ...

    @abstractmethod
    async def revote(self, code: str, number: int | None = None) -> None:
        """Start the next round of the current question (discuss, then vote again)."""

    @abstractmethod
    async def reveal(self, code: str, number: int | None = None) -> None: ...

    @abstractmethod
    async def tally(self, code: str, number: int | None = None) -> dict:
        """rules.tally of question ``number`` (default: the current one)."""

    @abstractmethod
    async def current(self, code: str, student: str | None = None) -> dict:
        """rules.student_view of the current question."""

    @abstractmethod
    async def results_csv(self, code: str) -> str: ...

    @abstractmethod
    async def end(self, code: str) -> None:
        """Forget the class now."""

    @abstractmethod
    def changes(self, code: str) -> AbstractAsyncContextManager[ChangeWaiter]:
        """``async with store.changes(code) as wait: await wait(15)`` follows a class's changes."""

    async def close(self) -> None:
        """Release connections (the app's shutdown calls it)."""


def pick_question(current: int, number: int | None, count: int) -> int:
    """The question a teacher's call is about: ``number``, else the current one."""
    chosen = current if number is None else number
    if chosen == 0:
        raise ClassModeError("there is no question yet: send one first")
    if not 1 <= chosen <= count:
        raise ClassNotFound(f"question: there is no question {chosen} in this class")
    return chosen
