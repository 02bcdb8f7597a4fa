"""A request computing alone gets every Numba thread; one beside another gets one."""
import threading

import numba

from app.api.cores import shares_cores


def test_threads_follow_how_many_requests_compute_at_once():
    seen = {}
    started, release = threading.Event(), threading.Event()

    @shares_cores
    def long_request():
        started.set()
        seen["alone"] = numba.get_num_threads()
        release.wait(10)

    @shares_cores
    def later_request():
        seen.setdefault("later", []).append(numba.get_num_threads())

    first = threading.Thread(target=long_request)
    first.start()
    assert started.wait(10)
    later_request()  # while the first one computes
    release.set()
    first.join(10)
    later_request()  # alone again
    every = numba.config.NUMBA_NUM_THREADS
    assert seen == {"alone": every, "later": [1, every]}


def test_the_wrapper_keeps_the_handlers_signature_and_answer():
    @shares_cores
    def handler(a: int, b: int = 2) -> int:
        return a * b

    assert handler(3) == 6
    assert handler.__name__ == "handler"
