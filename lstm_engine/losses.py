"""Losses: each maps the hidden states h (T, H) and the targets to per-step values
l(t) and their gradients dl(t)/dh(t); the recorder adds the carried dL(t+1)/dh(t).

A loss is any object with a ``name``, ``check_targets(y, T)``, ``evaluate(h, y) ->
LossOutput``, ``config() -> dict`` (JSON-able, enough for ``make_loss`` to rebuild it) and
``params() -> dict[str, ndarray]`` (its own parameters; empty for the toy loss). Losses
with parameters (a read-out) also return those parameters' summed gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LossOutput:
    loss: np.ndarray          # (T,) l(t)
    dl_dh: np.ndarray         # (T, H) dl(t)/dh(t), the loss's own share of top_diff_h
    param_grads: dict[str, np.ndarray] = field(default_factory=dict)


class ToyLoss:
    """The seed's toy loss ``l(t) = (h(t)[0] - y(t))^2``, so ``dl/dh = [2(h[0]-y), 0, …]``."""

    name = "toy"

    def check_targets(self, y: np.ndarray, steps: int) -> None:
        if y.shape != (steps,):
            raise ValueError(f"the toy loss needs one target per step, shape ({steps},), "
                             f"got {y.shape}")

    def config(self) -> dict:
        return {"name": self.name}

    def params(self) -> dict[str, np.ndarray]:
        return {}

    def evaluate(self, h: np.ndarray, y: np.ndarray) -> LossOutput:
        err = h[:, 0] - y
        dl_dh = np.zeros_like(h)
        dl_dh[:, 0] = 2.0 * err
        return LossOutput(loss=err * err, dl_dh=dl_dh)


LOSSES = {"toy": ToyLoss}


def make_loss(config: dict | str, params: dict | None = None):
    """Rebuild a loss from its ``config()`` (or just its name) and its ``params()``."""
    config = {"name": config} if isinstance(config, str) else dict(config)
    name = config.pop("name", None)
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if params:
        return LOSSES[name](**config, **params)
    return LOSSES[name](**config)
