"""A whole model: input → L stacked cells → read-out → loss, and its recorded pass.

The input is dense vectors x(t) (T, X), or token ids (T,) looked up in an embedding E
(V, X): x(t) = E[token(t)] (one-hot input is E = I). Layer 0 reads x(t); layer l > 0
reads layer l−1's h(t). One variant for every layer. The loss (``losses.py``) scores the
top layer's h: the seed's toy loss on h[0], or a linear read-out with MSE or softmax
cross-entropy at every step or at the last step only.

Order, as the readable driver (``model_driver.py``) runs it: forward ``for t: for l =
0…L−1``; backward ``for t = T−1…0: for l = L−1…0``, where node (l, t) receives::

    top_diff_h(l, t) = [l = L−1] dl(t)/dh(t)            the loss's share, top layer only
                     + [l < L−1] dxc(l+1, t)[:X_{l+1}]  what layer l+1 sends down
                     + bottom_diff_h(l, t+1)            the layer's own carry (0 at T−1)
    top_diff_s(l, t) = bottom_diff_s(l, t+1)            (0 at T−1)
    dE[v] = sum over steps t with token(t) = v of dxc(0, t)[:X]

``record_model`` computes the same numbers layer by layer: a layer's forward over all
steps needs only the layer below's h, and a layer's backward over all steps needs only
what the layer above sent down (its ``dxc[:, :X]``, complete once that layer is done),
so each layer runs through the fast single-layer recorder (``recorder.py``) unchanged.
The equations are written out in ``docs/equations.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .blas import single_threaded
from .cell import check_variant
from .losses import Loss, ToyLoss, make_loss
from .params import DTYPES, PARAM_NAMES, Params
from .recorder import _backward, _forward, _prepare
from .trace import GRAD_NAMES, STEP_NAMES, Trace, _readonly

EMBEDDING = "embedding"
LOSS_PREFIX = "loss."            # the read-out's wy, by: "loss.wy", "loss.by"


def layer_prefix(layer: int) -> str:
    """The prefix of layer ``layer``'s arrays in flat names: ``L0.wg`` … ``L1.bo``."""
    return f"L{layer}."


