"""What if, as curves: the original pass and the intervened one over time, for the Intervene
panel. No Qt.

Two pictures, each with a curve per pass: the gradient flow ‖ds(t)‖ = sqrt(Σ_j ds_j(t)²)
of the layer in view (what the gradient-flow view draws for one pass), and the loss per
step l(t) of the whole pass (the read-out's, on top of the last layer). Each curve is the
whole pass, float32; the cursor's step is where the debugger is. The y ranges cover both
passes' whole curves, so the panel sets its axes once per pass and layer, not per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.levels import padded_range, saturate
from ..model.whatif import PASSES


@dataclass(frozen=True)
class BothPasses:
    """``t`` (T,), and per pass in PASSES: ``ds_norm`` and ``loss`` (T,) each, float32,
    and ``ds_log``, ``ds_norm`` with its zeros as NaN (a gap on a log scale: log 0 is no
    point); ``total`` L = Σ_t l(t) of each pass (float64). ``ds_range`` is the y range of
    both ‖ds‖ curves in log10 units (the panel's scale; zeros and non-finite values left
    out), ``loss_range`` that of both loss curves, each with a little room."""

    t: np.ndarray
    ds_norm: dict
    ds_log: dict
    loss: dict
    total: dict
    ds_range: tuple[float, float]
    loss_range: tuple[float, float]


def both_passes(whatif, layer: int | None = None,
                losses: BothPasses | None = None) -> BothPasses | None:
    """The curves of ``whatif``'s two passes (``model/whatif.py``); None without both.
    ``losses``, the curves of another layer of the same two passes, lends its loss
    curves (the whole pass's read-out: the same in every layer)."""
    ds, ds_log, loss, total = {}, {}, {}, {}
    for which in PASSES:
        whole = whatif.pass_of(which)
        if whole is None:
            return None
        tr = whatif.layer_pass(which, layer)
        with np.errstate(all="ignore"):
            ds[which] = saturate(np.linalg.norm(np.asarray(tr.ds, np.float64), axis=1))
            ds_log[which] = np.where(ds[which] > 0, ds[which], np.nan).astype(np.float32)
            if losses is None:
                per_step = np.asarray(whole.loss, np.float64)   # l(t), (T,)
                loss[which] = saturate(per_step)
                total[which] = float(np.sum(per_step))
    if losses is not None:
        loss, total, loss_range = losses.loss, losses.total, losses.loss_range
    else:
        loss_range = padded_range(_finite(np.concatenate(list(loss.values()))), floor=None,
                             pad=0.1)
    T = len(ds["original"])
    return BothPasses(np.arange(T, dtype=np.float32), ds, ds_log, loss, total,
                      _log_range(np.concatenate(list(ds.values()))), loss_range)


class PassCurves:
    """``both_passes`` of each layer, computed once while the two passes are the same
    (a seek into another layer switches the Intervene panel's curves often)."""

    def __init__(self, whatif):
        self.whatif = whatif
        self._passes: tuple = (None, None)
        self._layers: dict[int, BothPasses] = {}

    def get(self, layer: int) -> BothPasses | None:
        """The curves of ``layer``; None without both passes."""
        w = self.whatif
        if not w.has_pass:
            self._passes, self._layers = (None, None), {}      # holds no pass
            return None
        passes = (w.original, w.intervened)
        if any(a is not b for a, b in zip(passes, self._passes, strict=True)):
            self._passes, self._layers = passes, {}     # other passes: nothing kept
        found = self._layers.get(layer)
        if found is None:
            kept = next(iter(self._layers.values()), None)
            found = both_passes(w, layer, losses=kept)
            if found is not None:
                self._layers[layer] = found
        return found


def _finite(v: np.ndarray) -> np.ndarray:
    return v[np.isfinite(v)]


def _log_range(v: np.ndarray) -> tuple[float, float]:
    """The range of log10 v over the finite positive values (what a log axis draws)."""
    v = _finite(v)
    with np.errstate(all="ignore"):
        return padded_range(np.log10(v[v > 0]), floor=None, pad=0.1)


def other_pass_ds(session, log: bool) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The gradient-flow view's second curve: ‖ds(t)‖ of the pass the debugger does not
    step (the original beside the intervened one, or the other way round), the layer in
    view; (label, t, values), zeros as NaN on a log scale; None without an intervened
    pass."""
    w = session.whatif
    if not w.has_pass or w.original is None:
        return None
    other = "original" if w.stepping == "intervened" else "intervened"
    with np.errstate(all="ignore"):
        v = saturate(np.linalg.norm(np.asarray(w.layer_pass(other).ds, np.float64), axis=1))
        if log:
            v = np.where(v > 0, v, np.nan).astype(np.float32)
    return f"‖ds(t)‖ {other}", np.arange(len(v), dtype=np.float32), v
