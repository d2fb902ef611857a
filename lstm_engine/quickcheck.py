"""Quick gradient check: the backward pass along one random direction per array.

For each parameter array θ (the cell's eight and the loss's own) one random unit
direction v, and the directional derivative of L = sum_t l(t) along it, two ways::

    analytic = Σ_ij (∂L/∂θ)_ij v_ij                                (the recorded gradient)
    numeric  = (L(θ-2εv) - 8 L(θ-εv) + 8 L(θ+εv) - L(θ+2εv)) / 12ε
    relative = |analytic - numeric| / max(|analytic|, |numeric|, floor)

in float64: the fourth-order centred stencil of ``gradcheck.py`` along v instead of along
one entry. Four forward passes per array instead of four per entry, so it is cheap enough
to run on every pass of a training run. One direction sees a wrong gradient unless the
error happens to be orthogonal to v (probability zero for a random v): a correct
backward gives ~1e-9 or less, the wrong backward errors of 1e-2 and more.
"""

from __future__ import annotations

import numpy as np

from .gradcheck import stencil_derivative
from .losses import make_loss
from .params import PARAM_NAMES, Params
from .recorder import forward_loss


def _gradients(trace) -> dict[str, np.ndarray]:
    """The trace's gradients by array name: ``wg`` … ``bo``, then ``loss.<name>``."""
    out = {n: np.asarray(trace[f"{n}_diff"], np.float64) for n in PARAM_NAMES}
    out.update({f"loss.{k[:-5]}": np.asarray(v, np.float64)
                for k, v in trace.loss_grads.items()})
    return out


def random_directions(trace, seed: int = 0) -> dict[str, np.ndarray]:
    """One random unit direction (Frobenius norm 1) per array of the trace's gradients."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, g in _gradients(trace).items():
        v = rng.standard_normal(g.shape)
        out[name] = v / np.linalg.norm(v)
    return out


def directional_derivatives(trace, directions: dict[str, np.ndarray],
                            forward_variant: str | None = None,
                            eps: float = 1e-3) -> dict[str, tuple[float, float]]:
    """``(analytic, numeric)`` derivative of L along ``directions[name]`` for each named
    array (``wg`` … ``bo``, ``loss.<name>``): the recorded gradient's Σ g·v, and the
    stencil on L(θ + t·v) with every other array held, forward passes in float64.
    ``forward_variant``: the forward the pass ran, when its backward (``trace.variant``)
    is another's."""
    fwd = forward_variant or trace.variant
    cell = trace.params.astype(np.float64).as_dict()
    head = {k: np.array(v, dtype=np.float64) for k, v in trace.loss_params.items()}
    grads = _gradients(trace)

    def total(cell: dict, head: dict) -> float:
        loss = make_loss(trace.loss_config, head) if head else trace.loss_fn
        return forward_loss(Params(**cell), trace.x, trace.y, fwd, loss, dtype="float64")

    out = {}
    for name, v in directions.items():
        own = name.startswith("loss.")
        base = head[name[5:]] if own else cell[name]

        def along(t: float, name=name, base=base, v=v, own=own) -> float:
            moved = base + t * v
            if own:
                return total(cell, {**head, name[5:]: moved})
            return total({**cell, name: moved}, head)

        out[name] = (float(np.sum(grads[name] * v)), stencil_derivative(along, eps))
    return out


def directional_errors(trace, forward_variant: str | None = None, eps: float = 1e-3,
                       seed: int = 0, floor: float = 1e-12) -> dict[str, float]:
    """The relative error of the derivative along one random direction per array (see
    the module docstring)."""
    found = directional_derivatives(trace, random_directions(trace, seed), forward_variant,
                                    eps)
    return {name: abs(a - n) / max(abs(a), abs(n), floor) for name, (a, n) in found.items()}
