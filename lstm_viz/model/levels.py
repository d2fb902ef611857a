"""The colour levels of signed arrays: a span symmetric about zero over the largest finite
|value|; and what every picture draws: values, ranges and levels a plot can draw. No Qt.

In the model, not with the colour maps in ``pictures``, because the model's own results
carry them: a comparison's images and the training dock's gradient image.

Every finite value must be drawable. A plot library computes with the values it is given
(spans, paddings, ticks, float32 images): ±1e308 overflows those sums to infinity and a
span of 5e-324 underflows them to zero, so what is drawn saturates: values beyond
±DRAW_MAX are drawn at ±DRAW_MAX, and no range or level span is narrower than MIN_SCALE
(above float32's smallest normal number). The numbers shown as text and exported are the
values themselves.
"""

from __future__ import annotations

import numpy as np


def max_abs(a: np.ndarray) -> float:
    """The largest finite |value| (0 if there is none)."""
    a = np.asarray(a)
    if a.size == 0:
        return 0.0
    with np.errstate(all="ignore"):
        m = float(np.max(np.abs(a)))
    if np.isfinite(m):
        return m
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


DEFAULT_SCALE = 1.0               # the half-width of the levels of an all-zero array
DRAW_MAX = 1e30                   # the largest |value| drawn as itself (beyond: saturated)
MIN_SCALE = 1e-36                 # the narrowest half-span of levels or a range


def symmetric_levels(m: float) -> tuple[float, float]:
    """(-m, m), m held between MIN_SCALE and DRAW_MAX; (-1, 1) when m is 0 or not finite
    (an all-zero array: a ±1e-12 scale would only magnify rounding noise, and a colour
    bar still needs a span)."""
    m = float(m) if np.isfinite(m) and m > 0 else DEFAULT_SCALE
    m = min(max(m, MIN_SCALE), DRAW_MAX)
    return -m, m


def saturate(a, dtype=np.float32) -> np.ndarray:
    """``a`` as ``dtype`` with every finite value held within ±DRAW_MAX (NaN and ±Inf stay
    what they are: the pictures draw them in reserved colours or as gaps)."""
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        out = a.astype(dtype, copy=False)
        if out.size == 0 or out.dtype.kind != "f":
            return out
        top = float(np.max(np.abs(out)))
        if top <= DRAW_MAX:                                 # (False for NaN and Inf too)
            return out
        src = a.astype(np.float64, copy=False)
        held = np.where(np.isfinite(src), np.clip(src, -DRAW_MAX, DRAW_MAX), src)
        return held.astype(dtype)


def drawable_range(lo: float, hi: float, pad: float = 0.0,
                   fallback: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
    """(lo, hi) a plot can show: within ±DRAW_MAX, at least MIN_SCALE wide (and a
    millionth of its magnitude, so that its tick labels differ), then ``pad`` times the
    span added on either side; ``fallback`` when either end is not a number."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        if np.isnan(lo) or np.isnan(hi):
            lo, hi = fallback
    lo = min(max(lo, -DRAW_MAX), DRAW_MAX)
    hi = min(max(hi, -DRAW_MAX), DRAW_MAX)
    if hi < lo:
        lo, hi = hi, lo
    least = max(2 * MIN_SCALE, 1e-6 * max(abs(lo), abs(hi)))
    if hi - lo < least:
        mid = lo / 2 + hi / 2
        lo, hi = mid - least / 2, mid + least / 2
    span = hi - lo
    return lo - pad * span, hi + pad * span


def padded_range(v: np.ndarray, floor: float | None, pad: float = 0.05) -> tuple[float, float]:
    """(lo, hi) around the values with a little room (``floor``: lo never below it);
    a unit span when there is nothing or a single value; drawable (``drawable_range``)."""
    if v.size == 0:
        return (0.0, 1.0) if floor is not None else (-1.0, 0.0)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    lo, hi = drawable_range(lo, hi, pad)
    if floor is not None:
        lo = max(lo, floor)
    return lo, hi


def signed_levels(*arrays) -> tuple[float, float]:
    """Levels symmetric about zero covering every finite value of the arrays."""
    return symmetric_levels(max((max_abs(a) for a in arrays), default=0.0))
