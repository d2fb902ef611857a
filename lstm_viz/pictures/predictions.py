"""Predictions against targets over time: what the read-out made of each step. No Qt.

The read-out (``lstm_engine/losses.py``) computes ``z(t) = Wy h_top(t) + by`` for every
step, after the forward pass: the values are known from the loss frame on
(docs/frames.md), the targets always (they are data). Scored are all steps (``at`` =
every) or the last one only (``at`` = last).

* mse: ŷ(t) = z(t), one curve per output k beside its target y_k(t);
  l(t) = (1/K) Σ_k (ŷ_k(t) − y_k(t))².
* xent: p(t) = softmax(z(t)); the target's probability p_y(t), the predicted class
  argmax_k p_k(t) beside the target class, and l(t) = −log p_y(t).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_engine.model import ModelTrace

READOUT_LOSSES = ("mse", "xent")


@dataclass(frozen=True)
class PredictionState:
    known: bool                 # the read-out has run (loss frame and after)
    cursor: int                 # the focus step (the last step at the loss frame)


class Predictions:
    """The read-out's per-step numbers of one pass (``available`` False: no read-out)."""

    def __init__(self, mt: ModelTrace):
        self.kind = mt.loss_name
        self.available = self.kind in READOUT_LOSSES and bool(mt.outputs)
        T = mt.steps
        self.steps = T
        self.t = np.arange(T, dtype=np.float64)
        self.loss = np.asarray(mt.loss)
        self.at = getattr(mt.loss_fn, "at", "every")
        self.scored = np.ones(T, bool)
        if self.at == "last":
            self.scored[:-1] = False
        if not self.available:
            return
        if self.kind == "mse":
            self.y_hat = np.asarray(mt.outputs["y_hat"])                  # (T, K)
            self.outputs = self.y_hat.shape[1]
            self.target = self._step_values(np.asarray(mt.y, np.float64), (self.outputs,),
                                            np.nan)
        else:
            self.probs = np.asarray(mt.outputs["probs"])                  # (T, K)
            self.outputs = self.probs.shape[1]
            target = self._step_values(np.asarray(mt.y), (), -1).astype(np.int64)
            self.target = target                                          # −1: not scored
            rows = np.arange(T)
            with np.errstate(all="ignore"):
                self.predicted = np.where(np.isnan(self.probs).all(axis=1), -1,
                                          np.argmax(np.nan_to_num(self.probs, nan=-1.0),
                                                    axis=1))
            self.p_target = np.where(target >= 0,
                                     self.probs[rows, np.clip(target, 0, None)], np.nan)

    def _step_values(self, y: np.ndarray, per_step: tuple, missing) -> np.ndarray:
        """The target of every step, ``missing`` at the steps not scored: y holds one
        target per step, or (a last-step loss) one target alone."""
        T = self.steps
        out = np.full((T, *per_step), missing, dtype=y.dtype if missing == -1 else np.float64)
        if y.shape == (T, *per_step):
            out[self.scored] = y[self.scored]
        elif y.shape == per_step:
            out[T - 1] = y
        return out

    def state(self, frame, focus: int) -> PredictionState:
        return PredictionState(frame.phase != "fwd", focus)

    def describe(self, t: int, tokens=None) -> str:
        """Step t in words, for the hover text and the caption."""
        name = (lambda k: f"{k} '{tokens.text(k)}'") if tokens is not None and \
            self.kind == "xent" else str
        scored = "" if self.scored[t] else " (not scored)"
        if self.kind == "mse":
            yh = ", ".join(f"{v:.4g}" for v in self.y_hat[t][:4])
            yt = ", ".join(f"{v:.4g}" for v in self.target[t][:4]) if self.scored[t] else "—"
            more = " …" if self.outputs > 4 else ""
            return f"t={t}: ŷ = [{yh}{more}]  y = [{yt}{more}]  l = {self.loss[t]:.4g}{scored}"
        pred = int(self.predicted[t])
        if self.target[t] < 0:
            return f"t={t}: predicted {name(pred)}{scored}"
        tgt = int(self.target[t])
        return (f"t={t}: target {name(tgt)} p = {self.p_target[t]:.4g} · predicted "
                f"{name(pred)} · l = {self.loss[t]:.4g}")

    def table(self, known: bool) -> tuple[list[str], list[list]]:
        """One row per step; the read-out's numbers empty before the loss frame."""
        rows: list[list] = []
        if self.kind == "mse":
            K = self.outputs
            header = ["step", *(f"y_hat_{k}" for k in range(K)), *(f"y_{k}" for k in range(K)),
                      "loss"]
            for t in range(self.steps):
                tgt = list(self.target[t]) if self.scored[t] else [None] * K
                rows.append([t, *(self.y_hat[t] if known else [None] * K), *tgt,
                             self.loss[t] if known else None])
            return header, rows
        header = ["step", "target", "p_target", "predicted", "loss"]
        for t in range(self.steps):
            cls = int(self.target[t]) if self.target[t] >= 0 else None
            rows.append([t, cls, self.p_target[t] if known and cls is not None else None,
                         int(self.predicted[t]) if known else None,
                         self.loss[t] if known else None])
        return header, rows
