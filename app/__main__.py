"""``python -m app``: the same as the ``convlab`` command."""
import sys

from app.cli import main

sys.exit(main())
