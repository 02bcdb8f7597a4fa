"""The explorer page, the lesson gallery and the side-by-side comparison."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.labs.classroom.lessons import LESSONS
from app.paths import TEMPLATES_DIR

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@router.get("/", response_class=HTMLResponse)
def index(request: Request):
    """The single-page explorer; every lab is a section of it."""
    return templates.TemplateResponse(request, "index.html")


@router.get("/lessons", response_class=HTMLResponse)
def lessons(request: Request):
    """Ready-made lessons that follow the chapter, each a link into a lab state."""
    return templates.TemplateResponse(request, "lessons.html", {"lessons": LESSONS})


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request):
    """Two configurations of one lab side by side (the states travel in the URL's hash)."""
    return templates.TemplateResponse(request, "compare.html", {})
