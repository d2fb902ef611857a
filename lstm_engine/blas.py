"""How many threads BLAS may use, where that matters.

The recurrent loops do one small mat-vec per step (4H x H) and the debugger's frames do
many small-to-mid products (sums of squares, suffix sums of a few steps). Sharing such
work between two threads gains little on a quiet two-core machine and loses badly when
the other core is busy: measured at X=128, H=256, T=1000 with the other core loaded,
``record`` ran 1.5-2x slower and the app's all-views seek 2x slower with two BLAS threads
than with one. Big GEMMs (the weight gradients of a whole pass) keep every thread unless
the caller says otherwise.
"""

from __future__ import annotations

import contextlib

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
