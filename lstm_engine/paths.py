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
class PathNorms:
    """The norms over units of one layer's ds parts per step (T,): ``carousel_norm``,
    ``h_norm`` and ``ds_norm``."""

    carousel_norm: np.ndarray
    h_norm: np.ndarray
    ds_norm: np.ndarray

    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """(carousel share, h-path share) per step, ‖part‖ / (‖carousel‖ + ‖through_h‖):
        each in [0, 1], summing to 1 (both 0 where ds has no part at all)."""
        c, h = self.carousel_norm, self.h_norm
        total = c + h
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.where(total > 0, c / total, 0.0), np.where(total > 0, h / total, 0.0))


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
        """``PathNorms.shares`` of these parts."""
        return PathNorms(self.carousel_norm, self.h_norm, self.ds_norm).shares()


def _split_rows(trace: Trace, layer: int = 0):
    """The recursions above, a step at a time from t = T-1 down to 0: yields (t,
    carousel(t), through_h(t)), float64 rows of H (valid until the next one). Reads the
    trace a row at a time, so it holds O(H) beside it, whatever T is (a whole-pass
    float64 copy of o, s, f and the sources was 8 arrays of (T, H): 156 MiB at T=10,000,
    H=256)."""
    T, H, X = trace.steps, trace.hidden, trace.inputs
    o, s, f = trace["o"], trace["s"], trace["f"]
    dl_dh, bottom_diff_h = trace.dl_dh, trace.bottom_diff_h
    seed = trace.variant == "seed"
    iv = trace.interventions
    plan = iv.layer_plan(layer, T, X, H, np.float64) if iv else None
    knocked = None if plan is None else plan.knocked
    cut_s = None if plan is None else plan.cut_s
    c_next = np.zeros(H)                                     # f(t+1)*carousel(t+1), cut or not
    r_next = np.zeros(H)
    for t in range(T - 1, -1, -1):
        A = np.asarray(o[t], np.float64)
        if not seed:
            A = A * (1.0 - np.tanh(np.asarray(s[t], np.float64)) ** 2)
        c = A * dl_dh[t] + c_next                            # A(t) * dl_dh(t) + ...
        r = (A * bottom_diff_h[t + 1] if t < T - 1 else np.zeros(H)) + r_next
        if knocked is not None:                              # s_j(t) := 0 passes nothing
            c[knocked[t]] = 0.0
            r[knocked[t]] = 0.0
        yield t, c, r
        c_next, r_next = c * f[t], r * f[t]                  # bottom_diff_s, split
        if cut_s is not None:
            c_next[cut_s[t]] = 0.0
            r_next[cut_s[t]] = 0.0


def path_split(trace: Trace, layer: int = 0) -> PathSplit:
    """ds of ``trace`` (layer ``layer`` of its model, for the interventions that name a
    layer) split into its carousel and h-path parts, by the two recursions above."""
    T, H = trace.steps, trace.hidden
    carousel = np.empty((T, H))
    through_h = np.empty((T, H))
    for t, c, r in _split_rows(trace, layer):
        carousel[t], through_h[t] = c, r
    return PathSplit(carousel, through_h, np.asarray(trace.ds, np.float64))


def path_norms(trace: Trace, layer: int = 0) -> PathNorms:
    """The norms of ``path_split``'s parts per step, without its (T, H) arrays: what the
    path picture draws (``lstm_viz/pictures/paths.py``)."""
    T = trace.steps
    c_norm, h_norm, ds_norm = np.empty(T), np.empty(T), np.empty(T)
    ds = trace.ds
    for t, c, r in _split_rows(trace, layer):
        c_norm[t] = np.sqrt(c @ c)
        h_norm[t] = np.sqrt(r @ r)
        d = np.asarray(ds[t], np.float64)
        ds_norm[t] = np.sqrt(d @ d)
    return PathNorms(c_norm, h_norm, ds_norm)


def model_path_split(trace) -> tuple[PathSplit, ...]:
    """``path_split`` of every layer of a ModelTrace, bottom layer first."""
    return tuple(path_split(tr, n) for n, tr in enumerate(trace.layers))
