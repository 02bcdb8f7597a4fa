"""Class mode (peer instruction): a teacher's question, every student's phone answers,
the live histogram, a second vote after discussion, the reveal, and one line from
each student who missed.

rules.py holds the class's logic (codes, questions, answers, tallies, CSV); a store
keeps the records: memory.py in this process (the default), redis_store.py in Redis
when ``CONVLAB_REDIS_URL`` is set, so several workers and hosts serve one class.
Nothing is written to disk; an idle class is forgotten after ``idle_seconds``.
"""
from __future__ import annotations

from app.labs.classmode.store import ClassStore


def open_store(redis_url: str = "", idle_seconds: float = 6 * 3600) -> ClassStore:
    """Redis when a URL is given (the client connects on first use), else this process's memory."""
    if redis_url:
        from app.labs.classmode.redis_store import RedisClassStore

        return RedisClassStore(redis_url, idle_seconds=idle_seconds)
    from app.labs.classmode.memory import MemoryClassStore

    return MemoryClassStore(idle_seconds=idle_seconds)
