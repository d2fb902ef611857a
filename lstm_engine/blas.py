"""BLAS on one thread, for the engine's passes and the app's frames.

A recorded pass is a thousand small mat-vecs (4H x H, one per step each way) and two or
three GEMMs; a debugger frame is many small-to-mid products (sums of squares, suffix sums
of a few steps). Sharing such work between two threads gains little on a quiet two-core
machine and loses badly when the other core is busy, as it is on shared machines:
measured at X=128, H=256, T=1000 with the other core loaded, ``record`` ran 1.3-1.7x
slower with OpenBLAS's two threads than with one (the GEMMs after the loops included),
and the app's all-views seek 2x slower.
"""

from __future__ import annotations

import contextlib
import functools
import threading

try:                                  # optional: without it BLAS keeps its own thread count
    from threadpoolctl import ThreadpoolController
except ImportError:                   # pragma: no cover - declared as a dependency
    ThreadpoolController = None

_lock = threading.Lock()
_controller = None
_depth = 0                            # contexts open now, in any thread
_limiter = None                       # what restores the count when the last one closes


@contextlib.contextmanager
def one_blas_thread():
    """A context in which BLAS runs on one thread. The count is process-wide, so contexts
    open in several threads at once share one limit: the first to open sets it, the last
    to close restores what was there before."""
    global _controller, _depth, _limiter
    if ThreadpoolController is None:
        yield
        return
    with _lock:
        if _depth == 0:
            if _controller is None:
                _controller = ThreadpoolController()
            _limiter = _controller.limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                assert _limiter is not None         # made by the entry that raised _depth to 1
                _limiter.restore_original_limits()
                _limiter = None


def single_threaded(fn):
    """Decorate ``fn`` to run under ``one_blas_thread()``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return fn(*args, **kwargs)
    return wrapper
