"""Waiting on conditions in browser tests, never on a clock."""
from __future__ import annotations


def painted(page, frames: int = 2) -> None:
    """Until the page has painted `frames` more times: a condition, not a clock.

    What the page does in answer to an event it has already handled (a coalesced
    redraw, a request it sends from one) has happened by then.
    """
    page.evaluate(
        "(n) => new Promise((done) => { const step = (k) => (k ? requestAnimationFrame(() => step(k - 1)) : done()); step(n); })",
        frames,
    )


def quiet(page, inflight: set, rounds: int = 1000) -> None:
    """Until no request the page sent is still open (`inflight`, kept by request events) and it has painted."""
    for _ in range(rounds):
        painted(page)
        if not inflight:
            return
    raise AssertionError(f"requests still open: {sorted(inflight)[:5]}")


def track_requests(page) -> set:
    """The URLs of the page's requests still in flight (EventSource streams excluded)."""
    inflight: set = set()
    page.on("request", lambda r: inflight.add(r.url) if r.resource_type != "eventsource" else None)
    page.on("requestfinished", lambda r: inflight.discard(r.url))
    page.on("requestfailed", lambda r: inflight.discard(r.url))
    return inflight
