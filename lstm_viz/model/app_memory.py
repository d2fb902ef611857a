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
    """Bytes of a trace's arrays: every recorded quantity, the inputs, targets, parameters
    (of every layer, for a ModelTrace)."""
    layers = getattr(trace, "layers", None)
    if isinstance(layers, tuple):                     # a ModelTrace: its layers' Traces
        return sum(trace_nbytes(tr) for tr in layers)
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
    """A trace file's pass, then ``check_can_show``: a plain Trace when the file holds
    one cell on dense inputs (what ``load_trace`` reads), else the ModelTrace
    (``load_model_trace``: stacked layers, an embedding)."""
    from lstm_engine.io import load_model_trace

    trace = load_model_trace(path)
    if trace.num_layers == 1 and trace.tokens is None:
        trace = trace.layers[0]
    check_can_show(trace, path)
    return trace
