"""Class mode over HTTP: the teacher's calls (Bearer token), the students' calls, the live stream,
the QR code and the phone page.

Every handler is ``async``: class calls never wait in the thread pool behind a convolution.
"""
from __future__ import annotations

import io
import ipaddress
import json
import os
import socket
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from app.api.deps import SettingsDep
from app.config import Settings
from app.labs.classmode import rules
from app.labs.classmode.store import ClassStore
from app.paths import TEMPLATES_DIR
from app.schemas.classmode import (
    AnswerRequest,
    ClassCreated,
    CurrentQuestion,
    ExplanationRequest,
    Joined,
    JoinRequest,
    QuestionCreated,
    QuestionRequest,
    Tally,
)
from app.schemas.common import error_responses

router = APIRouter(tags=["class mode"])
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

STREAM_HEARTBEAT_SECONDS = 15.0


def worker_count(settings: Settings) -> int:
    """Worker processes serving this app: --workers (the convlab command) or uvicorn's WEB_CONCURRENCY."""
    try:
        concurrency = int(os.environ.get("WEB_CONCURRENCY") or 1)
    except ValueError:
        concurrency = 1
    return max(settings.workers, concurrency)


async def class_store(request: Request, settings: SettingsDep) -> ClassStore:
    """The class store; refused (503) when several workers would each keep their own classes."""
    workers = worker_count(settings)
    if workers > 1 and not settings.redis_url:
        raise rules.ClassModeUnavailable(
            f"class mode is off: this server runs {workers} worker processes without Redis, so a class would be "
            "split between them. Start ConvLab with --workers 1, or run redis-server and set "
            "CONVLAB_REDIS_URL=redis://127.0.0.1:6379/0 (README, 'Running a class').")
    return request.app.state.classes


Classes = Annotated[ClassStore, Depends(class_store)]


async def class_code(code: Annotated[str, Path(max_length=40)]) -> str:
    return rules.normalise_code(code)


Code = Annotated[str, Depends(class_code)]


async def teacher(code: Code, classes: Classes, authorization: Annotated[str | None, Header()] = None) -> str:
    """The class's code, once the request has shown its teacher token (404 unknown class, else 403)."""
    scheme, _, token = (authorization or "").partition(" ")
    await classes.authorize(code, token.strip() if scheme.lower() == "bearer" else "")
    return code


Teacher = Annotated[str, Depends(teacher)]


