"""The path decomposition as a picture: the carousel's share and the h-path's of ‖ds(t)‖
over time, as of a frame. No Qt.

ds(t) = carousel(t) + through_h(t) (``lstm_engine.paths``, docs/equations.md §11): what
entered the cell from outside and arrived along the carousel alone, and what came back
through h at least once. Each step's share is ‖part‖ / (‖carousel‖ + ‖through_h‖), so the
two curves sum to 1; the norms themselves are kept for the table and a log-scale plot.
Like ds, a step's parts are known from the frame that computes its ds on. The curves and
their ranges are of the whole pass, so a view sets them once per pass and layer and a
frame only shows the steps known (``PathState.known``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_engine.paths import path_norms

from ..model.frame_data import FrameData
from ..model.levels import padded_range
from .known import known_steps

PATH_CURVES = ("carousel", "through_h")
NORM_CURVES = (*PATH_CURVES, "ds")


@dataclass(frozen=True)
class PathState:
    """As of a frame: ``t`` the steps whose ds is computed, each curve's share there (by
    name in PATH_CURVES) and the norms (``norms``: carousel, through_h, ds), the cursor's
    step and the known range lo … hi-1."""

    t: np.ndarray
    shares: dict
    norms: dict
    cursor: int
    known: tuple[int, int]


class PathShares:
    """The carousel and h-path shares of ‖ds(t)‖ per step, computed once per trace."""

    def __init__(self, data: FrameData, layer: int = 0):
        self.data = data
        self.layer = layer
        self._values: dict | None = None
        self._log_norms: dict | None = None
        self._norm_range: tuple[float, float] | None = None
        self.t = np.arange(data.trace.steps, dtype=np.float32)

    def values(self) -> dict:
        """Shares and norms over the whole pass, float32 (T,) each, by name: the curves
        of PATH_CURVES (shares) and ``norm_carousel``, ``norm_through_h``, ``norm_ds``.
        Only these are kept, not the parts themselves (``path_norms``: two (T, H) arrays
        that nothing draws)."""
        if self._values is None:
            with np.errstate(all="ignore"):          # a diverged pass: NaN, drawn as gaps
                norms = path_norms(self.data.trace, self.layer)
                carousel, through_h = norms.shares()
            values = {"carousel": carousel, "through_h": through_h,
                      "norm_carousel": norms.carousel_norm, "norm_through_h": norms.h_norm,
                      "norm_ds": norms.ds_norm}
            self._values = {k: np.asarray(v, np.float32) for k, v in values.items()}
        return self._values

    def log_norms(self) -> dict:
        """The norms to draw on a log scale, whole pass, by name in NORM_CURVES: zeros as
        NaN (a gap: log 0 is no point), float32 (T,) each."""
        if self._log_norms is None:
            v = self.values()
            self._log_norms = {name: np.where(v[f"norm_{name}"] > 0, v[f"norm_{name}"],
                                              np.nan).astype(np.float32)
                               for name in NORM_CURVES}
        return self._log_norms

    def norm_range(self) -> tuple[float, float]:
        """The y range of the three norm curves over the whole pass, in log10 units (the
        finite positive values, 10% room either side): set once per pass and layer,
        where an autorange over the steps known followed every frame."""
        if self._norm_range is None:
            v = np.concatenate(list(self.log_norms().values()))
            v = v[np.isfinite(v)]
            with np.errstate(all="ignore"):
                self._norm_range = padded_range(np.log10(v), floor=None, pad=0.1)
        return self._norm_range

    def state(self, index: int) -> PathState:
        data = self.data
        frame = data.model.frame(index)
        lo, hi = known_steps(data, "ds", frame)
        v = self.values()
        shares = {name: v[name][lo:hi] for name in PATH_CURVES}
        norms = {name: v[f"norm_{name}"][lo:hi] for name in NORM_CURVES}
        return PathState(self.t[lo:hi], shares, norms, data.focus_step(frame), (lo, hi))

    def table(self, index: int) -> tuple[list[str], list[list]]:
        """One row per step; the steps whose ds is not computed yet have empty cells."""
        frame = self.data.model.frame(index)
        lo, hi = known_steps(self.data, "ds", frame)
        names = ["carousel", "through_h", "norm_carousel", "norm_through_h", "norm_ds"]
        header = ["step", "share_carousel", "share_through_h", *names[2:]]
        v = self.values()
        rows = [[t, *((float(v[n][t]) if lo <= t < hi else None) for n in names)]
                for t in range(self.data.trace.steps)]
        return header, rows
