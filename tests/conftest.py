"""Shared fixtures: a seeded RNG, the app in-process, and image-file helpers."""
from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The app with default settings, lifespan run (samples loaded)."""
    with TestClient(create_app(Settings())) as c:
        yield c


def make_client(**overrides) -> TestClient:
    """A client for an app with some settings changed (use as a context manager)."""
    return TestClient(create_app(Settings(**overrides)))


def upload(client: TestClient, data: bytes, filename: str = "image.png", content_type: str = "application/octet-stream",
           **params):
    """POST /api/images with ``data`` as the multipart field ``file``."""
    return client.post("/api/images", files={"file": (filename, data, content_type)}, params=params)


def image_bytes(array: np.ndarray, fmt: str = "PNG", mode: str | None = None, **save_kwargs) -> bytes:
    """Encode ``array`` (H, W) or (H, W, C) with Pillow into file bytes."""
    from PIL import Image

    im = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save_kwargs)
    return buf.getvalue()


# --- counts printed at the end of the run (hostile files tried, cases fuzzed, 500s) ----

from tests._report import RUN_REPORT, report  # noqa: E402,F401  (one module, whatever name conftest gets)


def pytest_terminal_summary(terminalreporter):
    if RUN_REPORT:
        terminalreporter.section("ConvLab robustness counts")
        for key in sorted(RUN_REPORT):
            terminalreporter.write_line(RUN_REPORT[key])
