"""Decompression bombs cost a worker a bounded amount of memory.

Eight parallel uploads of a ~160 KB PNG that declares 6,324 × 6,324 RGBA pixels (just
under the 40 MP limit; 153 MiB decoded each) once took a worker from 1.0 to 2.7 GB.
Now at most ``concurrent_large_decodes`` large images decode at once, each resized
band by band and released as soon as it is resized, so the worker's peak stays under
the bound the README states: its resting size + 256 MiB + concurrent_large_decodes ×
5 bytes × max_image_pixels. The figures are printed.
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from app.config import Settings
from app.imaging import decode
from bench.hostile import SIDE, bomb_png, tree_rss
from tests.servers import start_server, stop_server

MiB = 1024 * 1024


def peak_bound(settings: Settings) -> int:
    """The README's bound on what parallel uploads add to a worker's resident memory."""
    return 256 * MiB + settings.concurrent_large_decodes * 5 * settings.max_image_pixels


def test_eight_parallel_decompression_bombs_stay_under_the_documented_bound():
    psutil = pytest.importorskip("psutil")
    proc, base = start_server()
    try:
        png = bomb_png()
        assert len(png) < 200_000 and SIDE * SIDE < Settings().max_image_pixels
        r = httpx.post(base + "/api/images", files={"file": ("s.png", bomb_png(64), "image/png")}, timeout=60)
        assert r.status_code == 201
        worker = psutil.Process(proc.pid)
        before = tree_rss(worker.pid)
        peak = before
        done = threading.Event()

        def watch():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(worker.pid))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with cf.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda i: httpx.post(base + "/api/images", files={"file": (f"{i}.png", png, "image/png")}, timeout=300),
                range(8)))
        done.set()
        watcher.join()
        assert [a.status_code for a in answers] == [201] * 8
        assert {a.json()["width"] for a in answers} == {512}  # resized to the default max side
        bound = peak_bound(Settings())
        print(f"\nworker RSS before {before / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB "
              f"(+{(peak - before) / MiB:.0f} MiB; bound +{bound / MiB:.0f} MiB)")
        assert peak - before < bound
    finally:
        stop_server(proc)


def test_a_big_image_resized_in_bands_matches_one_resize():
    y, x = np.mgrid[0:1500, 0:2100]
    rgba = np.stack([(x * 0.37) % 256, (y * 0.21) % 256, ((x + y) * 0.13) % 256,
                     128 + 100 * np.sin(x / 40.0)], -1).astype(np.uint8)
    rgba[::53] = 255
    def on_white(a: np.ndarray) -> np.ndarray:
        """What ConvLab keeps of an RGBA pixel: its colour composited on white (colour of a
        nearly transparent pixel is rounded coarsely by any resize, and does not matter)."""
        a = a.astype(float)
        if a.ndim == 3 and a.shape[2] == 4:
            alpha = a[..., 3:] / 255.0
            return a[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return a

    for mode in ("RGBA", "RGB", "L"):
        im = Image.fromarray(rgba, "RGBA").convert(mode)
        whole = on_white(np.asarray(im.resize((512, 366), Image.Resampling.LANCZOS, reducing_gap=3.0)))
        banded = on_white(np.asarray(decode._banded_resize(im, (512, 366))))
        diff = np.abs(whole - banded)
        assert diff.max() <= 2 and (diff > 0.5).mean() < 1e-3, (mode, diff.max(), (diff > 0.5).mean())


def test_the_decode_gate_lets_only_its_slots_through_for_large_images():
    gate = decode.DecodeGate(2, large_pixels=100)
    inside = 0
    most = 0
    lock = threading.Lock()

    def work(pixels):
        nonlocal inside, most
        with gate.slot(pixels):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(work, [1000] * 8))
    assert most == 2
    most = 0
    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(work, [10] * 8))  # small images never wait
    assert most > 2
