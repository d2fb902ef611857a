"""What the app needs to show a trace, checked when a file is opened. No Qt.

Reading a trace is budgeted by the engine (``lstm_engine.io``: what the file expands to,
against half of the memory available, ``lstm_engine.memory``). Showing it needs more: the
pictures keep float32 copies of the time × unit arrays, the variables panel and the live
gradients their own. Measured with a T=10,000, H=256, X=128 trace opened in the window
and every view drawn at six frames (offscreen, resident memory before and at the peak):

    float32 trace 233 MiB: +458 MiB resident, 1.97× the trace
    float64 trace 465 MiB: +811 MiB resident, 1.74× the trace

So the app needs about ``SHOW_FACTOR`` times the trace's bytes in all. Once a trace is
read (its own bytes already taken), what showing it adds, ``(SHOW_FACTOR - 1)`` times
its bytes, must fit in the memory the engine lets one file take (``memory_limit``: half
of MemAvailable, measured with psutil on every platform).
"""

from __future__ import annotations

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.memory import format_bytes, memory_limit
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES

SHOW_FACTOR = 2.5           # measured 1.7–2.0 (see above), with a margin


def trace_nbytes(trace) -> int:
    """Bytes of a trace's arrays: every recorded quantity, the inputs, targets, parameters."""
    arrays = [trace[n] for n in STEP_NAMES + GRAD_NAMES]
    arrays += [trace.x, trace.y, *trace.params.as_dict().values()]
    return int(sum(np.asarray(a).nbytes for a in arrays))


def check_can_show(trace, where) -> None:
    """UserError naming ``where`` if showing ``trace`` would not fit in memory."""
    size = trace_nbytes(trace)
    more = (SHOW_FACTOR - 1) * size
    limit = memory_limit()
    if more > limit:
        raise UserError(f"{where}: showing this {format_bytes(size)} trace needs about "
                        f"{format_bytes(SHOW_FACTOR * size)} in all ({SHOW_FACTOR:g}× the "
                        f"trace), {format_bytes(more)} more than it holds, beyond the "
                        f"{format_bytes(limit)} a file may use (half of the memory available)")


def load_trace_to_show(path):
    """``lstm_engine.io.load_trace``, then ``check_can_show``."""
    from lstm_engine.io import load_trace

    trace = load_trace(path)
    check_can_show(trace, path)
    return trace
