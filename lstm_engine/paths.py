"""Path decomposition: how much of ds(t) arrived along the carousel, how much through h.

The backward recursion of one layer's cell state (docs/equations.md §2, §11) is, per unit,

    ds(t) = A(t)*top_diff_h(t) + top_diff_s(t)
          = A(t)*dl_dh(t) + A(t)*bottom_diff_h(t+1) + f(t+1)*ds(t+1)

with A = o (seed) or o*(1 − tanh²(s)) (standard). It is linear in its two sources, so ds
splits exactly into the parts each source drives along the carousel:

    carousel(t)  = A(t)*dl_dh(t)            + f(t+1)*carousel(t+1)     entered from outside
    through_h(t) = A(t)*bottom_diff_h(t+1)  + f(t+1)*through_h(t+1)    came back through h
    ds(t)        = carousel(t) + through_h(t)

``carousel`` is the error that entered the cell at some step k ≥ t from outside the layer
(the loss, or the layer above) and reached s(t) along the carousel alone:
Σ_{k≥t} (Π_{j=t+1..k} f(j)) A(k) dl_dh(k). ``through_h`` is everything that passed
through the recurrent h-path (W_h) at least once. An intervened pass splits the same way
with its own recursion: a knocked-out unit's ds is 0 and a cut carousel carries nothing
(its cut h-path already has bottom_diff_h = 0 in the trace).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trace import Trace


@dataclass(frozen=True)
class PathSplit:
    """One layer's ds split by path: ``carousel`` and ``through_h`` (T, H), summing to
    ``ds``; the norms over units per step (T,): ``carousel_norm``, ``h_norm``,
    ``ds_norm``."""

    carousel: np.ndarray
    through_h: np.ndarray
    ds: np.ndarray

    @property
    def carousel_norm(self) -> np.ndarray:
        return np.linalg.norm(self.carousel, axis=1)

    @property
    def h_norm(self) -> np.ndarray:
        return np.linalg.norm(self.through_h, axis=1)

    @property
    def ds_norm(self) -> np.ndarray:
        return np.linalg.norm(self.ds, axis=1)

    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """(carousel share, h-path share) per step, ‖part‖ / (‖carousel‖ + ‖through_h‖):
        each in [0, 1], summing to 1 (both 0 where ds has no part at all)."""
        c, h = self.carousel_norm, self.h_norm
        total = c + h
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.where(total > 0, c / total, 0.0), np.where(total > 0, h / total, 0.0))


def path_split(trace: Trace, layer: int = 0) -> PathSplit:
    """ds of ``trace`` (layer ``layer`` of its model, for the interventions that name a
    layer) split into its carousel and h-path parts, by the two recursions above."""
    T, H, X = trace.steps, trace.hidden, trace.inputs
    o, s, f = (np.asarray(trace[n], np.float64) for n in ("o", "s", "f"))
    A = o if trace.variant == "seed" else o * (1.0 - np.tanh(s) ** 2)
    outside = A * trace.dl_dh                                # A(t) * dl_dh(t)
    back = np.zeros((T, H))
    back[:-1] = A[:-1] * trace.bottom_diff_h[1:]             # A(t) * bottom_diff_h(t+1)
    iv = trace.interventions
    plan = iv.layer_plan(layer, T, X, H, np.float64) if iv else None
    knocked = None if plan is None else plan.knocked
    cut_s = None if plan is None else plan.cut_s
    carousel = np.empty((T, H))
    through_h = np.empty((T, H))
    c_next = np.zeros(H)                                     # f(t+1)*carousel(t+1), cut or not
    r_next = np.zeros(H)
    for t in range(T - 1, -1, -1):
        c, r = outside[t] + c_next, back[t] + r_next
        if knocked is not None:                              # s_j(t) := 0 passes nothing
            c[knocked[t]] = 0.0
            r[knocked[t]] = 0.0
        carousel[t], through_h[t] = c, r
        c_next, r_next = c * f[t], r * f[t]                  # bottom_diff_s, split
        if cut_s is not None:
            c_next[cut_s[t]] = 0.0
            r_next[cut_s[t]] = 0.0
    return PathSplit(carousel, through_h, np.asarray(trace.ds, np.float64))


def model_path_split(trace) -> tuple[PathSplit, ...]:
    """``path_split`` of every layer of a ModelTrace, bottom layer first."""
    return tuple(path_split(tr, n) for n, tr in enumerate(trace.layers))
