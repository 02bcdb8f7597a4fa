"""How long the Backward lab's finite-difference check takes at its default sizes.

    .venv/bin/python bench/gradcheck.py [--rounds 20]

The chapter's 16×16 square, a 3×3 kernel, padding 1 (reflect), 32 sampled pixels:
the check the page runs when "gradcheck" is ticked. Prints the median and the
slowest of --rounds calls after a warm-up; the goal is well under a second.
It was a unit test's assert once; on a shared 2-core machine a timing is a
measurement, not a pass/fail fact, so it lives here.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.kernels import conv2d  # noqa: E402
from app.labs.backward.gradcheck import gradcheck  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((1, 16, 16))
    w = rng.standard_normal((1, 1, 3, 3))
    delta = np.ones(conv2d(x, w, padding=1).shape)
    gradcheck(x, w, delta, padding=1, padding_mode="reflect")  # JIT warm-up
    times = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        gradcheck(x, w, delta, padding=1, padding_mode="reflect")
        times.append(time.perf_counter() - t0)
    print(f"gradcheck 16×16, 3×3, reflect, 32 pixels: median {1e3 * np.median(times):.1f} ms, "
          f"slowest {1e3 * max(times):.1f} ms over {args.rounds} rounds (goal < 1000 ms)")


if __name__ == "__main__":
    main()
