"""What the app needs to show a trace, checked when a file is opened. No Qt.

Reading a trace is budgeted by the engine (``lstm_engine.io``: what the file expands to,
against half of the memory available, ``lstm_engine.memory``). Showing it needs more,
and that is estimated from the trace's sizes (``show_bytes``), as measured (offscreen,
``bench/bench_app_memory.py``: a T=10,000, H=256, X=128 trace opened in the window and
every view drawn at six frames; ``tracemalloc`` for what holds the bytes, resident
memory for the rest):

    the trace's arrays, each held once (``Trace.nbytes``; read into
      place, ``lstm_engine.io.place_trace_v1``)                   float32: 207 MiB
    the live gradients: checkpoints (64 MiB, or a quarter of a larger
      trace: ``lstm_engine.live.budget_for``) and the bias
      suffix sums, (T+1) x 4H (``lstm_engine.live.live_bytes``)     64 + 39 MiB
    the pictures: the heatmaps' colour images (20 MiB), the
      carousel's (10), pyqtgraph's images (5), Qt's backing stores
      and pixmaps and the allocator's slack (the rest)               97 MiB
      = about PICTURE_ARRAYS arrays of (T, H) in the trace's dtype (6.9 float64,
        9.9 float32 measured; the path picture keeps per-step norms only, issue 16)

    resident memory added by opening = the trace held + what showing adds (estimated):
    float32, 233 MiB in its file: +407 MiB = 207 + 200 MiB (show_bytes: 201 MiB)
    float64, 465 MiB: +691 MiB = 414 + 277 MiB (339 MiB)

Once a trace is read (its own bytes already taken), what showing it adds must fit in
the memory the engine lets one file take (``memory_limit``: half of MemAvailable,
measured with psutil on every platform).
"""

from __future__ import annotations

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.live import live_bytes
from lstm_engine.memory import format_bytes, memory_limit
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES

PICTURE_ARRAYS = 10         # (T, H) arrays the pictures hold: measured 6.9–9.9 (see above)


def trace_nbytes(trace) -> int:
    """Bytes of a trace's arrays as its file stores them: every recorded quantity, the
    inputs, targets, parameters (of every layer, for a ModelTrace; what
    ``bench/bench_app_memory.py`` compares with)."""
    layers = getattr(trace, "layers", None)
    if isinstance(layers, tuple):                     # a ModelTrace: its layers' Traces
        return sum(trace_nbytes(tr) for tr in layers)
    arrays = [trace[n] for n in STEP_NAMES + GRAD_NAMES]
    arrays += [trace.x, trace.y, *trace.params.as_dict().values()]
    return int(sum(np.asarray(a).nbytes for a in arrays))


def show_bytes(trace) -> int:
    """Bytes showing ``trace`` adds to the trace itself: the live gradients and the
    pictures (the measured model above), for each layer of a ModelTrace."""
    layers = getattr(trace, "layers", None)
    if isinstance(layers, tuple):                     # every layer can be shown
        return sum(show_bytes(tr) for tr in layers)
    T, X, H, dtype = trace.steps, trace.inputs, trace.hidden, trace.dtype
    return live_bytes(T, X, H, dtype) + PICTURE_ARRAYS * T * H * dtype.itemsize


def check_can_show(trace, where) -> None:
    """UserError naming ``where`` if showing ``trace`` would not fit in memory."""
    more = show_bytes(trace)
    limit = memory_limit()
    if more > limit:
        size = format_bytes(trace_nbytes(trace))
        raise UserError(f"{where}: showing this {size} trace needs "
                        f"about {format_bytes(more)} more (its live gradients and pictures), "
                        f"beyond the {format_bytes(limit)} a file may use (half of the "
                        "memory available)")


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
