"""The gradient flow: per-step gradient norms and the forget-gate product, as of a frame.
No Qt."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lstm_engine.flow import gradient_norms, log10_forget_product

from ..model.frame_data import FrameData
from ..model.levels import padded_range, saturate
from .known import known_steps

FLOW_CURVES = ("ds", "top_diff_h", "bottom_diff_s")


@dataclass(frozen=True)
class FlowState:
    curves: dict                      # name -> (t, values) of the computed steps
    forget: tuple | None              # (t, median, q10, q90) of log10 prod f, or None
    cursor: int
    known: dict                       # name -> (lo, hi): the steps computed, lo … hi-1


def nan_percentiles_by_row(a: np.ndarray, q) -> np.ndarray:
    """``np.nanpercentile(a, q, axis=1)`` of a 2-D float array, (len(q), rows), equal to it
    entry for entry, in a few whole-array operations.

    numpy computes a percentile along an axis of an array with NaN one row at a time
    (``apply_along_axis``: a Python call per row, 0.9 s for 10,000 steps). Its "linear"
    method, per row of n non-NaN values sorted (±Inf are values, NaN is left out):
    virtual index v = (n-1)·q/100 between the values lo = [floor(v)] and hi = [floor(v)+1]
    (both the last value once v ≥ n-1), gamma = v - floor(v), then ``lo + (hi-lo)·gamma``,
    or ``hi - (hi-lo)·(1-gamma)`` where gamma ≥ 0.5. The same here for every row at once:
    the rows sorted (NaN last), both neighbours gathered. A row of NaN alone gathers NaN.
    (numpy measures gamma at the end from index -1; there lo = hi, so it changes nothing.)
    """
    a = np.asarray(a)
    qs = np.true_divide(np.asarray(q), 100)[:, None]              # (Q, 1), float64
    ordered = np.sort(a, axis=1)                                  # NaN sorts last
    n = a.shape[1] - np.count_nonzero(np.isnan(a), axis=1)        # (rows,)
    last = (n - 1)[None, :]
    virtual = last * qs                                           # (Q, rows)
    below = np.floor(virtual)
    at_end = virtual >= last
    gamma = virtual - below
    lo_at = np.where(at_end, last, below).astype(np.intp)
    hi_at = np.where(at_end, last, below + 1).astype(np.intp)
    lo = np.take_along_axis(ordered, lo_at.T, axis=1).T
    hi = np.take_along_axis(ordered, hi_at.T, axis=1).T
    with np.errstate(invalid="ignore"):           # Inf - Inf: NaN, as numpy's own
        step = hi - lo
        out = np.add(lo, step * gamma)
        np.subtract(hi, step * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


class Flow:
    """Norms per step and the forget-gate product, as of a frame."""

    def __init__(self, data: FrameData):
        self.data = data
        self._norms: dict | None = None
        self._forget: tuple | None = None
        self._ranges: dict = {}
        self._positive: dict | None = None
        self.t = np.arange(data.trace.steps, dtype=np.float32)

    def norms(self) -> dict:
        if self._norms is None:
            with np.errstate(all="ignore"):          # drawn saturated: model/levels.py
                self._norms = {k: saturate(v)
                               for k, v in gradient_norms(self.data.trace).items()}
        return self._norms

    def positive_norms(self) -> dict:
        """The norms with zeros as NaN (a gap on a log scale), once per trace."""
        if self._positive is None:
            self._positive = {k: np.where(v > 0, v, np.nan).astype(np.float32)
                              for k, v in self.norms().items()}
        return self._positive

    def forget(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """log10 prod_{j>t} f(j) over the units: median, 10th and 90th percentile, (T,)."""
        if self._forget is None:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                # a step whose units are all NaN has NaN percentiles: drawn as a gap
                warnings.simplefilter("ignore", RuntimeWarning)
                lp = log10_forget_product(self.data.trace)
                q = nan_percentiles_by_row(lp, [50, 10, 90]) if lp.shape[1] else \
                    np.zeros((3, lp.shape[0]))
            self._forget = tuple(np.asarray(v, np.float32) for v in q)
        return self._forget

    def norm_range(self, log: bool) -> tuple[float, float]:
        """The y range of the norm curves over the whole pass (log10 units when ``log``),
        so the axes are set once per trace instead of following every frame."""
        key = ("norm", log)
        found = self._ranges.get(key)
        if found is None:
            v = np.concatenate([self.norms()[n] for n in FLOW_CURVES])
            v = v[np.isfinite(v)]
            if log:
                v = v[v > 0]
                with np.errstate(all="ignore"):
                    v = np.log10(v)
                found = padded_range(v, floor=None)
            else:
                found = padded_range(v, floor=0.0)
            self._ranges[key] = found
        return found

    def forget_range(self) -> tuple[float, float]:
        """The y range of log10 prod f (10th to 90th percentile band) over the pass."""
        found = self._ranges.get("forget")
        if found is None:
            _, q10, q90 = self.forget()
            v = np.concatenate([q10, q90, [0.0]])
            found = self._ranges["forget"] = padded_range(v[np.isfinite(v)], floor=None)
        return found

    def state(self, index: int, log: bool = False) -> FlowState:
        data = self.data
        frame = data.model.frame(index)
        curves, known = {}, {}
        norms = self.curve_values(log)
        for name in FLOW_CURVES:
            lo, hi = known[name] = known_steps(data, name, frame)
            curves[name] = (self.t[lo:hi], norms[name][lo:hi])
        forget = None
        if frame.phase != "fwd":
            forget = (self.t, *self.forget())
        return FlowState(curves, forget, data.focus_step(frame), known)

    def curve_values(self, log: bool) -> dict:
        """Each curve's values over the whole pass (zeros as NaN gaps when ``log``)."""
        return self.positive_norms() if log else self.norms()

    def table(self, index: int) -> tuple[list[str], list[list]]:
        frame = self.data.model.frame(index)
        header = ["step", *(f"norm_{n}" for n in FLOW_CURVES),
                  "log10_prod_f_median", "log10_prod_f_q10", "log10_prod_f_q90"]
        T = self.data.trace.steps
        known = {n: known_steps(self.data, n, frame) for n in FLOW_CURVES}
        forget = self.forget() if frame.phase != "fwd" else None
        rows = []
        for t in range(T):
            row: list = [t]
            for n in FLOW_CURVES:
                lo, hi = known[n]
                row.append(self.norms()[n][t] if lo <= t < hi else None)
            row.extend([forget[k][t] for k in range(3)] if forget else [None] * 3)
            rows.append(row)
        return header, rows
