"""GET / : the analyst page (one static HTML file, no build step); /static: its scripts."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter()
STATIC = Path(__file__).resolve().parents[1] / "static"
PAGE = STATIC / "index.html"


def mount_static(app: FastAPI) -> None:
    """The page's scripts and the vendored chart library, served as files."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))