@dataclass(frozen=True, eq=False)
class Model:
    """Layers, variant, loss (holding the read-out ``wy``, ``by``) and the optional
    embedding (V, X). Checked on construction: every problem is a one-line ValueError.

    ``layers[0]`` has X inputs; ``layers[l]`` has as many inputs as ``layers[l-1]`` has
    hidden units (each layer may have its own H). All arrays share one dtype.
    """

    layers: tuple[Params, ...]
    variant: str = "seed"
    loss: Loss = field(default_factory=ToyLoss)
    embedding: np.ndarray | None = None

    def __post_init__(self) -> None:  # noqa: C901, PLR0912 - one validation per field with its own message, read top to bottom
        if not isinstance(self.layers, (list, tuple)):
            raise ValueError("layers must be a list or tuple of Params, one per layer; got "
                             f"{type(self.layers).__name__}")
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a model needs at least one layer")
        object.__setattr__(self, "layers", layers)
        for n, p in enumerate(layers):
            if not isinstance(p, Params):
                raise ValueError(f"layer {n} is a {type(p).__name__}, not Params")
            if p.dtype != layers[0].dtype:
                raise ValueError(f"layer {n} is {p.dtype} but layer 0 is {layers[0].dtype}; "
                                 "one dtype for the whole model")
            if n and p.inputs != layers[n - 1].hidden:
                raise ValueError(f"layer {n} takes X={p.inputs} inputs but layer {n - 1} "
                                 f"has H={layers[n - 1].hidden}")
        check_variant(self.variant)
        for method in ("evaluate", "check_targets", "config", "params"):
            if not callable(getattr(self.loss, method, None)):
                raise ValueError(f"the loss {self.loss!r} has no {method}(); use one of "
                                 "losses.py's")
        wy = self.loss.params().get("wy")
        if wy is not None and wy.shape[1] != self.hidden:
            raise ValueError(f"the read-out's wy has shape {wy.shape} but the top layer has "
                             f"H={self.hidden}; expected ({wy.shape[0]}, {self.hidden})")
        if self.embedding is not None:
            E = self.embedding
            if not isinstance(E, np.ndarray) or E.ndim != 2 or E.shape[0] < 1:
                raise ValueError("the embedding must be an array of shape (V, X) with V >= 1, "
                                 f"got {getattr(E, 'shape', type(E).__name__)}")
            if E.shape[1] != self.inputs:
                raise ValueError(f"the embedding has shape {E.shape} but layer 0 takes "
                                 f"X={self.inputs}; expected ({E.shape[0]}, {self.inputs})")
            if E.dtype != self.dtype:
                raise ValueError(f"the embedding is {E.dtype} but the layers are {self.dtype}")
            if not np.all(np.isfinite(E)):
                raise ValueError("the embedding contains NaN or Inf")

    @classmethod
    def single(cls, params: Params, variant: str = "seed", loss=None) -> Model:
        """The seed's model: one cell on dense inputs (the toy loss by default)."""
        return cls((params,), variant, loss if loss is not None else ToyLoss())

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def inputs(self) -> int:
        """X of layer 0: the width of a dense input, or of an embedding row."""
        return self.layers[0].inputs

    @property
    def hidden(self) -> int:
        """H of the top layer (what the loss reads)."""
        return self.layers[-1].hidden

    @property
    def hiddens(self) -> tuple[int, ...]:
        return tuple(p.hidden for p in self.layers)

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].dtype

    @property
    def vocab(self) -> int | None:
        """V, the embedding's rows (token ids run 0 … V−1), or None for dense inputs."""
        return None if self.embedding is None else self.embedding.shape[0]

    @property
    def outputs(self) -> int | None:
        """K, the read-out's outputs (classes for xent), or None for the toy loss."""
        wy = self.loss.params().get("wy")
        return None if wy is None else wy.shape[0]

    @property
    def loss_name(self) -> str:
        return self.loss.name

    def arrays(self) -> dict[str, np.ndarray]:
        """Every parameter array by flat name: ``L0.wg`` … ``L{L-1}.bo``, ``embedding``
        (if any), ``loss.wy`` and ``loss.by`` (a read-out). The arrays themselves, not
        copies. ``ModelTrace.grads()`` uses the same names."""
        out = {}
        for n, p in enumerate(self.layers):
            out.update({layer_prefix(n) + k: v for k, v in p.as_dict().items()})
        if self.embedding is not None:
            out[EMBEDDING] = self.embedding
        out.update({LOSS_PREFIX + k: v for k, v in self.loss.params().items()})
        return out

    def with_arrays(self, arrays: dict[str, np.ndarray]) -> Model:
        """The same structure, variant and loss settings with other arrays (by the flat
        names of ``arrays()``, all of them)."""
        missing = [k for k in self.arrays() if k not in arrays]
        if missing:
            raise ValueError(f"missing model arrays: {', '.join(missing)}")
        layers = tuple(Params(**{k: arrays[layer_prefix(n) + k] for k in PARAM_NAMES})
                       for n in range(self.num_layers))
        loss_params = {k: arrays[LOSS_PREFIX + k] for k in self.loss.params()}
        loss = make_loss(self.loss.config(), loss_params) if loss_params else self.loss
        embedding = arrays[EMBEDDING] if self.embedding is not None else None
        return Model(layers, self.variant, loss, embedding)

    def astype(self, dtype) -> Model:
        """A copy with every array (read-out included) in ``dtype``."""
        dtype = np.dtype(dtype)
        if dtype.name not in DTYPES:
            raise ValueError(f"dtype must be float64 or float32, got {dtype}")
        return self.with_arrays({k: np.array(v, dtype=dtype)
                                 for k, v in self.arrays().items()})

    def copy(self) -> Model:
        return self.astype(self.dtype)

    def describe(self) -> str:
        """One line: layers and sizes, input, read-out, variant, dtype."""
        sizes = " → ".join([f"X={self.inputs}", *(f"H={h}" for h in self.hiddens)])
        layers = f"{self.num_layers} layer{'s' if self.num_layers > 1 else ''} ({sizes})"
        src = (f"token ids through an embedding {self.vocab}×{self.inputs}"
               if self.embedding is not None else "dense inputs")
        if self.outputs is None:
            loss = f"{self.loss_name} loss"
        else:
            where = "every step" if self.loss.at == "every" else "the last step"
            loss = f"{self.loss_name} read-out K={self.outputs} at {where}"
        return f"{layers}, {src}, {loss}, variant {self.variant}, {self.dtype.name}"


