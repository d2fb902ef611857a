"""The Trace: everything one forward + backward pass computed, as read-only time-major arrays.

Scrubbing is indexing: ``trace.ds[t]`` is the cell-state gradient at step t. Names are
the seed's. Per-step arrays have shape (T, H), except ``xc`` and ``dxc`` (T, X+H) and
``loss`` (T,); the summed parameter gradients ``wg_diff … bo_diff`` have the shapes of
the parameters.
"""

from __future__ import annotations

import numpy as np

from .params import PARAM_NAMES, Params

FORWARD_NAMES = ("xc", "g", "i", "f", "o", "s", "h")
LOSS_NAMES = ("loss", "dl_dh")
BACKWARD_NAMES = (
    "top_diff_h", "top_diff_s", "ds", "do", "di", "dg", "df",
    "di_input", "df_input", "do_input", "dg_input",
    "dxc", "bottom_diff_s", "bottom_diff_h",
)
STEP_NAMES = FORWARD_NAMES + LOSS_NAMES + BACKWARD_NAMES
GRAD_NAMES = tuple(f"{p}_diff" for p in PARAM_NAMES)   # wg_diff … bo_diff
# Row order of the stacked gate pre-activation gradients (see ``Trace.dz``).
GATE_ORDER = ("i", "f", "o", "g")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.view()
    a.flags.writeable = False
    return a


def stack_gate_gradients(arrays: dict) -> np.ndarray:
    """``dz`` (T, 4H): the four gate pre-activation gradients ``d*_input`` copied into one
    buffer in ``GATE_ORDER``, with ``arrays``' entries replaced by views of it, as the
    recorder lays them out. For a trace read from a file: it then holds them once
    (``Trace.dz`` would otherwise concatenate a second copy when first asked for)."""
    names = [f"d{k}_input" for k in GATE_ORDER]
    dz = np.concatenate([arrays[n] for n in names], axis=1)
    H = arrays[names[0]].shape[1]
    for n, name in enumerate(names):
        arrays[name] = dz[:, n * H:(n + 1) * H]
    return dz


class Trace:
    """One recorded pass. Attributes: ``params``, ``x`` (T, X), ``y``, ``variant``,
    ``loss_fn`` (the loss object), every name in ``STEP_NAMES`` and ``GRAD_NAMES``
    (``trace.loss`` is the per-step loss l(t)), and ``loss_grads`` (gradients of the
    loss's own parameters, empty for the toy loss)."""

    # The text of each token id (``vocab.py``), set by whoever knows it (the text task's
    # characters), to label the steps; a ModelTrace of this pass keeps it.
    vocab: tuple[str, ...] | None = None

    def __init__(self, params: Params, x: np.ndarray, y: np.ndarray, arrays: dict,
                 variant: str, loss_fn, loss_grads: dict | None = None,
                 dz: np.ndarray | None = None):
        missing = [n for n in STEP_NAMES + GRAD_NAMES if n not in arrays]
        if missing:
            raise ValueError(f"trace is missing {', '.join(missing)}")
        self.params = Params(**{k: _readonly(v) for k, v in params.as_dict().items()})
        self.x = _readonly(x)
        self.y = _readonly(y)
        self.variant = variant
        self.loss_fn = loss_fn
        self.loss_grads = {k: _readonly(v) for k, v in (loss_grads or {}).items()}
        self._arrays = {n: _readonly(arrays[n]) for n in STEP_NAMES + GRAD_NAMES}
        self._dz = None if dz is None else _readonly(dz)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    @property
    def loss_name(self) -> str:
        return self.loss_fn.name

    @property
    def loss_config(self) -> dict:
        return self.loss_fn.config()

    @property
    def loss_params(self) -> dict:
        return self.loss_fn.params()

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def inputs(self) -> int:
        return self.x.shape[1]

    @property
    def hidden(self) -> int:
        return self.params.hidden

    @property
    def dtype(self) -> np.dtype:
        return self.params.dtype

    @property
    def total_loss(self) -> float:
        """L = sum_t l(t), summed in float64."""
        return float(np.sum(self.loss, dtype=np.float64))

    @property
    def grads(self) -> Params:
        """The summed gradients as a Params (``wg`` holds ``wg_diff`` …)."""
        return Params(**{p: np.array(self._arrays[f"{p}_diff"]) for p in PARAM_NAMES})

    @property
    def dz(self) -> np.ndarray:
        """Gate pre-activation gradients stacked (T, 4H) in ``GATE_ORDER``:
        the rows that multiply ``xc`` to give each step's weight-gradient contribution."""
        if self._dz is None:
            names = [f"d{k}_input" for k in GATE_ORDER]
            self._dz = _readonly(np.concatenate([self._arrays[n] for n in names], axis=1))
        return self._dz

    @property
    def nbytes(self) -> int:
        """Bytes held by the recorded arrays (views of one buffer counted once)."""
        seen, total = set(), 0
        for a in [*self._arrays.values(), self.x, self.y, self._dz]:
            if a is None:
                continue
            base = a
            while base.base is not None and isinstance(base.base, np.ndarray):
                base = base.base
            if id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
        return total

    def meta(self) -> dict:
        return {
            "variant": self.variant, "loss": self.loss_config, "dtype": self.dtype.name,
            "steps": self.steps, "inputs": self.inputs, "hidden": self.hidden,
        }
