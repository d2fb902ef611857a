"""The parameter-gradient heatmaps: the weight and bias gradients as of a frame (or the
current step's contribution alone) with fixed or per-frame levels. No Qt."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS
from lstm_engine.trace import GATE_ORDER

from ..model.frame_data import FrameData
from ..model.levels import max_abs, symmetric_levels
from .colors import Special, count_special

GATE_OF = {f"w{k}_diff": k for k in "ifog"} | {f"b{k}_diff": k for k in "ifog"}



@dataclass
class ParamState:
    """The parameter-gradient views at one frame."""

    computed: bool                                   # False before the backward pass
    mode: str                                        # "accumulated" or "contribution"
    arrays: dict = field(default_factory=dict)       # name -> array (absent: not computed)
    levels: dict = field(default_factory=dict)       # name -> (lo, hi); "bias" for all four
    special: dict = field(default_factory=dict)      # name -> Special
    # name -> the largest finite |value| of a weight gradient (0 if none), from the frame's
    # cached statistics (FrameData.stats, shared with the table and the source notes):
    # the view's drawable check and autoscale read no (H, X+H) array again
    peaks: dict = field(default_factory=dict)
    # name -> what its array holds: ("sum", first step summed) or ("own", step); equal
    # entries (same trace and mode) mean equal arrays, so a view need not redraw them
    sources: dict = field(default_factory=dict)
    step: int | None = None                          # the contribution's step
    caption: str = ""                                # what the arrays are, in words
    # At a statement that adds to a gradient (wo_diff += …): that gradient, the rows it
    # changed (units j; for a bias, its entries) and the change in words. A change in one
    # row of a 100-row map is one pixel high: the view marks these rows.
    changed: str | None = None
    changed_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    change: str = ""

    def bias_image(self) -> np.ndarray | None:
        """The four bias gradients stacked (4, H), rows in the order of BIAS_DIFFS."""
        if not all(n in self.arrays for n in BIAS_DIFFS):
            return None
        return np.stack([self.arrays[n] for n in BIAS_DIFFS])


class ParamGrads:
    """The gradient accumulators as of a frame, and the current step's contribution."""

    SAMPLES = 32                                      # accumulations sampled for the levels

    def __init__(self, data: FrameData):
        self.data = data
        self._fixed: dict[tuple[str, str], float] = {}
        self._contrib: tuple[int, dict] | None = None

    def _contribution(self, t: int) -> dict:
        if self._contrib is None or self._contrib[0] != t:
            with np.errstate(all="ignore"):         # NaN/Inf: drawn in reserved colours
                self._contrib = (t, self.data.live.contribution(t))
        return self._contrib[1]

    def state(self, index: int, mode: str = "accumulated", autoscale: bool = False) -> ParamState:
        frame = self.data.model.frame(index)
        if frame.phase != "bwd":
            return ParamState(False, mode, caption=param_caption(mode, 0, None, 0))
        out = ParamState(True, mode, step=frame.t)
        updates = (*WEIGHT_DIFFS, *BIAS_DIFFS)
        ran = sum(self.data.accumulated_from(n, frame) == frame.t for n in updates)
        out.caption = param_caption(mode, self.data.trace.steps, frame.t, ran, len(updates))
        if mode == "contribution":
            assert frame.t is not None          # a backward frame has its step
            own = self._contribution(frame.t)
            for name in (*WEIGHT_DIFFS, *BIAS_DIFFS):
                if self.data.accumulated_from(name, frame) == frame.t:
                    out.arrays[name] = own[name]
                    out.sources[name] = ("own", frame.t)
        else:
            out.arrays.update(self.data.accumulators(index))
            for name in out.arrays:
                out.sources[name] = ("sum", self.data.accumulated_from(name, frame))
        squares = self.data.accumulator_squares(index) if mode != "contribution" else {}
        for name, a in out.arrays.items():
            finite = np.isfinite(squares.get(name, np.nan))    # cached: no second pass
            out.special[name] = Special() if finite else count_special(a)
        if mode != "contribution":
            for name in WEIGHT_DIFFS:
                stats = self.data.stats(name, index)
                if stats is not None:
                    out.peaks[name] = peak_of(stats.min, stats.max)
        self._levels(out, autoscale)
        if frame.stmt in updates and frame.t is not None:
            self._mark_change(out, frame.stmt, frame.t)
        return out

    def _levels(self, out: ParamState, autoscale: bool) -> None:
        """Symmetric levels per weight gradient and one for the four biases: fixed over
        the pass, or (autoscale) the largest finite |value| shown now."""
        for name in WEIGHT_DIFFS:
            if autoscale and name in out.arrays:
                m = out.peaks[name] if name in out.peaks else max_abs(out.arrays[name])
            else:
                m = self.fixed_scale(name, out.mode)
            out.levels[name] = symmetric_levels(m)
        if autoscale:
            m = max((max_abs(out.arrays[n]) for n in BIAS_DIFFS if n in out.arrays), default=0)
        else:
            m = max(self.fixed_scale(n, out.mode) for n in BIAS_DIFFS)
        out.levels["bias"] = symmetric_levels(m)

    def _mark_change(self, out: ParamState, name: str, t: int) -> None:
        """Which rows step t's ``name`` update changed: row j of outer(d_input, xc) (or
        entry j of a bias) is d_input[j]·xc, so the rows where d_input[j] is not zero
        (and xc is not all zero); the largest change of row j is |d_input[j]|·max|xc|."""
        tr = self.data.trace
        a = np.asarray(tr[input_of("b" + name[1:])][t], np.float64)
        scale = 1.0
        if name in WEIGHT_DIFFS:
            with np.errstate(all="ignore"):
                scale = float(np.nanmax(np.abs(np.asarray(tr.xc[t], np.float64)), initial=0))
        with np.errstate(all="ignore"):
            size = np.abs(a) * scale
        rows = np.flatnonzero(size != 0) if scale != 0 else np.zeros(0, np.int64)
        out.changed, out.changed_rows = name, rows
        what = "entries" if name in BIAS_DIFFS else "rows"
        n = len(a)
        if not len(rows):
            out.change = f"{name}: step {t} changed nothing (its input is zero)"
            return
        big = int(rows[np.nanargmax(size[rows])]) if np.isfinite(size[rows]).any() \
            else int(rows[0])
        count = f"all {n} {what}" if len(rows) == n else f"{len(rows)} of {n} {what}"
        out.change = (f"{name}: step {t} changed {count} (marked ▸), most unit {big}: "
                      f"{float(size[big]):.3g}")

    def fixed_scale(self, name: str, mode: str) -> float:
        """The half-width of the fixed levels: the largest |value| the view will show
        over the whole backward pass (sampled at checkpoints for the accumulations)."""
        key = (name, mode)
        found = self._fixed.get(key)
        if found is None:
            found = self._fixed[key] = self._scale(name, mode)
        return found

    def _scale(self, name: str, mode: str) -> float:
        tr = self.data.trace
        H, T = tr.hidden, tr.steps
        row = GATE_ORDER.index(GATE_OF[name])
        dz = np.asarray(tr.dz[:, row * H:(row + 1) * H])
        with np.errstate(all="ignore"):
            dz_max = np.where(np.isfinite(dz), np.abs(dz), 0).max(axis=1)
            xc_max = np.where(np.isfinite(tr.xc), np.abs(tr.xc), 0).max(axis=1)
        if mode == "contribution":
            if name in WEIGHT_DIFFS:         # max |outer(a, b)| = max|a| * max|b|, exactly
                with np.errstate(over="ignore"):    # beyond float64: Inf, held by the levels
                    return float((dz_max * xc_max).max()) if T else 0.0
            return float(dz_max.max()) if T else 0.0
        if name in BIAS_DIFFS:             # every suffix sum is small: take them all
            with np.errstate(all="ignore"):
                return max_abs(np.cumsum(np.asarray(tr[input_of(name)])[::-1], axis=0))
        live = self.data.live
        stride = live.stride
        starts = np.arange(0, T, stride)
        if len(starts) > self.SAMPLES:
            starts = starts[np.linspace(0, len(starts) - 1, self.SAMPLES).round().astype(int)]
        best = max_abs(tr[name])
        with np.errstate(all="ignore"):
            for s in starts:                 # checkpoints: each is a lookup, no GEMM
                best = max(best, max_abs(live.accumulated(int(s))[name]))
        return best

    def table(self, state: ParamState) -> tuple[list[str], list[list]]:
        """Long format: one row per entry of every matrix and bias shown."""
        X = self.data.trace.inputs
        header = ["parameter", "unit", "column", "value"]
        rows: list[list] = []
        for name in (*WEIGHT_DIFFS, *BIAS_DIFFS):
            a = state.arrays.get(name)
            if a is None:
                continue
            if a.ndim == 2:
                cols = [f"x[{c}]" if c < X else f"h_prev[{c - X}]" for c in range(a.shape[1])]
                for j in range(a.shape[0]):
                    rows.extend([name, j, cols[c], a[j, c]] for c in range(a.shape[1]))
            else:
                rows.extend([name, j, "", a[j]] for j in range(a.shape[0]))
        return header, rows


