"""ConvLab's own error type for input a person can correct.

Pure code (kernels, arithmetic, labs, image decoding) raises ``InvalidArgument``
with a message written for the person who chose the input; the HTTP layer turns
it into a 422 carrying that message. Any other exception, including a plain
``ValueError`` from NumPy, Pillow or the standard library, is a bug of ours and
answers a generic 500 without its text. ``InvalidArgument`` is a ``ValueError``,
so code (and tests) that expect "raises ValueError" keep working.
"""
from __future__ import annotations


class InvalidArgument(ValueError):
    """An argument outside what ConvLab accepts; ``str(exc)`` is shown to the user."""
