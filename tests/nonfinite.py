"""Traces with NaN and Inf written into them, for the tests of several layers."""

import numpy as np

from lstm_engine import GRAD_NAMES, PARAM_NAMES, STEP_NAMES, Params, Trace, record


def nan_trace(trace: Trace) -> Trace:
    """A copy of ``trace`` with NaN, +Inf and -Inf written into some arrays."""
    arrays = {n: np.array(trace[n]) for n in STEP_NAMES + GRAD_NAMES}
    arrays["ds"][1, 0] = np.nan
    arrays["ds"][2, 1] = np.inf
    arrays["ds"][4, 2] = -np.inf
    arrays["s"][0, 3] = np.nan
    arrays["di_input"][5, 0] = np.inf
    return Trace(trace.params, trace.x, trace.y, arrays, trace.variant, trace.loss_fn)


def trace_with(changes, seed: int = 0):
    """A real trace of 6 steps whose arrays are copied and given NaN/Inf at chosen places
    (``changes``: (array name, index, value) triples)."""
    rng = np.random.default_rng(seed)
    p = Params(**{n: rng.uniform(-0.5, 0.5, (3, 5) if n.startswith("w") else 3)
                  for n in PARAM_NAMES})
    tr = record(p, rng.standard_normal((6, 2)), rng.standard_normal(6), "seed")
    arrays = {n: np.array(tr[n]) for n in STEP_NAMES + GRAD_NAMES}
    for name, index, value in changes:
        arrays[name][index] = value
    return Trace(p, tr.x, tr.y, arrays, "seed", tr.loss_fn)
