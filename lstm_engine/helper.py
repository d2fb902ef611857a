"""The engine's helper thread: work over blocks of a pass's steps that runs beside the
recorder's loops (``recorder.py``), and half of each GEMM of the loss-to-cell matrix
(``flow.py``) and of a large query of the live gradients (``live.py``): ``Sharing``.

The work around the loops is split into blocks of BLOCK steps for a helper thread: the
input projections ahead of the forward loop, the backward's coefficients as each block
of the forward is done, and behind the backward loop (from the last step down) its
non-recurrent products, each block as soon as the recurrence has filled it. On a machine
with a free core they cost nothing; on a busy one what they would have. An ordinary
Python thread, not BLAS's own: numpy releases the GIL inside BLAS and inside ufuncs on
arrays of a block's size, and BLAS stays on one thread (blas.py), whose idle workers
would otherwise spin against the loop on a busy machine. Shorter passes do it all inline.
"""

from __future__ import annotations

import contextvars
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

BLOCK = 128
_HELPER_NAME = "lstm-engine-gemm"
_helper: ThreadPoolExecutor | None = None


def _helper_thread() -> ThreadPoolExecutor:
    global _helper
    if _helper is None:
        _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_HELPER_NAME)
    return _helper


def _now(fn, *args) -> Future:
    """``fn(*args)`` run here and now, as a finished Future."""
    done: Future = Future()
    try:
        done.set_result(fn(*args))
    except Exception as err:                                # noqa: BLE001 - re-raised by result()
        done.set_exception(err)
    return done


def on_helper(fn, *args) -> Future:
    """``fn(*args)`` on the helper thread; done here and now instead when this is the
    helper itself (a record run on it would wait for itself) or when the interpreter is
    shutting down (the helper takes no more work). The helper runs ``fn`` in the caller's
    context, so numpy's error settings (``np.errstate``, a context variable) hold there too:
    a caller that ignores overflow in an exploding pass hears no warning from the helper."""
    if not threading.current_thread().name.startswith(_HELPER_NAME):
        try:
            return _helper_thread().submit(contextvars.copy_context().run, fn, *args)
        except RuntimeError:                                # shut down
            pass
    return _now(fn, *args)


class Sharing:
    """Products split in two, one half on the helper thread, while it keeps up. On a busy
    machine its half can wait for a core far longer than the product takes: after a
    split where this thread waited for it longer than it worked itself, the next
    ``pause`` products are done here alone (``wanted`` says so)."""

    def __init__(self, pause: int):
        self.pause = pause
        self._alone = 0                         # products left to do here alone

    def wanted(self) -> bool:
        """Whether to split the next product; False counts one done alone."""
        if self._alone:
            self._alone -= 1
            return False
        return True

    def split(self, fn, theirs: tuple, mine: tuple) -> None:
        """``fn(*theirs)`` on the helper thread and ``fn(*mine)`` here; both are done
        when this returns (an error in either is raised here)."""
        half = on_helper(fn, *theirs)
        start = time.perf_counter()
        fn(*mine)
        own = time.perf_counter() - start
        half.result()
        if time.perf_counter() - start > 2 * own:          # it lagged: its core is busy
            self._alone = self.pause


class Blocks:
    """A pass of T steps in blocks (``ranges``): BLOCK steps each on the helper thread, one
    after another in submission order (the same sums every run), for a pass of at least
    2 BLOCK steps; one block of all T steps, done inline, for a shorter one."""

    def __init__(self, T: int):
        self.threaded = T >= 2 * BLOCK
        size = BLOCK if self.threaded else T
        self.ranges = [(lo, min(lo + size, T)) for lo in range(0, T, size)]
        self.jobs: list[Future] = []

    def submit(self, fn, *args) -> Future:
        """``fn(*args)``, usually ``fn(lo, hi)`` for a block."""
        job = on_helper(fn, *args) if self.threaded else _now(fn, *args)
        self.jobs.append(job)
        return job

    def wait(self) -> None:
        for job in self.jobs:
            job.result()                                    # re-raises a failure
        self.jobs.clear()
