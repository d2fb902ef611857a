"""The colour levels of signed arrays: a span symmetric about zero over the largest finite
|value|. No Qt.

In the model, not with the colour maps in ``pictures``, because the model's own results
carry them: a comparison's images and the training dock's gradient image.
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


def symmetric_levels(m: float) -> tuple[float, float]:
    """(-m, m); (-1, 1) when m is 0 or not finite (an all-zero array: a ±1e-12 scale would
    only magnify rounding noise, and a colour bar still needs a span)."""
    m = float(m) if np.isfinite(m) and m > 0 else DEFAULT_SCALE
    return -m, m


def signed_levels(*arrays) -> tuple[float, float]:
    """Levels symmetric about zero covering every finite value of the arrays."""
    return symmetric_levels(max((max_abs(a) for a in arrays), default=0.0))