# ---- batches --------------------------------------------------------------------------

def batch_size(inputs, tokens: bool) -> int | None:
    """B if ``inputs`` hold a batch — (B, T, X) dense or (B, T) token ids — else None."""
    ndim = np.ndim(inputs)
    return np.shape(inputs)[0] if ndim == (2 if tokens else 3) else None


def select_sequence(inputs, targets, index: int, *, tokens: bool):
    """Sequence ``index`` of a batch: inputs (B, T, X) dense or (B, T) token ids, and
    targets with the batch first: (B, T) or (B,) (toy, xent), (B, T, K) or (B, K) (mse).
    Returns views ``(inputs[index], targets[index])``; recording them gives that
    sequence's gradients alone."""
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    B = batch_size(inputs, tokens)
    if B is None:
        want = "(B, T) token ids" if tokens else "(B, T, X) inputs"
        raise ValueError(f"a batch needs {want}, got shape {inputs.shape}")
    if targets.ndim < 1 or targets.shape[0] != B:
        raise ValueError(f"the inputs hold {B} sequences but the targets have shape "
                         f"{targets.shape}; expected {B} first")
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"the sequence must be an integer, got {index!r}")
    if not 0 <= index < B:
        raise ValueError(f"sequence {index} is out of range: the batch has {B} "
                         f"(0 … {B - 1})")
    return inputs[index], targets[index]


# ---- the recorded pass ------------------------------------------------------------------

