"""The cell's parameters, in the seed's names and layout, and their initialisations.

Each gate k in (g, i, f, o) has a weight matrix ``wk`` of shape (H, X+H) that acts on
``xc = [x, h_prev]`` (x first) and a bias ``bk`` of shape (H,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHT_NAMES = ("wg", "wi", "wf", "wo")
BIAS_NAMES = ("bg", "bi", "bf", "bo")
PARAM_NAMES = WEIGHT_NAMES + BIAS_NAMES
DTYPES = ("float64", "float32")


@dataclass
class Params:
    """Weights ``wg wi wf wo`` (H, X+H) and biases ``bg bi bf bo`` (H,)."""

    wg: np.ndarray
    wi: np.ndarray
    wf: np.ndarray
    wo: np.ndarray
    bg: np.ndarray
    bi: np.ndarray
    bf: np.ndarray
    bo: np.ndarray

    def __post_init__(self) -> None:
        check_params(self.as_dict())

    @property
    def hidden(self) -> int:
        return self.bg.shape[0]

    @property
    def inputs(self) -> int:
        return self.wg.shape[1] - self.bg.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.wg.dtype

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def astype(self, dtype) -> Params:
        return Params(**{k: np.asarray(v, dtype=dtype).copy() for k, v in self.as_dict().items()})

    def copy(self) -> Params:
        return self.astype(self.dtype)

    def apply_diff(self, grads: Params, lr: float) -> None:
        """The seed's SGD update, in place: ``w -= lr * w_diff`` for all eight arrays."""
        for name in PARAM_NAMES:
            getattr(self, name)[...] -= lr * getattr(grads, name)

    def zeros_like(self) -> Params:
        """Gradient accumulators ``wg_diff`` … ``bo_diff`` start at zero, as in the seed."""
        return Params(**{k: np.zeros_like(v) for k, v in self.as_dict().items()})


def check_params(arrays: dict[str, np.ndarray]) -> None:
    """Raise ValueError (one line) unless the eight arrays form a consistent cell."""
    missing = [n for n in PARAM_NAMES if n not in arrays]
    if missing:
        raise ValueError(f"missing parameter arrays: {', '.join(missing)}")
    bg = np.asarray(arrays["bg"])
    if bg.ndim != 1 or bg.shape[0] < 1:
        raise ValueError(f"bg must be a non-empty vector, got shape {bg.shape}")
    hidden = bg.shape[0]
    wg = np.asarray(arrays["wg"])
    if wg.ndim != 2 or wg.shape[0] != hidden or wg.shape[1] <= hidden:
        raise ValueError(f"wg must have shape (H, X+H) with H={hidden} and X>=1, got {wg.shape}")
    dtype = wg.dtype
    if dtype.name not in DTYPES:
        raise ValueError(f"parameters must be float64 or float32, got {dtype}")
    for name in PARAM_NAMES:
        a = np.asarray(arrays[name])
        want = wg.shape if name.startswith("w") else (hidden,)
        if a.shape != want:
            raise ValueError(f"{name} has shape {a.shape}, expected {want}")
        if a.dtype != dtype:
            raise ValueError(f"{name} has dtype {a.dtype}, expected {dtype} like wg")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or Inf")


def init_uniform(
    inputs: int, hidden: int, rng: np.random.Generator, low: float = -0.1, high: float = 0.1,
    dtype="float64",
) -> Params:
    """The seed's initialisation, uniform in [low, high), drawn from an explicit generator."""
    shape_w = (hidden, inputs + hidden)
    arrays = {}
    for name in PARAM_NAMES:
        shape = shape_w if name.startswith("w") else (hidden,)
        arrays[name] = rng.uniform(low, high, size=shape).astype(dtype, copy=False)
    return Params(**arrays)


def _published_draw(*shape: int) -> np.ndarray:
    # The seed calls np.random.seed(0) before *every* array; a fresh RandomState(0)
    # reproduces that stream without touching numpy's global generator.
    return np.random.RandomState(0).random_sample(shape) * 0.2 - 0.1


def init_published(inputs: int = 50, hidden: int = 100) -> Params:
    """The "as published" initialisation of the source document's example.

    Every array restarts the seed-0 stream, so the four weight matrices are identical
    and so are the four bias vectors (the first H draws of that stream).
    """
    w = _published_draw(hidden, inputs + hidden)
    b = _published_draw(hidden)
    return Params(
        wg=w.copy(), wi=w.copy(), wf=w.copy(), wo=w.copy(),
        bg=b.copy(), bi=b.copy(), bf=b.copy(), bo=b.copy(),
    )


PUBLISHED_TARGETS = (-0.5, 0.2, 0.1, -0.5)


def published_example(inputs: int = 50, hidden: int = 100) -> tuple[Params, np.ndarray, np.ndarray]:
    """Parameters, inputs (T, X) and targets (T,) of the source document's example.

    Its inputs are ``np.random.random(x_dim)`` drawn right after the last parameter
    reseeded the stream: draws H … H + T*X of the seed-0 stream.
    """
    t = len(PUBLISHED_TARGETS)
    stream = np.random.RandomState(0).random_sample(hidden + t * inputs)
    x = stream[hidden:].reshape(t, inputs)
    y = np.array(PUBLISHED_TARGETS, dtype=np.float64)
    return init_published(inputs, hidden), x, y
