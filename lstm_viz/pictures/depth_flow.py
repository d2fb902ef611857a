"""Gradient flow through depth and time: log10‖ds(l, t)‖ for every layer l and step t,
as of a frame. No Qt.

One image, rows = layers (the top layer on top), columns = steps, so "where does the
gradient vanish: over time or between layers?" reads at a glance. ds(l, t) is written by
node (l, t)'s ``ds`` statement; the backward pass visits t = T−1 … 0 and within a step
the layers from the top down, so at a frame of backward step t layer l knows the steps
t+1 … T−1, and step t once its ``ds`` ran (docs/frames.md).

A norm of zero has no logarithm: it is drawn as the lowest level (log10 of the smallest
positive norm of the pass); NaN and ±Inf norms keep their reserved colours.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lstm_engine.model import ModelTrace

from .colors import Special, count_special
from .model_pass import backward_at


@dataclass(frozen=True)
class DepthFlowState:
    known_from: tuple[int, ...]          # per layer: the steps known_from[l] … T−1 are known
    cursor: int | None                   # the focus step (None before the backward pass)
    layer: int | None                    # the layer under way at a backward frame


class DepthFlow:
    """log10‖ds‖ of every layer and step of one pass."""

    def __init__(self, mt: ModelTrace):
        self.layers = mt.num_layers
        self.steps = mt.steps
        with np.errstate(all="ignore"):
            norms = np.stack([_row_norms(np.asarray(tr.ds)) for tr in mt.layers])   # (L, T)
        self.norms = norms
        with np.errstate(all="ignore"):
            positive = norms[np.isfinite(norms) & (norms > 0)]
            self.floor = float(np.log10(positive.min())) if positive.size else 0.0
            top = float(np.log10(positive.max())) if positive.size else 0.0
            logs = np.where(norms > 0, np.log10(np.where(norms > 0, norms, 1.0)), self.floor)
        # NaN stays NaN, +Inf stays +Inf (log10 of Inf); a zero norm sits at the floor
        self.log = np.where(np.isnan(norms), np.nan, logs)
        self.special = count_special(self.log)
        self.levels = (self.floor, top) if top > self.floor else (self.floor - 0.5,
                                                                   self.floor + 0.5)

    def state(self, frame, focus: int) -> DepthFlowState:
        at = backward_at(frame)
        T = self.steps
        if at is None:
            return DepthFlowState(tuple([T] * self.layers), None, None)
        return DepthFlowState(tuple(at.first_step(l, "ds") for l in range(self.layers)),
                              focus, at.layer)

    def pending(self, st: DepthFlowState) -> np.ndarray:
        """(L, T) bool: the (layer, step) cells not computed at the frame (drawn grey)."""
        steps = np.arange(self.steps)
        return steps[None, :] < np.asarray(st.known_from)[:, None]

    def special_known(self, st: DepthFlowState) -> Special:
        total = Special()
        for l, first in enumerate(st.known_from):
            total = total + count_special(self.log[l, first:])
        return total

    def ratio_text(self, st: DepthFlowState) -> str:
        """Where it vanishes, in words: over the steps every layer knows, the median change
        of log10‖ds‖ from the top layer down to layer 0, and over time from the last step
        back to the earliest known one (negative: the gradient shrinks)."""
        first = max(st.known_from) if st.known_from else self.steps
        if first >= self.steps:
            return ""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN columns: no median
            cols = self.log[:, first:]
            depth = np.nanmedian(cols[0] - cols[-1]) if self.layers > 1 else np.nan
            time = np.nanmedian(self.log[:, first] - self.log[:, -1])
        parts = []
        if np.isfinite(depth):
            parts.append(f"layer {self.layers - 1} → 0: {depth:+.2f} decades (median)")
        if np.isfinite(time) and first < self.steps - 1:
            parts.append(f"t={self.steps - 1} → {first}: {time:+.2f} decades")
        return "log10‖ds‖ changes " + " · ".join(parts) if parts else ""

    def table(self, st: DepthFlowState) -> tuple[list[str], list[list]]:
        header = ["layer", "step", "norm_ds", "log10_norm_ds"]
        rows: list[list] = []
        for l in range(self.layers):
            for t in range(self.steps):
                known = t >= st.known_from[l]
                rows.append([l, t, self.norms[l, t] if known else None,
                             self.log[l, t] if known else None])
        return header, rows


def _row_norms(a: np.ndarray) -> np.ndarray:
    """‖a(t)‖ per row in float64, scaled so 1e200 does not overflow when squared."""
    a = np.asarray(a, np.float64)
    if a.shape[1] == 0:
        return np.zeros(a.shape[0])
    top = np.max(np.abs(a), axis=1)
    scale = np.where(np.isfinite(top) & (top > 0), top, 1.0)
    out = scale * np.sqrt(np.sum((a / scale[:, None]) ** 2, axis=1))
    return np.where(np.isfinite(top), out, top)         # NaN/Inf rows: NaN or Inf
