"""A model, its inputs and its targets from the files the command line names, checked to
fit each other before anything is recorded (``lstm-engine record`` and ``gradcheck``).

Inputs are dense, (T, X), or token ids, (T,), for a model with an embedding; a batch puts
B first: (B, T, X) or (B, T). Targets then put B first too: (B, T) or (B,) for the toy
and cross-entropy losses, (B, T, K) or (B, K) for MSE. ``--sequence K`` (default 0)
chooses the batch's sequence that is recorded, from h = s = 0 and alone: its recorded
gradients are dL_K/dθ of that sequence, not the batch's (``docs/equations.md`` §5).

Targets must fit the loss: real numbers for the toy loss and MSE, integer class ids in
[0, K) for cross-entropy, in the shape the loss scores. Every problem is one line naming
the file or the option.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import io
from .errors import UserError
from .memory import check_fits, record_bytes
from .model import Model
from .model_arrays import ModelFile


@dataclass(frozen=True)
class Run:
    """What ``record`` records: the model, the inputs and targets as read (a batch whole),
    the batch index recorded (None for a single sequence), B (None) and T."""

    model: Model
    inputs: np.ndarray
    targets: np.ndarray
    sequence: int | None
    batch: int | None
    steps: int
    source: ModelFile | None                 # None for the published example (--demo)


def load_run(params, inputs, targets, *, variant: str | None = None, loss: str | None = None,
             at: str | None = None, sequence: int | None = None) -> Run:
    """Read and check the three files; ``variant``, ``loss`` and ``at`` as
    ``ModelFile.model_for`` takes them, ``sequence`` the batch index (None: 0 of a batch)."""
    source = io.load_model(params)
    model = source.model_for(variant, loss, at)
    x = io.load_npy(inputs, kinds="fiu")
    y = io.load_npy(targets, kinds="fiub")
    x = _check_inputs(model, x, inputs)
    batched = x.ndim == (2 if model.embedding is not None else 3)
    if batched:
        B = x.shape[0]
        k = 0 if sequence is None else sequence
        if not 0 <= k < B:
            raise UserError(f"--sequence {k} is out of range: {inputs} holds {B} sequences "
                            f"(0 … {B - 1})")
        if y.ndim < 1 or y.shape[0] != B:
            raise UserError(f"{targets}: the inputs hold {B} sequences but the targets have "
                            f"shape {y.shape}; expected {B} first")
        one_x, one_y = x[k], y[k]
    else:
        if sequence not in (None, 0):
            raise UserError(f"--sequence {sequence}: {inputs} holds one sequence, shape "
                            f"{x.shape}; a batch is {_batch_shape(model)}")
        B = k = None
        one_x, one_y = x, y
    T = one_x.shape[0]
    check_targets(model, one_y, T, targets)
    return Run(model, x, y, k, B, T, source)


def _batch_shape(model: Model) -> str:
    return "(B, T) token ids" if model.embedding is not None else f"(B, T, {model.inputs})"


def _check_inputs(model: Model, x: np.ndarray, where) -> np.ndarray:
    if model.embedding is not None:
        V = model.vocab
        if x.dtype.kind not in "iu":
            raise UserError(f"{where}: the model reads token ids through its embedding "
                            f"(V={V}), integers; got {x.dtype}")
        if x.ndim not in (1, 2) or 0 in x.shape:
            raise UserError(f"{where}: token ids must have shape (T,) or (B, T), got {x.shape}")
        if x.min() < 0 or x.max() >= V:
            raise UserError(f"{where}: token ids must lie in [0, {V}) (the embedding's rows), "
                            f"got {x.min()} … {x.max()}")
        return x
    X = model.inputs
    if x.ndim not in (2, 3) or x.shape[-1] != X or 0 in x.shape:
        hint = (" (token ids need a model with an embedding)"
                if x.dtype.kind in "iu" and x.ndim in (1, 2) else "")
        raise UserError(f"{where}: inputs must have shape (T, {X}) or (B, T, {X}) to match "
                        f"the parameters, got {x.shape}{hint}")
    if not np.all(np.isfinite(x)):
        raise UserError(f"{where}: contains NaN or Inf")
    return x


def check_targets(model: Model, y: np.ndarray, steps: int, where) -> None:
    """UserError unless ``y`` (one sequence's) fits the model's loss: real numbers for the
    toy loss and MSE, integer class ids in [0, K) for cross-entropy, the loss's shape."""
    name = model.loss_name
    if name in ("toy", "mse") and y.dtype.kind in "iub":
        raise UserError(f"{where}: integer targets ({y.dtype}) do not fit the {name} loss, "
                        "which compares with real numbers (class ids are targets of the "
                        "xent loss, --loss xent with a read-out)")
    if name == "xent" and y.dtype.kind not in "iu":
        raise UserError(f"{where}: {y.dtype} targets do not fit the xent loss, which needs "
                        f"integer class ids in [0, {model.outputs})")
    try:
        model.loss.check_targets(y, steps)
    except ValueError as err:
        raise UserError(f"{where}: {err}") from None


def model_record_bytes(model: Model, steps: int, dtype) -> int:
    """Peak bytes of recording the model (``memory.record_bytes`` of each layer)."""
    widths = [model.inputs, *model.hiddens]
    top = model.num_layers - 1
    return sum(record_bytes(steps, widths[n], widths[n + 1], dtype,
                            (model.outputs or 0) if n == top else 0)
               for n in range(model.num_layers))


def check_record_memory(model: Model, steps: int, dtype) -> None:
    """UserError, before anything is allocated, if recording would not fit."""
    hs = model.hiddens
    H = str(hs[0]) if len(set(hs)) == 1 else ",".join(map(str, hs))
    layers = f", {model.num_layers} layers" if model.num_layers > 1 else ""
    check_fits(model_record_bytes(model, steps, dtype),
               f"recording T={steps}, X={model.inputs}, H={H}{layers} "
               f"({np.dtype(dtype).name})")
