"""The embedding's gradient dE as of a frame, one row per token that occurs. No Qt.

x(t) = E[token(t)], so (``lstm_engine/model.py``, ``embedding_grad``)::

    dE[v] = Σ over the steps t with token(t) = v of dx(t),   dx(t) = dxc(layer 0, t)[:X]

Layer 0's ``dx(t)`` is written by its ``dxc`` statement at backward step t (the last node
of that step), so at a frame of backward step t, row v holds the steps t' ≥ t+1 with
token v, and step t too once layer 0's ``dxc`` ran. Rows of tokens that never occur are
zero throughout and are left out of the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstm_engine.model import ModelTrace

from ..model.levels import symmetric_levels
from .colors import Special, count_special
from .model_pass import backward_at
from .suffix_sums import SuffixSums


@dataclass
class EmbeddingGradState:
    computed: bool
    first: int                              # the steps first … T−1 are summed
    rows: np.ndarray | None = None          # (R, X): dE of the tokens that occur
    levels: tuple = (-1.0, 1.0)
    special: Special = field(default_factory=Special)
    caption: str = ""


class EmbeddingGrads:
    """dE of one pass as of any frame (``available`` False: no embedding)."""

    def __init__(self, mt: ModelTrace):
        self.available = mt.tokens is not None and mt.dE is not None
        self.steps = T = mt.steps
        if not self.available:
            return
        assert mt.tokens is not None and mt.dE is not None
        self.final = mt.dE
        tokens = np.asarray(mt.tokens, dtype=np.int64)
        X = mt.inputs
        self.dx = dx = np.asarray(mt.layers[0].dxc)[:, :X]      # (T, X), layer 0's
        self.occurring = np.unique(tokens)                       # the rows shown, sorted
        self.row_of = np.searchsorted(self.occurring, tokens)    # step -> row of the picture
        R = len(self.occurring)
        row_of = self.row_of

        def block(lo: int, hi: int) -> np.ndarray:
            out = np.zeros((R, X), dx.dtype)
            np.add.at(out, row_of[lo:hi], dx[lo:hi])
            return out

        self._sums = SuffixSums(T, (R, X), dx.dtype, block)
        self._levels: tuple | None = None

    def rows_at(self, first: int) -> np.ndarray:
        """dE of the occurring tokens summed over the steps first … T−1."""
        return self._sums.at(first)

    def levels(self) -> tuple[float, float]:
        if self._levels is None:
            self._levels = symmetric_levels(self._sums.max_abs())
        return self._levels

    def state(self, frame) -> EmbeddingGradState:
        at = backward_at(frame)
        T = self.steps
        if at is None:
            return EmbeddingGradState(False, T, caption="not computed yet: dE accumulates "
                                      "as the backward pass reaches layer 0's dxc")
        first = at.first_step(0, "dxc")
        rows = self.rows_at(first)
        if first >= T:
            span = f"nothing yet: layer 0's dxc of step {T - 1} has not run"
        elif first == 0:
            span = f"steps {T - 1} … 0 (the complete gradient)"
        else:
            span = f"steps {T - 1} … {first}"
        return EmbeddingGradState(True, first, rows, self.levels(), count_special(rows),
                                  f"dE[v] = Σ dx(t) over steps with token v: {span}")

    def table(self, st: EmbeddingGradState, tokens=None) -> tuple[list[str], list[list]]:
        header = ["token_id", "token", "column", "value"]
        rows: list[list] = []
        if st.rows is None:
            return header, rows
        for r, v in enumerate(self.occurring):
            text = tokens.text(int(v)) if tokens is not None else ""
            rows.extend([int(v), text, c, st.rows[r, c]] for c in range(st.rows.shape[1]))
        return header, rows
