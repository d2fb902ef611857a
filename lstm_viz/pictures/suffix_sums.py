"""Sums over the steps already processed by the backward pass, for any frame. No Qt.

The backward pass runs t = T−1 … 0, so a gradient accumulated "as of" step t is a suffix
sum S(t) = Σ_{t' ≥ t} c(t') of per-step contributions c. Keeping S for every t costs T
arrays; here S is kept at checkpoints every ``stride`` steps (within a memory budget)
and a query adds at most ``stride − 1`` steps to the nearest later checkpoint with one
block sum, as ``lstm_engine/live.py`` does for the cell's weight gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..model.levels import max_abs


class SuffixSums:
    """S(first) = Σ_{first ≤ t < T} c(t), where ``block(lo, hi)`` returns
    Σ_{lo ≤ t < hi} c(t) as a new array of ``shape``."""

    def __init__(self, steps: int, shape: tuple, dtype, block: Callable[[int, int], np.ndarray],
                 budget_bytes: int = 16 * 2**20):
        self.steps = steps
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.block = block
        per = max(1, int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize)
        count = max(1, min(steps, budget_bytes // per))
        self.stride = max(1, -(-steps // count))
        self._checkpoints: np.ndarray | None = None
        self._cache: tuple[int, np.ndarray] | None = None

    def _build(self) -> np.ndarray:
        """``ckpt[c]`` = S(min(c · stride, T)), the last one zero."""
        T, s = self.steps, self.stride
        n = -(-T // s)
        ckpt = np.zeros((n + 1, *self.shape), self.dtype)
        with np.errstate(all="ignore"):          # NaN/Inf in a pass are drawn, not warned
            for c in range(n - 1, -1, -1):
                ckpt[c] = ckpt[c + 1] + self.block(c * s, min((c + 1) * s, T))
        return ckpt

    def max_abs(self) -> float:
        """The largest finite |value| of S over its checkpoints (S(0) among them): a span
        that holds every frame of the backward pass, up to the steps between two
        checkpoints."""
        if self._checkpoints is None:
            self._checkpoints = self._build()
        return max_abs(self._checkpoints)

    def at(self, first: int) -> np.ndarray:
        """S(first): the contributions of the steps first … T−1 (read-only)."""
        T = self.steps
        first = min(max(int(first), 0), T)
        cached = self._cache
        if cached is not None and cached[0] == first:
            return cached[1]
        with np.errstate(all="ignore"):
            if cached is not None and cached[0] == first + 1:     # one step further back
                value = cached[1] + self.block(first, first + 1)
            else:
                if self._checkpoints is None:
                    self._checkpoints = self._build()
                c = -(-first // self.stride)                      # next checkpoint at/after
                above = min(T, c * self.stride)
                value = self._checkpoints[c].copy()
                if above > first:
                    value += self.block(first, above)
        value.flags.writeable = False
        self._cache = (first, value)
        return value
