"""The carousel: the vectors on each edge of the cell diagram at a frame and the edges to
highlight. No Qt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.frame_data import FrameData, summarize
from ..model.frames import Frame
from ..model.levels import max_abs, symmetric_levels
from .colors import Special, count_special

EDGES = ("x", "h_prev", "s_prev", "g", "i", "f", "o", "s", "s_next", "h_branch", "h")

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
    # the variant whose backward ran (the trace's): for the wrong backward the seed's,
    # under a standard cell, so its gradient path has no tanh′ on the way to ds
    backward_variant: str = "seed"

    @property
    def tanh_on_path(self) -> bool:
        """Whether the drawn path through s → h passes a tanh: the forward's cell, or in
        the backward pass the backward that ran."""
        return (self.backward_variant if self.backward else self.variant) != "seed"


def _norm_and_special(values) -> tuple[float, Special]:
    """‖v‖₂ over the finite values and the NaN/±Inf counts. One dot product when every
    value is finite and the norm fits (each strip of every frame); else ``summarize``'s
    scaled norm of the finite values and the counts."""
    v = np.asarray(values).reshape(-1)
    with np.errstate(all="ignore"):
        norm = float(np.sqrt(np.dot(v, v)))
    if np.isfinite(norm):                   # a NaN or ±Inf would have made it NaN or Inf
        return norm, Special()
    return summarize(v).norm, count_special(v)


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
        return EdgeValue(label, values, levels, not gate, *_norm_and_special(values))

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
            highlight: tuple[str, ...]
            feeds: tuple[str, ...]
            if frame.phase == "loss":
                highlight, feeds = ("h",), ()
            else:
                stmt = frame.statement
                assert stmt is not None                 # a forward frame has one
                highlight = _FWD_HIGHLIGHT[stmt]
                feeds = _FEEDS.get(stmt, ("x", "h_prev"))
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
        assert stmt is not None                         # a backward frame has one
        return CarouselState("bwd", t, T, data.forward_variant, edges, _BWD_HIGHLIGHT[stmt],
                             _FEEDS.get(stmt, ()), True, tr.variant)

    def table(self, state: CarouselState) -> tuple[list[str], list[list]]:
        """One row per edge and unit."""
        header = ["edge", "carries", "unit", "value"]
        rows: list[list] = []
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
