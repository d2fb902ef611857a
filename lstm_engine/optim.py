"""Optimisers over named arrays, and gradient-norm clipping.

An optimiser is functional: ``update(params, grads, state) -> (new_params, new_state)``
returns new arrays and a new state and never writes into its arguments. So a Trace that
still refers to the old parameters stays valid, an interrupted update leaves nothing
half-changed, and a checkpoint is just the state it was given. ``params`` and ``grads``
are dicts of arrays with the same keys (the cell's ``wg … bo`` and a read-out's ``wy by``).

``sgd``       w <- w - lr g                                   (the seed's rule)
``momentum``  v <- mu v + g;  w <- w - lr v                   (heavy ball, PyTorch's form)
``adam``      m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  n = number of updates so far
              w <- w - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m/(1-b1^n),  v_hat = v/(1-b2^n)
"""

from __future__ import annotations

import numpy as np


class SGD:
    """Plain SGD (``momentum=0``, the seed's rule) or SGD with heavy-ball momentum."""

    def __init__(self, lr: float = 0.1, momentum: float = 0.0):
        if not lr > 0:
            raise ValueError(f"the learning rate must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = float(lr), float(momentum)

    @property
    def name(self) -> str:
        return "momentum" if self.momentum else "sgd"

    def config(self) -> dict:
        out = {"name": self.name, "lr": self.lr}
        if self.momentum:
            out["momentum"] = self.momentum
        return out

    def init_state(self, params: dict) -> dict:
        if not self.momentum:
            return {"step": 0}
        return {"step": 0, "velocity": {k: np.zeros_like(v) for k, v in params.items()}}

    def update(self, params: dict, grads: dict, state: dict) -> tuple[dict, dict]:
        if not self.momentum:
            new = {k: params[k] - self.lr * grads[k] for k in params}
            return new, {"step": state["step"] + 1}
        velocity = {k: self.momentum * state["velocity"][k] + grads[k] for k in params}
        new = {k: params[k] - self.lr * velocity[k] for k in params}
        return new, {"step": state["step"] + 1, "velocity": velocity}


class Adam:
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""

    name = "adam"

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        if not lr > 0:
            raise ValueError(f"the learning rate must be positive, got {lr}")
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam's betas must be in [0, 1), got {beta1}, {beta2}")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), eps

    def config(self) -> dict:
        return {"name": self.name, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}

    def init_state(self, params: dict) -> dict:
        return {"step": 0, "m": {k: np.zeros_like(v) for k, v in params.items()},
                "v": {k: np.zeros_like(v) for k, v in params.items()}}

    def update(self, params: dict, grads: dict, state: dict) -> tuple[dict, dict]:
        n = state["step"] + 1
        b1, b2 = self.beta1, self.beta2
        m = {k: b1 * state["m"][k] + (1 - b1) * grads[k] for k in params}
        v = {k: b2 * state["v"][k] + (1 - b2) * grads[k] * grads[k] for k in params}
        c1, c2 = 1 - b1**n, 1 - b2**n                       # bias corrections
        new = {k: params[k] - self.lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + self.eps)
               for k in params}
        return new, {"step": n, "m": m, "v": v}


OPTIMIZERS = ("sgd", "momentum", "adam")
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}


def make_optimizer(name: str, lr: float | None = None, **options):
    """An optimiser by name; ``lr`` defaults to ``DEFAULT_LR[name]``, ``momentum`` to 0.9."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "sgd":
        return SGD(lr, **options)
    if name == "momentum":
        return SGD(lr, momentum=options.pop("momentum", 0.9), **options)
    return Adam(lr, **options)


def _norm(values) -> float:
    """L2 norm in float64, scaled by the largest entry first so that huge but finite
    gradients (the ones worth seeing when they explode) do not overflow when squared."""
    a = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    top = a.max(initial=0.0)
    if top == 0.0 or not np.isfinite(top):
        return float(top)
    a = a / top
    return float(top * np.sqrt(np.dot(a, a)))


def grad_norms(grads: dict) -> dict[str, float]:
    """The L2 (Frobenius) norm of each gradient array."""
    return {k: _norm(g) for k, g in grads.items()}


def global_norm(norms: dict[str, float]) -> float:
    """||g|| over all arrays at once: sqrt of the sum of the squared per-array norms."""
    return _norm(list(norms.values()))


def clip_by_global_norm(grads: dict, max_norm: float, norm: float | None = None):
    """Scale all gradients by ``max_norm / ||g||`` when ``||g|| > max_norm``.

    Returns ``(grads, norm_before_clipping, clipped)``; unclipped gradients are returned
    as they are. The direction is kept, only the step length is bounded.
    """
    if not max_norm > 0:
        raise ValueError(f"the clipping norm must be positive, got {max_norm}")
    norm = global_norm(grad_norms(grads)) if norm is None else norm
    if not norm > max_norm:                                 # also when norm is NaN
        return grads, norm, False
    scale = max_norm / norm
    return {k: g * scale for k, g in grads.items()}, norm, True