class ModelTrace:
    """One recorded pass of a Model.

    ``layers[l]`` is layer l's ``Trace`` with the single-cell names and shapes; its
    ``dl_dh`` is what arrives from above at each step (the loss's share for the top
    layer, layer l+1's ``dxc[:, :X]`` below it), so ``top_diff_h = dl_dh +
    bottom_diff_h(t+1)`` on every layer. Every layer's Trace carries the model's loss
    ``loss``, targets ``y`` and read-out gradients ``loss_grads``.

    Model level: ``model`` (the recorded copy), ``tokens`` (T,) or None, ``x`` (layer 0's
    input, E[tokens] for token ids), ``y``, ``loss`` (T,), ``outputs`` (the read-out's
    per-step arrays by name, see ``LossOutput``), ``loss_grads`` (``wy_diff``,
    ``by_diff``), ``dE`` (V, X) or None, ``sequence`` (the batch index, or None) and
    ``batch`` (B of that batch, or None), ``vocab`` (the text of each token id, to label
    the steps, or None; ``vocab.py``).
    """

    def __init__(self, model: Model, layers, tokens, x, y, loss, outputs: dict,
                 loss_grads: dict, dE, sequence: int | None = None,
                 batch: int | None = None, vocab: tuple[str, ...] | None = None):
        self.model = model.with_arrays({k: _readonly(v) for k, v in model.arrays().items()})
        self.layers = tuple(layers)
        self.tokens = None if tokens is None else _readonly(tokens)
        self.x = _readonly(x)
        self.y = _readonly(y)
        self.loss = _readonly(loss)
        self.outputs = {k: _readonly(v) for k, v in outputs.items()}
        self.loss_grads = {k: _readonly(v) for k, v in loss_grads.items()}
        self.dE = None if dE is None else _readonly(dE)
        self.sequence = sequence
        self.batch = batch
        self.vocab = None if vocab is None else tuple(vocab)

    @property
    def variant(self) -> str:
        return self.model.variant

    @property
    def loss_fn(self):
        return self.model.loss

    @property
    def loss_name(self) -> str:
        return self.model.loss.name

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def top(self) -> Trace:
        return self.layers[-1]

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def inputs(self) -> int:
        return self.x.shape[1]

    @property
    def hidden(self) -> int:
        return self.model.hidden

    @property
    def dtype(self) -> np.dtype:
        return self.model.dtype

    @property
    def total_loss(self) -> float:
        """L = sum_t l(t), summed in float64."""
        return float(np.sum(self.loss, dtype=np.float64))

    @property
    def wy_diff(self) -> np.ndarray | None:
        return self.loss_grads.get("wy_diff")

    @property
    def by_diff(self) -> np.ndarray | None:
        return self.loss_grads.get("by_diff")

    def grads(self) -> dict[str, np.ndarray]:
        """dL/d(every parameter array), by the flat names of ``Model.arrays()``."""
        out = {}
        for n, tr in enumerate(self.layers):
            out.update({layer_prefix(n) + k: tr[f"{k}_diff"] for k in PARAM_NAMES})
        if self.dE is not None:
            out[EMBEDDING] = self.dE
        out.update({LOSS_PREFIX + k[:-len("_diff")]: v for k, v in self.loss_grads.items()})
        return out

    def _named_arrays(self) -> list[np.ndarray]:
        arrays = [self.x, self.y, self.loss, *self.outputs.values(), *self.grads().values(),
                  *self.model.arrays().values()]
        if self.tokens is not None:
            arrays.append(self.tokens)
        for tr in self.layers:
            arrays += [tr[n] for n in STEP_NAMES + GRAD_NAMES]
            arrays += list(tr.params.as_dict().values())
        return arrays

    @property
    def payload_nbytes(self) -> int:
        """Bytes of every named array, each counted in full (what a file stores)."""
        seen, total = set(), 0
        for a in self._named_arrays():
            key = (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)
            if key not in seen:                 # the same array under two names: once
                seen.add(key)
                total += a.nbytes
        return total

    @property
    def nbytes(self) -> int:
        """Bytes of memory the trace holds (views of one buffer counted once)."""
        extra = [tr._dz for tr in self.layers if tr._dz is not None]
        return _distinct_bytes(self._named_arrays() + extra)

    def meta(self) -> dict:
        return {
            "variant": self.variant, "loss": self.model.loss.config(),
            "dtype": self.dtype.name, "steps": self.steps, "inputs": self.inputs,
            "hidden": list(self.model.hiddens), "layers": self.num_layers,
            "vocab": self.model.vocab, "sequence": self.sequence, "batch": self.batch,
        }


def _distinct_bytes(arrays) -> int:
    seen, total = set(), 0
    for a in arrays:
        base = a
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) not in seen:
            seen.add(id(base))
            total += base.nbytes
    return total


def _prepare_model(model: Model, inputs, targets, sequence, dtype, copy: bool = True):
    """The recorded copy of the model in ``dtype`` (the model itself if ``copy`` is false
    and the dtype is its own), tokens or None, layer 0's input x (T, X) and the targets
    y, every problem a one-line ValueError."""
    if not isinstance(model, Model):
        raise ValueError(f"expected a Model, got {type(model).__name__}")
    tokens = model.embedding is not None
    if sequence is not None:
        inputs, targets = select_sequence(inputs, targets, sequence, tokens=tokens)
    else:
        B = batch_size(inputs, tokens)
        if B is not None:
            raise ValueError(f"the inputs hold a batch of {B} sequences {np.shape(inputs)}; "
                             "choose one (sequence=K)")
    dtype = np.dtype(dtype or model.dtype)
    if dtype.name not in DTYPES:
        raise ValueError(f"dtype must be float64 or float32, got {dtype}")
    m = model.astype(dtype) if copy or dtype != model.dtype else model
    ids = None
    if tokens:
        ids = np.array(inputs)
        if ids.ndim != 1 or ids.shape[0] < 1 or ids.dtype.kind not in "iu":
            raise ValueError("a model with an embedding reads token ids, integers of shape "
                             f"(T,) with T >= 1; got {ids.dtype} {ids.shape}")
        if ids.min() < 0 or ids.max() >= m.vocab:
            raise ValueError(f"token ids must lie in [0, {m.vocab}), got {ids.min()} … "
                             f"{ids.max()}")
        assert m.embedding is not None                      # tokens: the model has one
        inputs = m.embedding[ids]                           # x(t) = E[token(t)]
    elif np.ndim(inputs) == 1 and np.asarray(inputs).dtype.kind in "iu":
        raise ValueError("token ids need a model with an embedding (one-hot input: the "
                         "identity as embedding)")
    p0, x, y, loss = _prepare(m.layers[0], inputs, targets, m.loss, dtype)
    m = Model((p0, *m.layers[1:]), m.variant, loss, m.embedding)
    return m, ids, x, y


