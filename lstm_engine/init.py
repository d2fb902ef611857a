"""Initialisations beyond the seed's: what people change when gradients vanish.

Each gate k has ``wk = [Wk_x | Wk_h]`` of shape (H, X+H) acting on ``xc = [x, h_prev]``.

``xavier``      Glorot-uniform per gate matrix: ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``
                with fan_in = X+H and fan_out = H; biases zero.
``orthogonal``  ``Wk_x`` Glorot-uniform (fan_in = X), ``Wk_h`` a random orthogonal (H, H)
                matrix per gate, so the recurrent map neither shrinks nor grows a vector
                at initialisation; biases zero.
``uniform``     the seed's U[-0.1, 0.1) (``params.init_uniform``).
``published``   the source document's "as published" draw (``params.init_published``).

Any of them can add a forget-gate bias ``bf = b`` (for example 1.0): f = sigmoid(1) = 0.73
keeps the carousel open at the start, the classic remedy for early vanishing gradients.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import UserError
from .params import BIAS_NAMES, WEIGHT_NAMES, Params, init_published, init_uniform
from .textsafe import show

INITS = ("uniform", "xavier", "orthogonal", "published")


def _glorot(rng: np.random.Generator, fan_out: int, fan_in: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_out, fan_in))


def orthogonal_matrix(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal (n, n) matrix, uniform over the orthogonal group.

    QR of a Gaussian matrix, with the signs of R's diagonal moved into Q so that the
    distribution does not depend on the QR routine's sign convention.
    """
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def init_xavier(inputs: int, hidden: int, rng: np.random.Generator, dtype="float64") -> Params:
    """Glorot-uniform weights for every gate, zero biases."""
    arrays = {w: _glorot(rng, hidden, inputs + hidden) for w in WEIGHT_NAMES}
    arrays.update({b: np.zeros(hidden) for b in BIAS_NAMES})
    return Params(**arrays).astype(dtype)


def init_orthogonal(inputs: int, hidden: int, rng: np.random.Generator,
                    dtype="float64") -> Params:
    """Glorot-uniform input weights, orthogonal recurrent weights per gate, zero biases."""
    arrays = {}
    for w in WEIGHT_NAMES:
        arrays[w] = np.hstack([_glorot(rng, hidden, inputs), orthogonal_matrix(hidden, rng)])
    arrays.update({b: np.zeros(hidden) for b in BIAS_NAMES})
    return Params(**arrays).astype(dtype)


def check_forget_bias(value) -> float:
    """``value`` as a float, if it is a finite real number; a UserError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UserError(f"the forget-gate bias must be a number, got {show(value)}")
    if not math.isfinite(value):
        raise UserError(f"the forget-gate bias must be a finite number, got {value}")
    return float(value)


def with_forget_bias(params: Params, value: float) -> Params:
    """A copy of ``params`` whose forget-gate bias ``bf`` is ``value`` everywhere."""
    value = check_forget_bias(value)
    out = params.copy()
    out.bf[...] = value
    return out


def make_params(init: str, inputs: int, hidden: int, rng: np.random.Generator,
                forget_bias: float | None = None, dtype="float64") -> Params:
    """Parameters from the initialisation named ``init`` (one of ``INITS``).

    ``published`` ignores ``rng`` (it reproduces the source document's reseeded draws).
    """
    if forget_bias is not None:
        forget_bias = check_forget_bias(forget_bias)        # before any drawing
    if init == "uniform":
        params = init_uniform(inputs, hidden, rng, dtype=dtype)
    elif init == "xavier":
        params = init_xavier(inputs, hidden, rng, dtype)
    elif init == "orthogonal":
        params = init_orthogonal(inputs, hidden, rng, dtype)
    elif init == "published":
        params = init_published(inputs, hidden).astype(dtype)
    else:
        raise ValueError(f"unknown initialisation {init!r}; choose one of {', '.join(INITS)}")
    if forget_bias is not None:
        params = with_forget_bias(params, forget_bias)
    return params
