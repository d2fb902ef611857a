"""Colour maps and the reserved colours of NaN, +Inf, -Inf. No Qt.

Signed quantities (gradients, s, h, g, x) use a diverging blue-white-red map with levels
symmetric about zero; gate activations (i, f, o) use a sequential map on [0, 1].
NaN, +Inf and -Inf are never mapped through a colour map: they get reserved colours that
no map contains, and are counted. Steps that are not computed yet at a frame are drawn in
a neutral grey that no map contains either. The levels (the span a map covers) are
``model/levels.py``'s.

The maps are anchor lists (position in [0, 1], RGB); the Qt views build their
``pg.ColorMap`` from the same anchors, so the heatmaps and the carousel strips agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.levels import DRAW_MAX

DIVERGING = ((0.0, (33, 72, 160)), (0.25, (110, 160, 215)), (0.5, (250, 250, 250)),
             (0.75, (235, 140, 105)), (1.0, (165, 20, 35)))
SEQUENTIAL = ((0.0, (35, 20, 75)), (0.25, (60, 80, 150)), (0.5, (40, 145, 140)),
              (0.75, (120, 200, 90)), (1.0, (250, 230, 60)))
NAN_RGB = (255, 0, 255)          # magenta
POSINF_RGB = (255, 150, 0)       # orange
NEGINF_RGB = (0, 205, 205)       # cyan
NOT_COMPUTED_RGB = (196, 196, 196)
GATES = ("i", "f", "o")          # sigmoid outputs: sequential map on [0, 1]


def lut(anchors, n: int = 256) -> np.ndarray:
    """An (n, 4) uint8 RGBA lookup table interpolated between the anchors."""
    pos = np.array([a[0] for a in anchors])
    rgb = np.array([a[1] for a in anchors], dtype=float)
    u = np.linspace(0.0, 1.0, n)
    out = np.empty((n, 4), np.uint8)
    for c in range(3):
        out[:, c] = np.round(np.interp(u, pos, rgb[:, c]))
    out[:, 3] = 255
    return out


DIVERGING_LUT = lut(DIVERGING)
SEQUENTIAL_LUT = lut(SEQUENTIAL)


def is_signed(name: str) -> bool:
    """Everything but the gate activations is drawn with the diverging map."""
    return name not in GATES


def anchors_for(name: str):
    return DIVERGING if is_signed(name) else SEQUENTIAL


# ---- NaN and Inf --------------------------------------------------------------------------

@dataclass(frozen=True)
class Special:
    """How many NaN, +Inf and -Inf values something holds."""

    nan: int = 0
    posinf: int = 0
    neginf: int = 0

    @property
    def total(self) -> int:
        return self.nan + self.posinf + self.neginf

    def text(self) -> str:
        """'' when there are none, else e.g. 'NaN 3 · +Inf 1' (for titles and bars)."""
        parts = [f"{k} {v}" for k, v in (("NaN", self.nan), ("+Inf", self.posinf),
                                          ("−Inf", self.neginf)) if v]
        return " · ".join(parts)

    def __add__(self, other: Special) -> Special:
        return Special(self.nan + other.nan, self.posinf + other.posinf,
                       self.neginf + other.neginf)


def count_special(a: np.ndarray) -> Special:
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        if a.size == 0 or np.isfinite(a.sum()):
            return Special()
    return Special(int(np.count_nonzero(np.isnan(a))), int(np.count_nonzero(a == np.inf)),
                   int(np.count_nonzero(a == -np.inf)))


def finite_or_zero(a: np.ndarray, dtype=np.float32) -> np.ndarray:
    """A float32 copy with NaN and ±Inf replaced by 0 (they are drawn by an overlay); a
    finite value beyond ±DRAW_MAX (``model/levels.py``) is held there (the map's end
    colour), not turned into an Inf that would then vanish as 0."""
    with np.errstate(all="ignore"):
        out = np.asarray(a, dtype=dtype)
        if out.size == 0 or float(np.max(np.abs(out))) <= DRAW_MAX:  # False for NaN, Inf
            return out if out is not a else out.copy()
        src = np.asarray(a, dtype=np.float64)
        return np.where(np.isfinite(src), np.clip(src, -DRAW_MAX, DRAW_MAX), 0.0).astype(dtype)


def special_rgba(a: np.ndarray) -> np.ndarray | None:
    """An RGBA image of ``a``'s shape: the reserved colour where a value is NaN/±Inf,
    transparent elsewhere; None when every value is finite."""
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        if np.isfinite(a.sum()):
            return None
    out = np.zeros((*a.shape, 4), np.uint8)
    for mask, rgb in ((np.isnan(a), NAN_RGB), (a == np.inf, POSINF_RGB),
                      (a == -np.inf, NEGINF_RGB)):
        out[mask, :3] = rgb
        out[mask, 3] = 255
    return out


def to_rgba(values: np.ndarray, levels: tuple[float, float], table: np.ndarray) -> np.ndarray:
    """Map values through a lookup table between ``levels``; NaN/±Inf get their reserved
    colours. Returns uint8 RGBA of shape ``values.shape + (4,)``.

    Entry k of an n-entry table covers ((k - 0.5)/(n - 1), (k + 0.5)/(n - 1)] of the span.
    Called for every strip of every frame, so it is a handful of ufuncs and no nan_to_num:
    fmax/fmin send NaN to entry 0 (then overwritten by its reserved colour)."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = levels
    n = table.shape[0]
    scale = (n - 1) / (hi - lo if hi > lo else 1.0)
    with np.errstate(all="ignore"):
        idx = v * scale
        idx += 0.5 - lo * scale
        np.fmax(idx, 0, out=idx)                  # fmax/fmin return the number, not NaN
        np.fmin(idx, n - 1, out=idx)
    out = table[idx.astype(np.intp)]
    special = special_rgba(v)
    if special is not None:
        mask = special[..., 3] > 0
        out[mask] = special[mask]
    return out
