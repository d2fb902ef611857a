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

try:                                  # optional: without it BLAS keeps its own thread count
    from threadpoolctl import ThreadpoolController
except ImportError:                   # pragma: no cover - declared as a dependency
    ThreadpoolController = None

_controller = None


def one_blas_thread():
    """A context in which BLAS runs on one thread; the previous count comes back on exit."""
    global _controller
    if ThreadpoolController is None:
        return contextlib.nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def single_threaded(fn):
    """Decorate ``fn`` to run under ``one_blas_thread()``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return fn(*args, **kwargs)
    return wrapper