def _record_layers(m: Model, x: np.ndarray, y: np.ndarray):
    """(layer traces, the loss's output): forward layer by layer, the loss on the top
    layer's h, backward top layer first."""
    passes, below = [], x
    for p in m.layers:                                   # layer l reads layer l-1's h
        passes.append(_forward(p, below, m.variant))
        below = passes[-1].h
    out = m.loss.evaluate(below, y)
    dl_dh = np.ascontiguousarray(out.dl_dh, dtype=m.dtype)   # the loss's share, top layer
    traces: list[Any] = [None] * m.num_layers              # each Trace filled in below
    for n in range(m.num_layers - 1, -1, -1):
        arrays, dz = _backward(passes[n], dl_dh)
        arrays.update(loss=out.loss, dl_dh=dl_dh)
        x_n = x if n == 0 else passes[n - 1].h
        traces[n] = Trace(passes[n].params, x_n, y, arrays, m.variant, m.loss,
                          out.param_grads, dz=dz)
        dl_dh = arrays["dxc"][:, :passes[n].params.inputs]   # what layer n-1 receives
    return traces, out


def embedding_grad(tokens: np.ndarray, dx: np.ndarray, vocab: int) -> np.ndarray:
    """dE (V, X): row v = sum of dx[t] over the steps t whose token is v."""
    dE = np.zeros((vocab, dx.shape[1]), dx.dtype)
    np.add.at(dE, tokens, dx)
    return dE


@single_threaded
def record_model(model: Model, inputs, targets, *, sequence: int | None = None,
                 dtype=None) -> ModelTrace:
    """Forward and backward through time of the whole model; returns a ModelTrace.

    ``inputs``: dense (T, X) or, for a model with an embedding, token ids (T,); with
    ``sequence=K``, a batch (B, T, X) or (B, T) whose sequence K is recorded (targets
    then have B first). ``targets`` as the loss wants them (``losses.py``). ``dtype``
    (float64 or float32) defaults to the model's. With one layer, dense inputs and the
    toy loss, ``layers[0]`` is exactly ``record(params, x, y, variant)``.
    """
    m, tokens, x, y = _prepare_model(model, inputs, targets, sequence, dtype)
    traces, out = _record_layers(m, x, y)
    dE = None
    if tokens is not None:
        dE = embedding_grad(tokens, traces[0].dxc[:, :m.inputs], m.vocab)
    return ModelTrace(m, traces, tokens, x, y, out.loss, out.outputs, out.param_grads, dE,
                      sequence, _batch_of(model, inputs, sequence))


def _batch_of(model: Model, inputs, sequence) -> int | None:
    """B of the batch a recorded sequence came from (None for a single sequence)."""
    return None if sequence is None else batch_size(inputs, model.embedding is not None)


@single_threaded
def model_forward_loss(model: Model, inputs, targets, *, sequence: int | None = None,
                       dtype=None) -> float:
    """L = sum_t l(t) from the forward pass alone (what finite differences need)."""
    m, _, x, y = _prepare_model(model, inputs, targets, sequence, dtype, copy=False)
    below = x
    for p in m.layers:
        below = _forward(p, below, m.variant).h
    return float(np.sum(m.loss.evaluate(below, y).loss, dtype=np.float64))
