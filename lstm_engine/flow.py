"""How gradients travel through time: norms per step, the forget-gate product along the
carousel, and which future losses feed each step's cell gradient.

Along the cell state alone, ``top_diff_s(t) = ds(t+1) * f(t+1)``, so a gradient that
enters at step k reaches step t < k scaled by ``prod_{j=t+1..k} f(j)`` (per unit), plus
whatever comes back through the h path. The product is kept in log space so that it
can fall far below the smallest float without becoming 0.
"""

from __future__ import annotations

import numpy as np

from .helper import Sharing
from .recorder import backward_coefficients, stacked_weights
from .trace import Trace


def gradient_norms(trace: Trace) -> dict[str, np.ndarray]:
    """Euclidean norm per step of ``ds``, ``top_diff_h`` and ``bottom_diff_s``: (T,) each."""
    return {name: np.linalg.norm(trace[name], axis=1)
            for name in ("ds", "top_diff_h", "bottom_diff_s")}


def log10_forget_product(trace: Trace) -> np.ndarray:
    """``log10 prod_{j=t+1}^{T-1} f(j)`` per step and unit, (T, H); zero at the last step.

    How much of a gradient entering the carousel at the last step survives the s path
    back to step t, unit by unit. -inf only where a recorded f is exactly 0 (a float32
    sigmoid underflows below about e^-88).
    """
    with np.errstate(divide="ignore"):
        logf = np.log10(np.asarray(trace.f, dtype=np.float64))
    out = np.zeros_like(logf)
    # out[t] = sum_{j > t} logf[j]: a reversed cumulative sum, shifted by one step.
    np.cumsum(logf[:0:-1], axis=0, out=out[-2::-1])
    return out


def loss_to_cell_gradients(trace: Trace, sources=None) -> tuple[np.ndarray, np.ndarray]:
    """``‖∂l(k)/∂s(t)‖`` for every chosen loss step k and every t ≤ k.

    Returns ``(sources, M)`` with M of shape (len(sources), T): row n holds the norms for
    loss step ``sources[n]``, NaN where t > k (a loss cannot reach back into the future).
    The vectors themselves sum over k to ``trace.ds[t]``. All chosen sources run through
    one backward pass together: the carried gradients become (H, K) matrices and the
    recurrent mat-vec a GEMM, with only the sources already reached (k ≥ t) in it.
    Cost ~ 4H² · T · K/2 multiply-adds for K sources, no fewer for an exact answer while
    K < 2H (each source's gradient is its own vector of the 2H-dimensional carry); the
    GEMM is nearly all of it, and the engine's helper thread does half its columns
    (``loss_to_cell_steps`` does the same one step at a time, for a caller that shows
    progress).
    """
    steps = loss_to_cell_steps(trace, sources)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def loss_to_cell_steps(trace: Trace, sources=None):
    """``loss_to_cell_gradients`` as a generator: yields how many of the T steps are done
    before each step (T - 1 down to 0) and returns ``(sources, M)``. Nothing is shared
    between calls, so closing it early leaves nothing behind."""
    T, H, X = trace.steps, trace.hidden, trace.inputs
    sources = np.arange(T) if sources is None else np.unique(np.asarray(sources, dtype=int))
    if sources.size and (sources[0] < 0 or sources[-1] >= T):
        raise ValueError(f"loss steps must lie in 0 … {T - 1}")
    order = sources[::-1]                       # latest first: active sources are a prefix
    K = len(order)
    dt = np.float64
    i, f, o, g, s = (np.asarray(trace[n], dt) for n in ("i", "f", "o", "g", "s"))
    s_before = np.vstack([np.zeros((1, H)), s[:-1]])
    A, C, _ = backward_coefficients(i, f, o, g, s, s_before, trace.variant)
    C4 = C.reshape(T, 4, H)
    p = trace.params
    WhT = stacked_weights(p).astype(dt)[:, X:].T.copy()    # (H, 4H)
    dl_dh = np.asarray(trace.dl_dh, dt)
    out = np.full((K, T), np.nan)
    carry_h = np.zeros((H, K))
    carry_s = np.zeros((H, K))
    dz = np.empty((4, H, K))
    active = 0
    sharing = Sharing(ALONE_STEPS)
    for t in range(T - 1, -1, -1):
        yield T - 1 - t
        while active < K and order[active] >= t:
            active += 1
        if active == 0:
            continue
        n = active
        tdh = carry_h[:, :n].copy()
        col = np.searchsorted(-order, -t)       # the column of source k == t, if chosen
        if col < K and order[col] == t:
            tdh[:, col] += dl_dh[t]
        ds = A[t][:, None] * tdh + carry_s[:, :n]
        out[:n, t] = np.linalg.norm(ds, axis=0)
        np.multiply(C4[t][:, :, None], ds[None], out=dz[:, :, :n])
        np.multiply(C4[t, 2][:, None], tdh, out=dz[2, :, :n])
        carry_s[:, :n] = ds * f[t][:, None]
        rows = dz[:, :, :n].reshape(4 * H, n)
        if sharing.wanted() and n >= SPLIT_COLUMNS:
            m = n // 2                                      # the helper's columns
            sharing.split(_product, (WhT, rows[:, :m], carry_h[:, :m]),
                          (WhT, rows[:, m:], carry_h[:, m:n]))
        else:
            _product(WhT, rows, carry_h[:, :n])
    return sources, out[::-1]


# From this many sources on, each step's GEMM is split between this thread and the
# engine's helper thread (helper.Sharing; BLAS releases the GIL): below it, handing half
# over costs more than it saves. After a step where the helper lagged, the next
# ALONE_STEPS steps are done here alone.
SPLIT_COLUMNS = 16
ALONE_STEPS = 64


def _product(WhT: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``out = WhT @ rows``: the carried dL/dh of some sources."""
    out[...] = WhT @ rows
