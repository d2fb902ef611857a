"""Losses: each maps the hidden states h (T, H) and the targets to per-step values
l(t) and their gradients dl(t)/dh(t); the recorder adds the carried dL(t+1)/dh(t).

A loss is any object with a ``name``, ``check_targets(y, T)``, ``evaluate(h, y) ->
LossOutput``, ``config() -> dict`` (JSON-able, enough for ``make_loss`` to rebuild it) and
``params() -> dict[str, ndarray]`` (its own parameters; empty for the toy loss). Losses
with parameters (a read-out) also return those parameters' summed gradients.

The read-out losses put a linear layer on top of the cell, ``y_hat(t) = Wy h(t) + by``
with ``wy`` (K, H) and ``by`` (K,), and score it either at every step or at the last
step only (``at="every"`` / ``at="last"``; long-range tasks like the adding problem need
the latter). Their gradients are returned under the keys ``wy_diff`` and ``by_diff``,
after the seed's ``*_diff`` names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class LossOutput:
    loss: np.ndarray          # (T,) l(t)
    dl_dh: np.ndarray         # (T, H) dl(t)/dh(t), the loss's own share of top_diff_h
    param_grads: dict[str, np.ndarray] = field(default_factory=dict)
    # What a read-out computed, per step (T, K), by name: the MSE read-out's ``y_hat`` and
    # ``dl_dy_hat``; cross-entropy's ``logits``, ``probs`` and ``dl_dlogits``. Every step
    # has its output; the gradient rows of the steps not scored are zero. Empty for toy.
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


class Loss(Protocol):
    """What a model needs of its loss (Model checks the methods are there); the read-out
    read-out losses also have ``wy`` and ``by``."""

    name: str
    at: str                      # the steps scored: "every" or "last"

    def check_targets(self, y: np.ndarray, steps: int) -> None: ...
    def config(self) -> dict: ...
    def params(self) -> dict[str, np.ndarray]: ...
    def evaluate(self, h: np.ndarray, y: np.ndarray) -> LossOutput: ...


class ToyLoss:
    """The seed's toy loss ``l(t) = (h(t)[0] - y(t))^2``, so ``dl/dh = [2(h[0]-y), 0, …]``."""

    name = "toy"
    at = "every"                 # it scores every step

    def check_targets(self, y: np.ndarray, steps: int) -> None:
        if y.shape != (steps,):
            raise ValueError(f"the toy loss needs one target per step, shape ({steps},), "
                             f"got {y.shape}")
        if y.dtype.kind not in "fiu":
            raise ValueError(f"the toy loss needs real targets, got dtype {y.dtype}")
        if not np.all(np.isfinite(y)):
            raise ValueError("the targets contain NaN or Inf")

    def config(self) -> dict:
        return {"name": self.name}

    def params(self) -> dict[str, np.ndarray]:
        return {}

    def evaluate(self, h: np.ndarray, y: np.ndarray) -> LossOutput:
        err = h[:, 0] - y.astype(h.dtype, copy=False)
        dl_dh = np.zeros_like(h)
        dl_dh[:, 0] = 2.0 * err
        return LossOutput(loss=err * err, dl_dh=dl_dh)


READOUT_AT = ("every", "last")


