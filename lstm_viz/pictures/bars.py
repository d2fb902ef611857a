"""The bar plot under the variables table: the vector it shows, its title, and its y range
per quantity (fixed over a trace). No Qt."""

from __future__ import annotations

import numpy as np

from lstm_engine.live import BIAS_DIFFS

from ..model.frame_data import ACCUMULATORS, FrameData


def plotted_vector(data: FrameData, name: str, index: int):
    """``(values, caption)`` of the bar plot under the variables table for ``name`` at frame
    ``index`` (a matrix: its row norms, one per memory cell), or None if not yet computed."""
    v = data.value(name, index)
    if v is None:
        return None
    if v.ndim == 2:
        with np.errstate(all="ignore"):               # a norm beyond float64 is Inf
            return np.linalg.norm(v, axis=1), f"‖{name}[j, :]‖ per memory cell j"
    if name == "loss":
        return v, "l(t) per time step t"
    unit = "memory cell" if v.shape[0] == data.trace.hidden else "entry"
    return v, f"{name}[j] per {unit} j"


def bar_length(data: FrameData, name: str) -> int:
    """How many bars ``name`` has in this run (before it is computed, too): its axis."""
    tr = data.trace
    if name == "loss":
        return tr.steps
    if name == "x":
        return tr.inputs
    if name in ACCUMULATORS:
        return tr.hidden                  # a weight matrix's row norms, or a bias
    return int(tr[name].shape[1])


def nice(v: float) -> float:
    """The 1-2-5 number at least as far from zero as ``v`` (0 stays 0)."""
    if v == 0 or not np.isfinite(v):
        return 0.0
    mag = 10.0 ** np.floor(np.log10(abs(v)))
    for m in (1.0, 2.0, 5.0, 10.0):
        if abs(v) <= m * mag * (1 + 1e-12):
            return float(np.copysign(m * mag, v))
    return float(np.copysign(10 * mag, v))


class BarRanges:
    """The bar plot's y range per quantity, fixed over the whole trace: the 1-2-5 rounded
    span of everything the plot can show for it (0 always included), so a frame change
    does not re-range (and re-tick) the axis. A weight-gradient accumulator's row norms are
    sampled at the live checkpoints; a frame whose bars go beyond the range widens it for
    the rest of the trace (the range only grows: no bar is ever cut off)."""

    SAMPLES = 32                                      # accumulations sampled per quantity

    def __init__(self, data: FrameData):
        self.data = data
        self._ranges: dict[str, tuple[float, float]] = {}

    def range(self, name: str, heights: np.ndarray) -> tuple[float, float]:
        """(lo, hi) for ``name`` showing ``heights`` (finite) at the current frame."""
        found = self._ranges.get(name)
        if found is None:
            found = self._span(name)
        if heights.size:
            lo, hi = float(heights.min()), float(heights.max())
            if lo < found[0] or hi > found[1]:
                found = (min(found[0], nice(lo)), max(found[1], nice(hi)))
        self._ranges[name] = found
        return found

    def _span(self, name: str) -> tuple[float, float]:
        tr = self.data.trace
        if name == "loss":
            values = [np.asarray(tr.loss)]
        elif name in BIAS_DIFFS:            # every suffix sum, exactly: the live gradients'
            values = [self.data.live.bias_suffixes(name)]   # (not a second cumsum of T x H)
        elif name in ACCUMULATORS:
            live = self.data.live
            starts = np.arange(0, tr.steps, live.stride)
            if len(starts) > self.SAMPLES:
                starts = starts[np.linspace(0, len(starts) - 1, self.SAMPLES).round().astype(int)]
            values = [np.asarray(tr[name])]
            with np.errstate(all="ignore"):               # NaN/Inf sums: skipped below
                values += [np.asarray(live.accumulated(int(s))[name]) for s in starts]
                if values[0].ndim == 2:
                    values = [np.linalg.norm(v, axis=1) for v in values]
        else:
            values = [np.asarray(tr.x if name == "x" else tr[name])]
        lo = hi = 0.0
        with np.errstate(all="ignore"):
            for v in values:
                ok = np.isfinite(v)             # the finite values, without copying them out
                if ok.any():
                    lo = min(lo, float(np.min(v, where=ok, initial=np.inf)))
                    hi = max(hi, float(np.max(v, where=ok, initial=-np.inf)))
        return nice(lo), nice(hi)


def plot_title(data: FrameData, name: str | None, index: int, got) -> str:
    """The bar plot's title: what it shows and the frame it shows it at."""
    if name is None:
        return "select a variable to plot it"
    frame = data.model.frame(index)
    text = data.model.text(index)
    if got is None:
        return f"{name}: not yet computed at {text}"
    where = "" if name == "loss" else f", t={data.focus_step(frame)}"
    return f"{got[1]}   ({text}{where})"
