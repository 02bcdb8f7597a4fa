"""The explorer page, the lesson gallery and the side-by-side comparison.

Every URL a page names is root-relative (``/static/js/main.js``): nothing in a page
comes from the request's Host header, so a forged Host cannot point a page at
another server, and the same page works behind a TLS proxy without rewriting.
"""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from app.labs.classroom.lessons import LESSONS
from app.paths import TEMPLATES_DIR

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@pass_context
def root_relative_url_for(context: dict, name: str, /, **path_params) -> str:
    """``url_for`` for templates: the path (under the app's root path), never scheme and host."""
    request: Request = context["request"]
    root = request.scope.get("root_path", "").rstrip("/")
    return root + str(request.app.url_path_for(name, **path_params))


# Starlette's own url_for answers absolute URLs built from the Host header.
templates.env.globals["url_for"] = root_relative_url_for


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def index(request: Request):
    """The single-page explorer; every lab is a section of it."""
    return templates.TemplateResponse(request, "index.html")


@router.api_route("/lessons", methods=["GET", "HEAD"], response_class=HTMLResponse)
def lessons(request: Request):
    """Ready-made lessons that follow the chapter, each a link into a lab state."""
    return templates.TemplateResponse(request, "lessons.html", {"lessons": LESSONS})


@router.api_route("/compare", methods=["GET", "HEAD"], response_class=HTMLResponse)
def compare(request: Request):
    """Two configurations of one lab side by side (the states travel in the URL's hash)."""
    return templates.TemplateResponse(request, "compare.html", {})
