"""Pure code raises ConvLab's own InvalidArgument for what a user can get wrong.

The HTTP layer turns only InvalidArgument into a 422 with its message (a ValueError
from NumPy or Pillow is a bug of ours and must not leak its text), so a plain
``raise ValueError`` outside the pydantic schemas and the settings would answer 500.
"""
from __future__ import annotations

import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
ALLOWED = {"schemas", "config.py"}  # pydantic validators: ValueError there is a 422 by design


def test_pure_code_raises_invalid_argument_not_value_error():
    offenders = []
    for path in APP.rglob("*.py"):
        rel = path.relative_to(APP)
        if rel.parts[0] in ALLOWED:
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\braise ValueError\(", line):
                offenders.append(f"app/{rel}:{no}: {line.strip()}")
    assert not offenders, "raise InvalidArgument (app.errors) instead:\n" + "\n".join(offenders)
