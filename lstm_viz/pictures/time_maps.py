"""The time x unit heatmaps: one image per quantity, built once per trace, with its fixed
colour levels, per-frame autoscale levels and NaN/Inf counts as of any frame (prefix and
suffix sums, so a frame costs O(1)). No Qt."""

from __future__ import annotations

import numpy as np

from ..model.levels import max_abs, symmetric_levels
from .colors import Special, finite_or_zero, is_signed, special_rgba

TIME_FORWARD = ("g", "i", "f", "o", "s", "h")
TIME_BACKWARD = ("top_diff_h", "top_diff_s", "ds", "bottom_diff_h", "dxc")
TIME_NAMES = TIME_FORWARD + TIME_BACKWARD


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
