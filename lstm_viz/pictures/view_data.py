"""What the picture views show at a frame: the carousel, the heatmaps over time, the
parameter-gradient heatmaps, the gradient flow and the loss-to-cell matrix. No Qt.

Everything here is a function of a ``FrameData`` (one Trace) and a frame index, built on
what ``FrameData`` already knows (which statements have run, the live accumulators):

* ``known_steps(name, frame)``: the steps of a per-step quantity computed at that frame,
  always one contiguous range: a prefix for forward quantities (they fill in from t=0),
  a suffix for backward ones (from T-1 down); the views grey out the rest;
* ``TimeMap``: a time x unit image per quantity, built once per trace, with its fixed
  colour levels, per-frame autoscale levels and NaN/Inf counts as of any frame (prefix
  and suffix sums, so a frame costs O(1));
* ``ParamGrads``: the weight and bias gradients as of the frame (or the current step's
  contribution alone) with fixed or per-frame levels;
* ``carousel``: the vectors on each edge of the cell diagram and the edges to highlight;
* ``Flow``: per-step gradient norms and the forget-gate product, as of the frame;
* ``Contributions``: ‖∂l(k)/∂s(t)‖ from the engine, computed on demand and cached;
* ``csv_text``: every view's table, for export.

``ViewData.of(frame_data)`` shares one cache per trace between all views.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from lstm_engine.flow import gradient_norms, log10_forget_product, loss_to_cell_gradients
from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS
from lstm_engine.trace import GATE_ORDER

from ..model.frame_data import ACCUMULATORS, FrameData, summarize
from ..model.frames import Frame
from ..model.levels import max_abs, symmetric_levels
from .colors import (
    Special,
    count_special,
    finite_or_zero,
    is_signed,
    special_rgba,
)

TIME_FORWARD = ("g", "i", "f", "o", "s", "h")
TIME_BACKWARD = ("top_diff_h", "top_diff_s", "ds", "bottom_diff_h", "dxc")
TIME_NAMES = TIME_FORWARD + TIME_BACKWARD
_FORWARD_SET = frozenset(("x", "xc", *TIME_FORWARD))
GATE_OF = {f"w{k}_diff": k for k in "ifog"} | {f"b{k}_diff": k for k in "ifog"}
MAX_SOURCES = 128                         # rows of the loss-to-cell matrix at most
AUTO_COMPUTE_MACS = 2e8                    # below this the matrix is computed when shown


# ---- what is known ------------------------------------------------------------------------

def known_steps(data: FrameData, name: str, frame: Frame) -> tuple[int, int]:
    """(lo, hi): the steps lo … hi-1 of ``name`` that are computed at ``frame``."""
    T = data.trace.steps
    if name in _FORWARD_SET:
        if frame.phase != "fwd":
            return 0, T
        return 0, frame.t + (1 if data.known(name, frame) else 0)
    if frame.phase != "bwd":
        return T, T
    return (frame.t if data.known(name, frame) else frame.t + 1), T


# ---- time x unit heatmaps -----------------------------------------------------------------

class TimeMap:
    """One quantity over all steps: image (T, n) float32 with NaN/Inf set to 0, the
    reserved-colour overlay (or None), fixed levels and cumulative counts."""

    def __init__(self, trace, name: str):
        a = trace[name]
        self.name = name
        self.values = a                                   # the trace's own (T, n) array
        self.image = finite_or_zero(a)
        self.special = special_rgba(a)
        T = a.shape[0]
        with np.errstate(all="ignore"):
            finite = np.where(np.isfinite(a), np.abs(a), 0.0)
        step_max = finite.max(axis=1) if a.shape[1] else np.zeros(T)
        self.scale = float(step_max.max()) if T else 0.0
        # Running maxima from either end: autoscale levels of a prefix or suffix in O(1).
        self._prefix_max = np.maximum.accumulate(step_max)
        self._suffix_max = np.maximum.accumulate(step_max[::-1])[::-1]
        counts = np.zeros((T + 1, 3), np.int64)
        if self.special is not None:
            per = np.stack([np.isnan(a).sum(1), (a == np.inf).sum(1), (a == -np.inf).sum(1)], 1)
            np.cumsum(per, axis=0, out=counts[1:])
        self._counts = counts

    def levels(self, known: tuple[int, int], autoscale: bool = False) -> tuple[float, float]:
        """Fixed levels (over the whole pass), or those of the computed steps alone."""
        if not is_signed(self.name):
            return 0.0, 1.0
        if not autoscale:
            return symmetric_levels(self.scale)
        lo, hi = known
        T = self.image.shape[0]
        if hi <= lo:
            return symmetric_levels(self.scale)
        if lo == 0:
            m = self._prefix_max[hi - 1]
        elif hi == T:
            m = self._suffix_max[lo]
        else:
            m = max_abs(self.values[lo:hi])
        return symmetric_levels(m)

    def special_count(self, known: tuple[int, int]) -> Special:
        """NaN/+Inf/-Inf among the computed steps."""
        lo, hi = known
        if hi <= lo:
            return Special()
        n = self._counts[hi] - self._counts[lo]
        return Special(int(n[0]), int(n[1]), int(n[2]))

    def table(self, known: tuple[int, int]) -> tuple[list[str], list[list]]:
        """Rows per step: quantity, step, then one column per unit; steps not computed at
        the frame are empty cells."""
        lo, hi = known
        n = self.values.shape[1]
        header = ["quantity", "step", *(f"unit {j}" for j in range(n))]
        rows = []
        for t in range(self.values.shape[0]):
            rows.append([self.name, t, *(self.values[t] if lo <= t < hi else [None] * n)])
        return header, rows


def stack_tables(tables) -> tuple[list[str], list[list]]:
    """Several tables with a common leading layout in one: the widest header, rows padded."""
    header = max((h for h, _ in tables), key=len)
    rows = [row + [None] * (len(header) - len(row)) for _, rs in tables for row in rs]
    return header, rows


# ---- parameter gradients ------------------------------------------------------------------

@dataclass
class ParamState:
    """The parameter-gradient views at one frame."""

    computed: bool                                   # False before the backward pass
    mode: str                                        # "accumulated" or "contribution"
    arrays: dict = field(default_factory=dict)       # name -> array (absent: not computed)
    levels: dict = field(default_factory=dict)       # name -> (lo, hi); "bias" for all four
    special: dict = field(default_factory=dict)      # name -> Special
    # name -> what its array holds: ("sum", first step summed) or ("own", step); equal
    # entries (same trace and mode) mean equal arrays, so a view need not redraw them
    sources: dict = field(default_factory=dict)
    step: int | None = None                          # the contribution's step
    caption: str = ""                                # what the arrays are, in words

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
        for name in WEIGHT_DIFFS:
            m = max_abs(out.arrays[name]) if (autoscale and name in out.arrays) else \
                self.fixed_scale(name, mode)
            out.levels[name] = symmetric_levels(m)
        if autoscale:
            m = max((max_abs(out.arrays[n]) for n in BIAS_DIFFS if n in out.arrays), default=0)
        else:
            m = max(self.fixed_scale(n, mode) for n in BIAS_DIFFS)
        out.levels["bias"] = symmetric_levels(m)
        return out

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
                return float((dz_max * xc_max).max()) if T else 0.0
            return float(dz_max.max()) if T else 0.0
        if name in BIAS_DIFFS:             # every suffix sum is small: take them all
            with np.errstate(all="ignore"):
                return max_abs(np.cumsum(np.asarray(tr[_input_of(name)])[::-1], axis=0))
        live = self.data.live
        stride = live.stride
        starts = np.arange(0, T, stride)
        if len(starts) > self.SAMPLES:
            starts = starts[np.linspace(0, len(starts) - 1, self.SAMPLES).round().astype(int)]
        best = max_abs(tr[name])
        for s in starts:                     # checkpoints: each is a lookup, no GEMM
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


def _input_of(bias_name: str) -> str:
    """bi_diff -> di_input: the per-step vector whose sum a bias gradient is."""
    return f"d{bias_name[1]}_input"


# ---- the carousel -------------------------------------------------------------------------

EDGES = ("x", "h_prev", "s_prev", "g", "i", "f", "o", "s", "s_next", "h_branch", "h")

_FWD_EDGE = {"x": "x", "h_prev": "h_prev", "s_prev": "s_prev", "g": "g", "i": "i", "f": "f",
             "o": "o", "s": "s", "h": "h"}
_FWD_HIGHLIGHT = {"xc": ("x", "h_prev"), "g": ("g",), "i": ("i",), "f": ("f",),
                  "o": ("o",), "s": ("s",), "h": ("h",)}
_BWD_HIGHLIGHT = {"ds": ("s",), "bottom_diff_s": ("s_prev",), "bottom_diff_h": ("h_prev",),
                  "dxc": ("x",)}
for _k in "ifog":
    for _n in (f"d{_k}", f"d{_k}_input", f"w{_k}_diff", f"b{_k}_diff"):
        _BWD_HIGHLIGHT[_n] = (_k,)
_FEEDS = {"ds": ("s_next", "h_branch"), "bottom_diff_s": ("s",), "dxc": ("i", "f", "o", "g"),
          "bottom_diff_h": ("x",), "do": ("h",), "s": ("s_prev", "g", "i", "f"),
          "h": ("s", "o"), "xc": ()}


@dataclass(frozen=True)
class EdgeValue:
    label: str                       # what the edge carries, e.g. "ds" or "s(t-1)"
    values: np.ndarray | None        # (n,) or None: not computed at this frame
    levels: tuple[float, float]
    signed: bool
    norm: float = float("nan")
    special: Special = Special()


@dataclass(frozen=True)
class CarouselState:
    phase: str                       # fwd, loss or bwd
    t: int
    steps: int
    variant: str
    edges: dict                      # edge name -> EdgeValue
    highlight: tuple[str, ...]       # edges written by the current statement
    feeds: tuple[str, ...]           # edges it reads (drawn lighter)
    backward: bool


class Carousel:
    """The vectors on the edges of the cell diagram at a frame."""

    def __init__(self, data: FrameData):
        self.data = data
        self._scales: dict[str, float] = {}
        self._stream: np.ndarray | None = None

    def h_stream(self) -> np.ndarray:
        """What the h path adds to ds: o*top_diff_h (standard: o*(1-tanh(s)^2)*top_diff_h)."""
        if self._stream is None:
            tr = self.data.trace
            a = np.asarray(tr.o)
            if tr.variant != "seed":
                th = np.tanh(np.asarray(tr.s))
                a = a * (1.0 - th * th)
            with np.errstate(all="ignore"):
                self._stream = a * np.asarray(tr.top_diff_h)
        return self._stream

    def scale(self, key: str) -> float:
        found = self._scales.get(key)
        if found is None:
            tr = self.data.trace
            if key == "stream":
                a = self.h_stream()
            elif key == "dx":
                a = tr.dxc[:, :tr.inputs]
            elif key == "x":
                a = tr.x
            elif key == "tanh_s":
                a = np.tanh(np.asarray(tr.s))
            else:
                a = tr[key]
            found = self._scales[key] = max_abs(a)
        return found

    def _edge(self, label: str, values, scale_key: str, gate: bool = False) -> EdgeValue:
        levels = (0.0, 1.0) if gate else symmetric_levels(self.scale(scale_key))
        if values is None:
            return EdgeValue(label, None, levels, not gate)
        st = summarize(values)
        return EdgeValue(label, values, levels, not gate, st.norm, count_special(values))

    def state(self, index: int) -> CarouselState:
        data = self.data
        tr = data.trace
        frame = data.model.frame(index)
        t = data.focus_step(frame)
        T, X, H = tr.steps, tr.inputs, tr.hidden
        edges: dict[str, EdgeValue] = {}
        if frame.phase != "bwd":
            fwd = frame if frame.phase == "fwd" else Frame("fwd", t)
            zeros = np.zeros(H, tr.dtype)
            edges["x"] = self._edge("x(t)", tr.x[t], "x")
            edges["h_prev"] = self._edge("h(t-1)", tr.h[t - 1] if t else zeros, "h")
            edges["s_prev"] = self._edge("s(t-1)", tr.s[t - 1] if t else zeros, "s")
            for n in ("g", "i", "f", "o"):
                edges[n] = self._edge(n, tr[n][t] if data.known(n, fwd) else None, n,
                                      gate=n != "g")
            s_known = data.known("s", fwd)
            edges["s"] = self._edge("s(t)", tr.s[t] if s_known else None, "s")
            if data.forward_variant != "seed":
                edges["h_branch"] = self._edge(
                    "tanh(s)", np.tanh(np.asarray(tr.s[t])) if s_known else None, "tanh_s")
            edges["h"] = self._edge("h(t)", tr.h[t] if data.known("h", fwd) else None, "h")
            if frame.phase == "loss":
                highlight, feeds = ("h",), ()
            else:
                highlight = _FWD_HIGHLIGHT[frame.statement]
                feeds = _FEEDS.get(frame.statement, ("x", "h_prev"))
            return CarouselState(frame.phase, t, T, data.forward_variant, edges, highlight,
                                 feeds, False)
        known = lambda n: data.known(n, frame)            # noqa: E731
        edges["h"] = self._edge("top_diff_h", tr.top_diff_h[t], "top_diff_h")
        edges["s_next"] = self._edge("top_diff_s", tr.top_diff_s[t], "top_diff_s")
        stream = "o·top_diff_h" if tr.variant == "seed" else "o(1−tanh²s)·top_diff_h"
        edges["h_branch"] = self._edge(stream, self.h_stream()[t], "stream")
        edges["s"] = self._edge("ds", tr.ds[t] if known("ds") else None, "ds")
        for k in "gifo":
            name = f"d{k}_input" if known(f"d{k}_input") else f"d{k}"
            edges[k] = self._edge(name, tr[name][t] if known(name) else None, name)
        edges["s_prev"] = self._edge("bottom_diff_s", tr.bottom_diff_s[t]
                                     if known("bottom_diff_s") else None, "bottom_diff_s")
        edges["h_prev"] = self._edge("bottom_diff_h", tr.bottom_diff_h[t]
                                     if known("bottom_diff_h") else None, "bottom_diff_h")
        edges["x"] = self._edge("dxc[:X]", tr.dxc[t, :X] if known("dxc") else None, "dx")
        stmt = frame.statement
        return CarouselState("bwd", t, T, data.forward_variant, edges, _BWD_HIGHLIGHT[stmt],
                             _FEEDS.get(stmt, ()), True)     # the cell drawn: its forward

    def table(self, state: CarouselState) -> tuple[list[str], list[list]]:
        """One row per edge and unit."""
        header = ["edge", "carries", "unit", "value"]
        rows = []
        for edge in EDGES:
            v = state.edges.get(edge)
            if v is None or v.values is None:
                continue
            rows.extend([edge, v.label, j, x] for j, x in enumerate(v.values))
        return header, rows


def unit_at(fraction: float, n: int) -> int | None:
    """The unit under a point ``fraction`` of the way along a strip of n cells."""
    if n <= 0 or not 0.0 <= fraction < 1.0:
        return None
    return min(int(fraction * n), n - 1)


# ---- gradient flow ------------------------------------------------------------------------

FLOW_CURVES = ("ds", "top_diff_h", "bottom_diff_s")


@dataclass(frozen=True)
class FlowState:
    curves: dict                      # name -> (t, values) of the computed steps
    forget: tuple | None              # (t, median, q10, q90) of log10 prod f, or None
    cursor: int
    known: dict                       # name -> (lo, hi): the steps computed, lo … hi-1


def _padded(v: np.ndarray, floor: float | None, pad: float = 0.05) -> tuple[float, float]:
    """(lo, hi) around the values with a little room (``floor``: lo never below it);
    a unit span when there is nothing or a single value."""
    if v.size == 0:
        return (0.0, 1.0) if floor is not None else (-1.0, 0.0)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    lo, hi = lo - pad * span, hi + pad * span
    if floor is not None:
        lo = max(lo, floor)
    return lo, hi


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
            with np.errstate(all="ignore"):
                self._norms = {k: np.asarray(v, np.float32)
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
            with np.errstate(all="ignore"):
                lp = log10_forget_product(self.data.trace)
                q = np.nanpercentile(lp, [50, 10, 90], axis=1) if lp.shape[1] else \
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
                found = _padded(v, floor=None)
            else:
                found = _padded(v, floor=0.0)
            self._ranges[key] = found
        return found

    def forget_range(self) -> tuple[float, float]:
        """The y range of log10 prod f (10th to 90th percentile band) over the pass."""
        found = self._ranges.get("forget")
        if found is None:
            _, q10, q90 = self.forget()
            v = np.concatenate([q10, q90, [0.0]])
            found = self._ranges["forget"] = _padded(v[np.isfinite(v)], floor=None)
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


# ---- loss-to-cell matrix ------------------------------------------------------------------

def choose_sources(steps: int, cap: int = MAX_SOURCES) -> np.ndarray:
    """At most ``cap`` loss steps, evenly spaced, always including the last."""
    if steps <= cap:
        return np.arange(steps)
    return np.unique(np.round(np.linspace(0, steps - 1, cap)).astype(int))


def contribution_cost(steps: int, hidden: int, sources: int) -> float:
    """Multiply-adds of ``loss_to_cell_gradients`` (about 4 H^2 T K / 2)."""
    return 2.0 * hidden * hidden * steps * sources


@dataclass(frozen=True)
class ContributionImage:
    sources: np.ndarray               # (K,) loss steps, one per row
    norms: np.ndarray                 # (K, T) ‖∂l(k)/∂s(t)‖, NaN where t > k
    log: np.ndarray                   # (K, T) float32 log10 of norms, finite (0 where none)
    future: np.ndarray                # (K, T) bool: t > k, no contribution possible
    zero: np.ndarray                  # (K, T) bool: exactly zero (no path or no loss)
    levels: tuple[float, float]       # of ``log``
    special: Special                  # NaN/Inf among the entries with t <= k


class Contributions:
    """The loss-to-cell matrix of one trace, computed once when asked for."""

    def __init__(self, data: FrameData, cap: int = MAX_SOURCES):
        self.data = data
        self.sources = choose_sources(data.trace.steps, cap)
        self._image: ContributionImage | None = None

    @property
    def cost(self) -> float:
        tr = self.data.trace
        return contribution_cost(tr.steps, tr.hidden, len(self.sources))

    @property
    def cheap(self) -> bool:
        return self.cost <= AUTO_COMPUTE_MACS

    @property
    def ready(self) -> bool:
        return self._image is not None

    def compute(self) -> ContributionImage:
        if self._image is None:
            with np.errstate(all="ignore"):
                sources, M = loss_to_cell_gradients(self.data.trace, self.sources)
            self._image = self._build(sources, M)
        return self._image

    @staticmethod
    def _build(sources: np.ndarray, M: np.ndarray) -> ContributionImage:
        K, T = M.shape
        future = np.arange(T)[None, :] > sources[:, None]
        past = M[~future]
        special = count_special(past)
        zero = (M == 0) & ~future
        with np.errstate(all="ignore"):
            log = np.log10(M)
        usable = np.isfinite(log) & ~future
        if usable.any():
            hi = float(log[usable].max())
            lo = max(float(log[usable].min()), hi - 12.0)
        else:
            lo, hi = -1.0, 0.0
        if hi <= lo:
            lo = hi - 1.0
        img = np.where(usable, log, lo).astype(np.float32)
        return ContributionImage(sources, M, img, future, zero, (lo, hi), special)

    def table(self) -> tuple[list[str], list[list]]:
        img = self.compute()
        T = img.norms.shape[1]
        header = ["loss_step", *(f"t={t}" for t in range(T))]
        rows = [[int(k), *(None if img.future[n, t] else img.norms[n, t] for t in range(T))]
                for n, k in enumerate(img.sources)]
        return header, rows


# ---- sharing and CSV ----------------------------------------------------------------------

class ViewData:
    """All view caches of one trace (one FrameData); ``ViewData.of(data)`` shares them.
    It lives as long as its FrameData (the session's), which its caller holds."""

    def __init__(self, data: FrameData):
        # A proxy: the FrameData holds its ViewData (``of``), and a strong reference back
        # would make the pair a cycle that only the garbage collector frees, with the
        # whole trace, some time after the session has moved on.
        data = weakref.proxy(data)
        self.data = data
        self._maps: dict[str, TimeMap] = {}
        self.params = ParamGrads(data)
        self.carousel = Carousel(data)
        self.flow = Flow(data)
        self.contributions = Contributions(data)
        self.bars = BarRanges(data)

    @classmethod
    def of(cls, data: FrameData) -> ViewData:
        # Kept on the FrameData, so it goes when the trace goes, by reference counting.
        # (A WeakKeyDictionary from FrameData to ViewData kept every trace alive: the value
        # referred to its key.)
        found = getattr(data, "_view_data", None)
        if found is None:
            found = data._view_data = cls(data)
        return found

    def time_map(self, name: str) -> TimeMap:
        found = self._maps.get(name)
        if found is None:
            found = self._maps[name] = TimeMap(self.data.trace, name)
        return found

    def known(self, name: str, index: int) -> tuple[int, int]:
        return known_steps(self.data, name, self.data.model.frame(index))

    def time_levels(self, name: str, index: int, autoscale: bool) -> tuple[float, float]:
        return self.time_map(name).levels(self.known(name, index), autoscale)


def plotted_vector(data: FrameData, name: str, index: int):
    """``(values, caption)`` of the bar plot under the variables table for ``name`` at frame
    ``index`` (a matrix: its row norms, one per memory cell), or None if not yet computed."""
    v = data.value(name, index)
    if v is None:
        return None
    if v.ndim == 2:
        return np.linalg.norm(v, axis=1), f"‖{name}[j, :]‖ per memory cell j"
    if name == "loss":
        return v, "l(t) per time step t"
    unit = "memory cell" if v.shape[0] == data.trace.hidden else "entry"
    return v, f"{name}[j] per {unit} j"


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
        elif name in BIAS_DIFFS:            # every suffix sum, exactly (no checkpoints)
            with np.errstate(all="ignore"):
                values = [np.cumsum(np.asarray(tr[_input_of(name)])[::-1], axis=0)]
        elif name in ACCUMULATORS:
            live = self.data.live
            starts = np.arange(0, tr.steps, live.stride)
            if len(starts) > self.SAMPLES:
                starts = starts[np.linspace(0, len(starts) - 1, self.SAMPLES).round().astype(int)]
            values = [np.asarray(tr[name])]
            values += [np.asarray(live.accumulated(int(s))[name]) for s in starts]
            if values[0].ndim == 2:
                with np.errstate(all="ignore"):
                    values = [np.linalg.norm(v, axis=1) for v in values]
        else:
            values = [np.asarray(tr.x if name == "x" else tr[name])]
        lo = hi = 0.0
        with np.errstate(all="ignore"):
            for v in values:
                v = v[np.isfinite(v)]
                if v.size:
                    lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
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


def not_computed_mask(data: FrameData, name: str, index: int) -> np.ndarray:
    """(T,) bool: the steps of ``name`` not computed at frame ``index`` (for tests/CSV)."""
    lo, hi = known_steps(data, name, data.model.frame(index))
    mask = np.ones(data.trace.steps, bool)
    mask[lo:hi] = False
    return mask


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    x = float(v)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def csv_text(header: list[str], rows) -> str:
    """Comma-separated, one header line; empty cells for values not computed."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


__all__ = ["TIME_NAMES", "ViewData", "known_steps", "csv_text", "unit_at"]
