"""Per-request bounds shared by the routers, each answered with a 413 that names the limit.

Every router sizes its own work (it knows what it computes); the wording and the
comparison against the settings live here, so all labs speak about limits alike.
"""
from __future__ import annotations

from fastapi import HTTPException

from app.api.transport import BINARY_MEDIA_TYPE
from app.config import Settings


def check_work(settings: Settings, work: int, what: str, advice: str, *, counted: str = "",
               limit: int | None = None) -> None:
    """413 when ``what`` needs more than ``limit`` multiply-adds (by default the server's ``max_work``).

    ``counted`` says what the number multiplies, for requests where that helps the reader.
    """
    limit = settings.max_work if limit is None else limit
    if work > limit:
        how = f" ({counted})" if counted else ""
        raise HTTPException(413, f"{what} needs {work:,} multiply-adds{how}; the limit per request is {limit:,}. {advice}")


def check_elements(settings: Settings, n: int, what: str, advice: str) -> None:
    """413 when one array the request would allocate holds more numbers than ``max_output_elements``."""
    if n > settings.max_output_elements:
        raise HTTPException(413, f"{what} would hold {n:,} numbers; the limit is {settings.max_output_elements:,}. {advice}")


def check_bounds(settings: Settings, *, work: int, out_elements: int, padded_elements: int, binary: bool) -> None:
    """413 when one request would compute, allocate or send more than the server allows."""
    check_work(settings, work, "this request", "Use a smaller image, fewer filters or a larger stride.",
               counted="output pixels × kernel taps × channels")
    check_elements(settings, max(out_elements, padded_elements), "the result or the padded input",
                   "Use less padding or a smaller input.")
    if not binary and out_elements > settings.max_json_response_elements:
        raise HTTPException(
            413,
            f"the answer would hold {out_elements:,} numbers, more than {settings.max_json_response_elements:,} "
            f"in JSON; ask for the binary form with Accept: {BINARY_MEDIA_TYPE}",
        )

LAB_ADVICE = "Use a smaller image (max side), a smaller kernel or a larger stride."