def param_caption(mode: str, steps: int, t: int | None, ran: int, updates: int = 8) -> str:
    """What the parameter-gradient view shows, in words: at a backward frame of step ``t``
    where ``ran`` of step t's ``updates`` accumulation lines have run (None: not yet in
    the backward pass). The backward pass runs steps T-1 down to 0."""
    if t is None:
        return "not computed yet: gradients accumulate in the backward pass"
    if mode == "contribution":
        text = f"step {t}'s own contribution"
        return text + (" (grey: its updates have not run yet)" if ran < updates else "")
    last = steps - 1
    whole = ran == updates                       # step t's updates have all run
    lo = t if whole else t + 1                   # the last step fully accumulated
    part = f"step {t}'s updates run so far ({ran} of {updates})" if 0 < ran < updates else ""
    if lo > last:                                # only step T-1, and not all of it
        return (f"nothing accumulated yet: step {t}'s updates (wi_diff += …) have not run"
                if not part else f"only {part}")
    span = f"step {last}" if lo == last else f"Σ over steps {last} … {lo}"
    if lo == 0:
        return f"the complete gradient: {span}" if steps > 1 else \
            "the complete gradient: step 0"
    if part:
        return f"{span} + {part}"
    if not whole:
        return f"{span} (step {t}'s updates have not run yet)"
    return span


def peak_of(lo: float, hi: float) -> float:
    """The largest finite |value| from the finite min and max (NaN when there is none:
    then 0, as ``levels.max_abs`` says)."""
    if np.isnan(lo) or np.isnan(hi):
        return 0.0
    return max(abs(lo), abs(hi))


def input_of(bias_name: str) -> str:
    """bi_diff -> di_input: the per-step vector whose sum a bias gradient is."""
    return f"d{bias_name[1]}_input"
