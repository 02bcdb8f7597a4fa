#!/usr/bin/env bash
# Set up and start ConvLab: ./run.sh [--port 8000] [--open] ...
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
exec .venv/bin/convlab "$@"