def _is_loopback(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _lan_address() -> str | None:
    """This machine's address on its local network (a UDP connect sends no packet)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if _is_loopback(address) else address


def join_base(request: Request, settings: Settings) -> tuple[str, str | None]:
    """The base URL phones should open, and a note when they probably cannot reach it."""
    if settings.public_url:
        return settings.public_url.rstrip("/"), None
    url = request.url
    base = f"{url.scheme}://{url.netloc}"
    if not _is_loopback(url.hostname):
        return base, None
    if settings.host in ("0.0.0.0", "::", ""):
        lan = _lan_address()
        if lan:
            return f"{url.scheme}://{lan}{':' + str(url.port) if url.port else ''}", None
    return base, (f"Phones cannot open {url.hostname}: it is this computer only. Restart ConvLab with "
                  "--host 0.0.0.0 (it then shows this computer's network address here), or set "
                  "CONVLAB_PUBLIC_URL to the address students can reach.")


TEACHER_ERRORS = error_responses(403, 404, 409, 422, 503)
STUDENT_ERRORS = error_responses(404, 409, 422, 503)


@router.post("/api/class", status_code=201, response_model=ClassCreated, responses=error_responses(503))
async def start_class(request: Request, classes: Classes, settings: SettingsDep) -> ClassCreated:
    """Start a class: its join code, the teacher's token (keep it secret) and the URL students open."""
    base, note = join_base(request, settings)
    code, token, url = await classes.create(lambda c: f"{base}/join/{c}")
    return ClassCreated(code=code, teacher_token=token, join_url=url, note=note)


@router.delete("/api/class/{code}", status_code=204, responses=TEACHER_ERRORS)
async def end_class(code: Teacher, classes: Classes) -> Response:
    """End the class now: every record of it is forgotten."""
    await classes.end(code)
    return Response(status_code=204)


@router.post("/api/class/{code}/join", response_model=Joined, responses=STUDENT_ERRORS)
async def join_class(code: Code, body: JoinRequest, classes: Classes) -> Joined:
    """Join with an optional nickname (only the student's own phone shows it)."""
    return Joined(student=await classes.join(code, body.nickname or ""))


@router.post("/api/class/{code}/questions", response_model=QuestionCreated, responses=TEACHER_ERRORS)
async def ask_question(code: Teacher, body: QuestionRequest, classes: Classes) -> QuestionCreated:
    """Send a question to every phone (it becomes the current one, round 1)."""
    question = rules.make_question(body.prompt, body.answer, body.choices, body.tolerance,
                                   [f.model_dump() for f in body.figures], body.working, body.source)
    return QuestionCreated(question=await classes.ask(code, question))


@router.get("/api/class/{code}/current", response_model=CurrentQuestion, response_model_exclude_unset=True,
            responses=STUDENT_ERRORS)
async def current_question(code: Code, classes: Classes,
                           student: Annotated[str | None, Query(max_length=64)] = None) -> dict:
    """The current question as phones show it; the answer appears only after the reveal."""
    return await classes.current(code, student)


@router.post("/api/class/{code}/answers", status_code=204, responses=STUDENT_ERRORS)
async def answer_question(code: Code, body: AnswerRequest, classes: Classes) -> Response:
    """A student's answer; a second one in the same round replaces the first."""
    await classes.answer(code, body.student, body.question, body.value)
    return Response(status_code=204)


@router.post("/api/class/{code}/explanations", status_code=204, responses=STUDENT_ERRORS)
async def explain_gap(code: Code, body: ExplanationRequest, classes: Classes) -> Response:
    """After the reveal, a student whose answer missed says in one line why it differed."""
    await classes.explain(code, body.student, body.question, body.text)
    return Response(status_code=204)


@router.get("/api/class/{code}/tally", response_model=Tally, response_model_exclude_unset=True,
            responses=TEACHER_ERRORS)
async def tally(code: Teacher, classes: Classes,
                question: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> dict:
    """Counts of the answers (never names): the current round, and every round in ``rounds``."""
    return await classes.tally(code, question)


@router.post("/api/class/{code}/revote", response_model=Tally, response_model_exclude_unset=True,
             responses=TEACHER_ERRORS)
async def revote(code: Teacher, classes: Classes,
                 question: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> dict:
    """Discuss and vote again: round 2 of the current question (round 1's counts are kept)."""
    await classes.revote(code, question)
    return await classes.tally(code, question)


@router.post("/api/class/{code}/reveal", response_model=Tally, response_model_exclude_unset=True,
             responses=TEACHER_ERRORS)
async def reveal(code: Teacher, classes: Classes,
                 question: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> dict:
    """Show the answer: the question closes, phones show it, students who missed may explain."""
    await classes.reveal(code, question)
    return await classes.tally(code, question)


@router.get("/api/class/{code}/results.csv", responses={**TEACHER_ERRORS, 200: {"content": {"text/csv": {}}}})
async def results(code: Teacher, classes: Classes) -> Response:
    """Every answer as CSV: question, prompt, round, anonymous student number, answer, correct, explanation."""
    return Response(await classes.results_csv(code), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="convlab-class-{code}.csv"'})


@router.get("/api/class/{code}/stream", responses={**TEACHER_ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def stream(code: Teacher, classes: Classes,
                 max_events: Annotated[int | None, Query(ge=1, le=100_000,
                                                         description="end after this many tallies")] = None):
    """Server-Sent Events: the tally (as GET .../tally) each time it changes; ``event: ended`` when the class ends."""
    first = await classes.tally(code)  # unknown class or Redis down: a plain error answer, not a broken stream

    async def events():
        sent, last = 0, None
        tally_now = first
        async with classes.changes(code) as wait:
            yield "retry: 2000\n\n"
            while True:
                body = json.dumps(tally_now, separators=(",", ":"))
                if body != last:
                    yield f"data: {body}\n\n"
                    last, sent = body, sent + 1
                    if max_events and sent >= max_events:
                        return
                if not await wait(STREAM_HEARTBEAT_SECONDS):
                    yield ": still here\n\n"
                try:
                    tally_now = await classes.tally(code)
                except rules.ClassModeError as exc:
                    yield f"event: ended\ndata: {json.dumps({'detail': str(exc)})}\n\n"
                    return

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/class/{code}/qr.svg", responses={**STUDENT_ERRORS, 200: {"content": {"image/svg+xml": {}}}})
async def qr_code(code: Code, classes: Classes) -> Response:
    """A QR code of the join URL (segno), for the projector."""
    import segno

    url = await classes.join_url(code)
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="svg", scale=8, border=2, xmldecl=False,
                                                 omitsize=True, dark="#000000", light="#ffffff",
                                                 title=f"QR code of {url}")
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/join", response_class=HTMLResponse, include_in_schema=False)
async def student_page_without_code(request: Request):
    """The phone page before a code is typed."""
    return templates.TemplateResponse(request, "classmode/student.html", {"code": ""})


@router.get("/join/{code}", response_class=HTMLResponse, include_in_schema=False)
async def student_page(request: Request, code: Annotated[str, Path(max_length=40)]):
    """The phone page: join with the code, answer, see the reveal."""
    try:
        shown = rules.normalise_code(code)
    except rules.ClassNotFound:
        shown = ""
    return templates.TemplateResponse(request, "classmode/student.html", {"code": shown})
