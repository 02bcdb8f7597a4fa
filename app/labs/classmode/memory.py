"""Classes in this process's memory: the default, for one laptop serving one room.

Nothing touches the disk. A class not changed for ``idle_seconds`` is forgotten (checked
on every access and swept once a minute). Only correct with one worker process: the
API refuses class mode when several workers run without Redis (see app/api/classmode.py).
"""
from __future__ import annotations

import asyncio
import hmac
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from app.labs.classmode import rules
from app.labs.classmode.rules import ClassModeError, ClassModeUnavailable, Question, QuestionState
from app.labs.classmode.store import ClassStore, pick_question


@dataclass
class _Class:
    token: str
    join_url: str
    touched: float
    students: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (number, nickname)
    questions: list[QuestionState] = field(default_factory=list)
    current: int = 0
    waiters: set = field(default_factory=set)  # (loop, asyncio.Event) of each stream following the class


class MemoryClassStore(ClassStore):
    def __init__(self, idle_seconds: float = 6 * 3600, max_classes: int = 1000, max_students: int = 500,
                 max_questions: int = 200, clock=time.monotonic):
        self.idle_seconds = idle_seconds
        self.max_classes = max_classes
        self.max_students = max_students
        self.max_questions = max_questions
        self._clock = clock
        self._classes: dict[str, _Class] = {}
        self._lock = threading.Lock()  # TestClient and the server may call from different threads
        self._swept = clock()

    # --- bookkeeping ---------------------------------------------------------------

    def _sweep(self, now: float) -> None:
        if now - self._swept < 60:
            return
        self._swept = now
        for code in [c for c, k in self._classes.items() if now - k.touched > self.idle_seconds]:
            self._drop(code)

    def _drop(self, code: str) -> None:
        klass = self._classes.pop(code, None)
        if klass:
            self._wake(klass)

    def _get(self, code: str) -> _Class:
        now = self._clock()
        self._sweep(now)
        klass = self._classes.get(code)
        if klass is None or now - klass.touched > self.idle_seconds:
            if klass is not None:
                self._drop(code)
            raise rules.unknown_class(code)
        return klass

    def _changed(self, klass: _Class) -> None:
        klass.touched = self._clock()
        self._wake(klass)

    @staticmethod
    def _wake(klass: _Class) -> None:
        for loop, event in list(klass.waiters):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def _question(self, klass: _Class, number: int | None) -> QuestionState:
        return klass.questions[pick_question(klass.current, number, len(klass.questions)) - 1]

    def _student(self, klass: _Class, code: str, student: str) -> None:
        if student not in klass.students:
            raise rules.ClassNotFound(f"student: not a member of class {code}; join again with the code")

    # --- the interface -------------------------------------------------------------

    async def create(self, join_url_for) -> tuple[str, str, str]:
        with self._lock:
            self._sweep(self._clock())
            if len(self._classes) >= self.max_classes:
                raise ClassModeUnavailable(f"this server already runs {self.max_classes} classes; "
                                           "try again when one has ended")
            code = rules.new_code()
            while code in self._classes:
                code = rules.new_code()
            token = rules.new_token()
            url = join_url_for(code)
            self._classes[code] = _Class(token=token, join_url=url, touched=self._clock())
            return code, token, url

    async def join_url(self, code: str) -> str:
        with self._lock:
            return self._get(code).join_url

    async def authorize(self, code: str, token: str) -> None:
        with self._lock:
            klass = self._get(code)
            if not hmac.compare_digest(klass.token.encode(), str(token).encode()):
                raise rules.NotTeacher(f"only the teacher of class {code} may do this: send its teacher token "
                                       "as 'Authorization: Bearer <token>'")

    async def join(self, code: str, nickname: str) -> str:
        nickname = rules.clean_nickname(nickname)
        with self._lock:
            klass = self._get(code)
            if len(klass.students) >= self.max_students:
                raise ClassModeError(f"class {code} is full ({self.max_students} students)")
            student = rules.new_student_id()
            klass.students[student] = (len(klass.students) + 1, nickname)
            self._changed(klass)
            return student

    async def ask(self, code: str, question: Question) -> int:
        with self._lock:
            klass = self._get(code)
            if len(klass.questions) >= self.max_questions:
                raise ClassModeError(f"class {code} has had {self.max_questions} questions; start a new class")
            number = len(klass.questions) + 1
            klass.questions.append(QuestionState(number=number, question=question))
            klass.current = number
            self._changed(klass)
            return number

    async def answer(self, code: str, student: str, number: int, value) -> None:
        with self._lock:
            klass = self._get(code)
            self._student(klass, code, student)
            state = klass.questions[number - 1] if 1 <= number <= len(klass.questions) else None
            rules.check_answerable(state, klass.current, number)
            spelled = state.question.canonical(value)
            state.answers.setdefault(state.round, {})[student] = spelled
            self._changed(klass)

    async def explain(self, code: str, student: str, number: int, text: str) -> None:
        line = rules.clean_explanation(text)
        with self._lock:
            klass = self._get(code)
            self._student(klass, code, student)
            state = klass.questions[number - 1] if 1 <= number <= len(klass.questions) else None
            rules.check_explainable(state, number, student)
            state.explanations[student] = line
            self._changed(klass)

    async def revote(self, code: str, number: int | None = None) -> None:
        with self._lock:
            klass = self._get(code)
            state = self._question(klass, number)
            if state.revealed:
                raise ClassModeError(f"question {state.number} is already revealed; send a new question instead")
            if state.round >= rules.MAX_ROUNDS:
                raise ClassModeError(f"question {state.number} already had its second vote; reveal it next")
            if state.number != klass.current:
                raise ClassModeError(f"question {state.number} is closed: question {klass.current} is current")
            state.round += 1
            self._changed(klass)

    async def reveal(self, code: str, number: int | None = None) -> None:
        with self._lock:
            klass = self._get(code)
            state = self._question(klass, number)
            if not state.revealed:
                state.revealed = True
                self._changed(klass)

    async def tally(self, code: str, number: int | None = None) -> dict:
        with self._lock:
            klass = self._get(code)
            state = None if number is None and klass.current == 0 else self._question(klass, number)
            return rules.tally(state, len(klass.students))

    async def current(self, code: str, student: str | None = None) -> dict:
        with self._lock:
            klass = self._get(code)
            if student:
                self._student(klass, code, student)
            state = klass.questions[klass.current - 1] if klass.current else None
            return rules.student_view(state, student)

    async def results_csv(self, code: str) -> str:
        with self._lock:
            klass = self._get(code)
            numbers = {s: n for s, (n, _) in klass.students.items()}
            return rules.results_csv(klass.questions, numbers)

    async def end(self, code: str) -> None:
        with self._lock:
            self._get(code)
            self._drop(code)

    @asynccontextmanager
    async def changes(self, code: str):
        # A subscription, not a one-off wait: a change between two waits (while the
        # stream reads and sends the tally) leaves the event set, so none is missed.
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        subscriber = (loop, event)
        with self._lock:
            klass = self._get(code)
            klass.waiters.add(subscriber)

        async def wait(timeout: float) -> bool:
            if not event.is_set():
                try:
                    await asyncio.wait_for(event.wait(), timeout)
                except asyncio.TimeoutError:
                    return False
            event.clear()
            return True

        try:
            yield wait
        finally:
            with self._lock:
                klass.waiters.discard(subscriber)
