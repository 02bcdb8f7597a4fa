"""Where the page's templates and static files are, installed or in a checkout."""
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    # A wheel ships them inside the package (pyproject force-include); a checkout
    # or an editable install keeps them at the top of the repository.
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"ConvLab's {name}/ directory is missing (looked in {_PKG} and {_PKG.parent})")


STATIC_DIR = _locate("static")
TEMPLATES_DIR = _locate("templates")