class _Readout:
    """The linear read-out ``y_hat(t) = Wy h(t) + by`` shared by the read-out losses.

    With ``z = Wy h + by`` at every step and ``e = dl/dz`` at the scored steps (zero at the
    others)::

        dl/dh = Wy^T e        wy_diff = sum_t outer(e(t), h(t))        by_diff = sum_t e(t)

    Subclasses define ``name``, ``OUTPUT_NAMES`` (z's name, [its softmax,] e's name),
    ``_target_shape``, ``_check_values`` and ``_score(z, y) -> (l, e)``.
    """

    name = "readout"

    def _target_shape(self) -> tuple:
        """The shape of one step's target."""
        raise NotImplementedError

    def _check_values(self, y: np.ndarray) -> None:
        """Raises ValueError when the scored targets' values do not suit the loss."""
        raise NotImplementedError

    def _score(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(l per scored step, e = dl/dz)."""
        raise NotImplementedError

    def __init__(self, wy, by, at: str = "every"):
        wy, by = np.asarray(wy), np.asarray(by)
        if wy.ndim != 2 or min(wy.shape) < 1:
            raise ValueError(f"wy must have shape (K, H), got {wy.shape}")
        if by.shape != (wy.shape[0],):
            raise ValueError(f"by must have shape ({wy.shape[0]},), got {by.shape}")
        for key, a in (("wy", wy), ("by", by)):
            if a.dtype.name not in ("float64", "float32"):
                raise ValueError(f"{key} must be float64 or float32, got {a.dtype}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{key} contains NaN or Inf")
        if at not in READOUT_AT:
            raise ValueError(f"unknown loss position {at!r}; choose one of {', '.join(READOUT_AT)}")
        self.wy, self.by, self.at = wy, by.astype(wy.dtype, copy=False), at

    @classmethod
    def create(cls, hidden: int, outputs: int, rng: np.random.Generator, at: str = "every",
               dtype="float64"):
        """A fresh read-out: Glorot-uniform ``wy``, zero ``by``."""
        limit = np.sqrt(6.0 / (hidden + outputs))
        wy = rng.uniform(-limit, limit, size=(outputs, hidden)).astype(dtype, copy=False)
        return cls(wy, np.zeros(outputs, dtype), at)

    @property
    def outputs(self) -> int:
        return self.wy.shape[0]

    @property
    def hidden(self) -> int:
        return self.wy.shape[1]

    def config(self) -> dict:
        return {"name": self.name, "at": self.at}

    def params(self) -> dict[str, np.ndarray]:
        return {"wy": self.wy, "by": self.by}

    def check_targets(self, y: np.ndarray, steps: int) -> None:
        self._step_targets(np.asarray(y), steps)

    def _step_targets(self, y: np.ndarray, steps: int) -> np.ndarray:
        """The targets of the scored steps, (S, …): all T steps, or the last one only.

        "every" wants one target per step; "last" takes one target, or one per step of
        which only the last is used (so a task's full target sequence also works).
        """
        per_step = self._target_shape()
        if self.at == "every":
            if y.shape != (steps, *per_step):
                raise ValueError(f"the {self.name} loss at every step needs targets of shape "
                                 f"{(steps, *per_step)}, got {y.shape}")
            scored = y
        elif y.shape == per_step:
            scored = y[None]
        elif y.shape == (steps, *per_step):
            scored = y[-1:]
        else:
            raise ValueError(f"the {self.name} loss at the last step needs targets of shape "
                             f"{per_step} or {(steps, *per_step)}, got {y.shape}")
        self._check_values(scored)
        return scored

    def predict(self, h: np.ndarray) -> np.ndarray:
        """The read-out's output ``Wy h + by`` for every step, (T, K)."""
        return h @ self.wy.T.astype(h.dtype, copy=False) + self.by.astype(h.dtype, copy=False)

    def evaluate(self, h: np.ndarray, y: np.ndarray) -> LossOutput:
        T = h.shape[0]
        yk = self._step_targets(np.asarray(y), T)
        wy = self.wy.astype(h.dtype, copy=False)
        scored = slice(None) if self.at == "every" else slice(T - 1, T)
        hs = h[scored]                                      # (S, H) the scored steps
        by = self.by.astype(h.dtype, copy=False)
        zs = hs @ wy.T + by                                 # (S, K) the scored outputs
        l_s, e = self._score(zs, yk)
        if self.at == "every":
            z = zs
        else:                                               # the other steps' outputs too
            z = h @ wy.T + by
            z[scored] = zs                                  # the scored row as scored
        loss = np.zeros(T, h.dtype)
        loss[scored] = l_s
        dl_dz = np.zeros_like(z)
        dl_dz[scored] = e
        dl_dh = np.zeros_like(h)
        dl_dh[scored] = e @ wy                              # Wy^T e, one row per step
        grads = {"wy_diff": e.T @ hs, "by_diff": e.sum(axis=0)}
        return LossOutput(loss=loss, dl_dh=dl_dh, param_grads=grads,
                          outputs=self._outputs(z, dl_dz))

    def _outputs(self, z: np.ndarray, dl_dz: np.ndarray) -> dict[str, np.ndarray]:
        return {"y_hat": z, "dl_dy_hat": dl_dz}


class ReadoutMSE(_Readout):
    """Mean squared error of the read-out: ``l(t) = (1/K) sum_k (y_hat_k(t) - y_k(t))^2``,
    so ``dl/dz = 2 (y_hat - y) / K``. Targets are real, (K,) per step."""

    name = "mse"

    def _target_shape(self) -> tuple:
        return (self.outputs,)

    def _check_values(self, y: np.ndarray) -> None:
        if y.dtype.kind not in "fiu":
            raise ValueError(f"the mse loss needs real targets, got dtype {y.dtype}")
        if not np.all(np.isfinite(y)):
            raise ValueError("the targets contain NaN or Inf")

    def _score(self, z: np.ndarray, y: np.ndarray):
        err = z - y.astype(z.dtype, copy=False)
        K = z.shape[1]
        return (err * err).sum(axis=1) / K, (2.0 / K) * err


class ReadoutCrossEntropy(_Readout):
    """Softmax cross-entropy of the read-out: ``p = softmax(z)``, ``l(t) = -log p_y(t)``,
    so ``dl/dz = p - onehot(y)``. Targets are class indices in [0, K), one per step."""

    name = "xent"

    def _target_shape(self) -> tuple:
        return ()

    def _check_values(self, y: np.ndarray) -> None:
        if y.dtype.kind not in "iu":
            raise ValueError(f"the xent loss needs integer class targets, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.outputs):
            raise ValueError(f"class targets must lie in [0, {self.outputs}), "
                             f"got {y.min()} … {y.max()}")

    def predict(self, h: np.ndarray) -> np.ndarray:
        """Class probabilities softmax(Wy h + by), (T, K)."""
        return _softmax(super().predict(h))

    def _outputs(self, z: np.ndarray, dl_dz: np.ndarray) -> dict[str, np.ndarray]:
        return {"logits": z, "probs": _softmax(z), "dl_dlogits": dl_dz}

    def _score(self, z: np.ndarray, y: np.ndarray):
        zmax = z.max(axis=1, keepdims=True)                 # shift: exp never overflows
        logsum = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]
        rows = np.arange(z.shape[0])
        e = _softmax(z)                                     # dl/dz = p - onehot(y)
        e[rows, y] -= 1.0
        return logsum - z[rows, y], e


def _softmax(z: np.ndarray) -> np.ndarray:
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p


LOSSES = {"toy": ToyLoss, "mse": ReadoutMSE, "xent": ReadoutCrossEntropy}


def make_loss(config: dict | str, params: dict | None = None):
    """Rebuild a loss from its ``config()`` (or just its name) and its ``params()``."""
    config = {"name": config} if isinstance(config, str) else dict(config)
    name = config.pop("name", None)
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if params:
        return LOSSES[name](**config, **params)
    return LOSSES[name](**config)
