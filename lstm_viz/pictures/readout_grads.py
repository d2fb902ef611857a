"""The read-out's weight and bias gradients as of a frame. No Qt.

With ``e(t) = dl(t)/dz(t)`` (the read-out's ``dl_dy_hat`` or ``dl_dlogits``, zero at the
steps not scored) and the top layer's ``h(t)`` (``lstm_engine/losses.py``)::

    wy_diff = Σ_t outer(e(t), h_top(t))        by_diff = Σ_t e(t)

Step t's share enters the backward pass with the loss's share of the top layer's
``top_diff_h(t)`` (``Wyᵀ e(t)``), so like ``top_diff_h`` it counts from the first frame
of backward step t: at a frame of backward step t the gradients hold the steps T−1 … t,
and before the backward pass nothing (docs/frames.md, "what is known at a frame").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstm_engine.model import ModelTrace

from ..model.levels import max_abs, symmetric_levels
from .colors import Special, count_special
from .model_pass import backward_at
from .suffix_sums import SuffixSums

ERROR_NAMES = {"mse": "dl_dy_hat", "xent": "dl_dlogits"}


@dataclass
class ReadoutGradState:
    computed: bool                          # False before the backward pass
    first: int                              # the steps first … T−1 are summed (T: none)
    wy: np.ndarray | None = None            # (K, H)
    by: np.ndarray | None = None            # (K,)
    levels: tuple = (-1.0, 1.0)             # wy_diff's, fixed over the pass
    by_levels: tuple = (-1.0, 1.0)          # by_diff's (Σ e is not on wy's scale: h is)
    special: Special = field(default_factory=Special)
    caption: str = ""


class ReadoutGrads:
    """wy_diff and by_diff of one pass as of any frame."""

    def __init__(self, mt: ModelTrace):
        name = ERROR_NAMES.get(mt.loss_name)
        self.available = name is not None and name in mt.outputs and mt.wy_diff is not None
        self.steps = T = mt.steps
        if not self.available:
            return
        assert name is not None
        self.e = np.asarray(mt.outputs[name])               # (T, K)
        self.h = np.asarray(mt.top.h)                       # (T, H)
        self.final_wy = mt.wy_diff
        self.final_by = mt.by_diff
        K, H = self.e.shape[1], self.h.shape[1]
        self.shape = (K, H)
        e, h = self.e, self.h
        self._wy = SuffixSums(T, (K, H), np.result_type(e, h),
                              lambda lo, hi: e[lo:hi].T @ h[lo:hi])
        by = np.zeros((T + 1, K), e.dtype)
        with np.errstate(all="ignore"):
            np.cumsum(e[::-1], axis=0, out=by[T - 1::-1])
        self._by = by                                       # by[k] = Σ_{t ≥ k} e(t)
        self._levels: tuple | None = None

    def wy_at(self, first: int) -> np.ndarray:
        return self._wy.at(first)

    def by_at(self, first: int) -> np.ndarray:
        return self._by[min(max(first, 0), self.steps)]

    def levels(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Symmetric spans for the whole backward pass, wy_diff's and by_diff's: the
        largest |value| at any checkpoint (wy) or step (by), so a frame never rescales."""
        if self._levels is None:
            self._levels = (symmetric_levels(self._wy.max_abs()),
                            symmetric_levels(max_abs(self._by)))
        return self._levels

    def state(self, frame) -> ReadoutGradState:
        at = backward_at(frame)
        T = self.steps
        if at is None:
            return ReadoutGradState(False, T, caption="not computed yet: the read-out's "
                                    "gradients accumulate in the backward pass")
        first = at.t
        wy, by = self.wy_at(first), self.by_at(first)
        special = count_special(wy) + count_special(by)
        span = f"step {T - 1}" if first == T - 1 else f"Σ over steps {T - 1} … {first}"
        whole = " (the complete gradient)" if first == 0 else ""
        caption = f"wy_diff = Σ outer(dl/dŷ(t), h_top(t)): {span}{whole}"
        wy_levels, by_levels = self.levels()
        return ReadoutGradState(True, first, wy, by, wy_levels, by_levels, special, caption)

    def table(self, st: ReadoutGradState) -> tuple[list[str], list[list]]:
        header = ["parameter", "output", "unit", "value"]
        rows: list[list] = []
        if st.wy is None or st.by is None:
            return header, rows
        for k in range(st.wy.shape[0]):
            rows.extend(["wy_diff", k, j, st.wy[k, j]] for j in range(st.wy.shape[1]))
        rows.extend(["by_diff", k, None, st.by[k]] for k in range(st.by.shape[0]))
        return header, rows
