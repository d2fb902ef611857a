"""Whole models and their recorded passes as the named arrays and JSON ``meta`` of a file,
both ways (no file is opened here: ``io.py`` reads and writes them).

A parameters file of format 2 holds a ``Model``'s arrays under the flat names of
``Model.arrays()`` (``L0.wg`` … ``L{L-1}.bo``, ``embedding``, ``loss.wy``, ``loss.by``)
and a JSON ``meta`` with the variant, the loss and the sizes. A trace file of format 2
holds a ``ModelTrace``: the model, the input (dense ``x`` or ``tokens``), the targets,
the loss and the read-out's per-step outputs, every layer's per-step arrays and every
gradient. What is a view of another array in memory is stored once and rebuilt as a view
on reading: ``xc`` (``[x, h(t-1)]``), ``bottom_diff_h`` (``dxc[:, X:]``), the lower
layers' ``dl_dh`` (the layer above's ``dxc[:, :X]``), each layer's input (the layer
below's ``h``) and ``x = E[tokens]``. A pass the format-1 trace holds completely (one
layer, dense inputs, the toy loss, not from a batch) is written in format 1, as before.

``model_file`` makes a Model of any file that has one: parameters of format 1 (``wg`` …
``bo``: one layer, variant not stated) or 2, traces of format 1 or 2, training runs.
Every problem is a one-line ``UserError`` naming the file. The formats are documented in
``docs/file-formats.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cell import VARIANTS
from .errors import UserError
from .losses import LOSSES, ToyLoss, make_loss
from .model import EMBEDDING, LOSS_PREFIX, Model, ModelTrace, layer_prefix
from .params import PARAM_NAMES, Params, check_params
from .textsafe import show
from .trace import GRAD_NAMES, STEP_NAMES, Trace, stack_gate_gradients
from .vocab import check_vocab, vocab_array, vocab_of_array, vocab_size

PARAMS_FORMAT = "lstm-viz-params"
PARAMS_VERSION = 2
TRACE_FORMAT = "lstm-viz-trace"
MODEL_TRACE_VERSION = 2
RUN_FORMAT = "lstm-engine-run"              # training.py writes it (``save_run``)
RUN_VERSION = 2
SESSION_FORMAT = "lstm-viz-session"         # the app's File ▸ Save Session
OUTPUT_PREFIX = "out."                      # the read-out's per-step outputs: out.logits …
# What each loss's read-out records per step (``LossOutput.outputs``), (T, K) each.
OUTPUT_NAMES = {"toy": (), "mse": ("y_hat", "dl_dy_hat"),
                "xent": ("logits", "probs", "dl_dlogits")}
# Per-step arrays a format-2 trace does not store: rebuilt as views on reading.
REBUILT = ("xc", "bottom_diff_h", "loss")
VOCAB = "vocab"                             # optional (V,) text: each token id's text


# ---- meta -------------------------------------------------------------------------------

def model_meta(model: Model) -> dict:
    """What a file's ``meta`` says about its model (format 2)."""
    return {"variant": model.variant, "loss": model.loss.config(), "dtype": model.dtype.name,
            "layers": model.num_layers, "inputs": model.inputs,
            "hidden": list(model.hiddens), "vocab": model.vocab, "outputs": model.outputs}


def parse_meta(raw, where) -> dict | None:
    """The JSON object of a file's ``meta`` member (None if the file has none)."""
    if raw is None:
        return None
    if raw.shape != () or raw.dtype.kind != "U":
        raise UserError(f"{where}: 'meta' must be a single JSON string")
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, RecursionError):
        raise UserError(f"{where}: 'meta' is not valid JSON") from None
    if not isinstance(meta, dict):
        raise UserError(f"{where}: 'meta' is not a JSON object")
    return meta


def file_kind(meta: dict | None, where) -> tuple[str, int]:
    """(kind, format version) of a file from its meta: ``parameters``, ``trace``, ``run``
    or ``session``. No meta (or one that is not ours) is a parameters file of format 1."""
    if meta is None:
        return "parameters", 1
    kinds = {PARAMS_FORMAT: ("parameters", PARAMS_VERSION),
             TRACE_FORMAT: ("trace", MODEL_TRACE_VERSION),
             RUN_FORMAT: ("run", RUN_VERSION), SESSION_FORMAT: ("session", None)}
    fmt = meta.get("format")
    if not isinstance(fmt, str) or fmt not in kinds:
        return "parameters", 1                          # extra keys are ignored, as ever
    kind, newest = kinds[fmt]
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserError(f"{where}: 'meta' has no valid format version")
    if newest is not None and version > newest:
        raise UserError(f"{where}: written in {kind} format {version} by a newer lstm-viz; "
                        f"this version reads format {newest}")
    return kind, version


def _int(meta: dict, key: str, where, low: int = 1, none: bool = False):
    value = meta.get(key)
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"{where}: 'meta' lacks a valid {show(key)}")
    return value


# ---- models -----------------------------------------------------------------------------

def params_from_arrays(arrays: dict, what: str) -> Params:
    """A cell's Params from its eight arrays, checked (``params.check_params``)."""
    try:
        check_params(arrays)
    except ValueError as err:
        raise UserError(f"{what}: {err}") from None
    return Params(**{n: np.array(arrays[n]) for n in PARAM_NAMES})


def _loss_of(config, arrays: dict, where):
    """The loss a meta's ``loss`` describes, with the read-out found in ``arrays``."""
    if isinstance(config, str):
        config = {"name": config}
    if not isinstance(config, dict) or config.get("name") not in LOSSES:
        raise UserError(f"{where}: 'meta' has no valid 'loss' (one of {', '.join(LOSSES)})")
    if config["name"] == "toy":
        return ToyLoss()
    params = {}
    for k in ("wy", "by"):
        if LOSS_PREFIX + k not in arrays:
            raise UserError(f"{where}: the {config['name']} loss needs its read-out; "
                            f"{LOSS_PREFIX}{k} is missing")
        params[k] = arrays[LOSS_PREFIX + k]
    try:
        return make_loss(config, params)
    except (ValueError, TypeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise UserError(f"{where}: bad loss description ({first})") from None


def model_from_arrays(arrays: dict, meta: dict, where) -> Model:
    """A Model from a format-2 file's arrays (flat names) and its meta, checked: every
    problem is a UserError starting with ``where``."""
    variant = meta.get("variant")
    if variant not in VARIANTS:
        raise UserError(f"{where}: 'meta' has no valid variant (seed or standard)")
    L = _int(meta, "layers", where)
    X = _int(meta, "inputs", where)
    hidden = meta.get("hidden")
    if not isinstance(hidden, list) or len(hidden) != L or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise UserError(f"{where}: 'meta' lacks a valid 'hidden' (one size per layer)")
    if meta.get("dtype") not in ("float64", "float32"):
        raise UserError(f"{where}: unsupported dtype {show(meta.get('dtype'))}")
    vocab = _int(meta, "vocab", where, none=True)
    layers = []
    for n in range(L):
        pre = layer_prefix(n)
        part = {k: arrays[pre + k] for k in PARAM_NAMES if pre + k in arrays}
        p = params_from_arrays(part, f"{where}: layer {n}")
        want_x = X if n == 0 else hidden[n - 1]
        if p.hidden != hidden[n] or p.inputs != want_x or p.dtype.name != meta["dtype"]:
            raise UserError(f"{where}: layer {n} has X={p.inputs}, H={p.hidden}, {p.dtype}; "
                            f"'meta' says X={want_x}, H={hidden[n]}, {meta['dtype']}")
        layers.append(p)
    loss = _loss_of(meta.get("loss"), arrays, where)
    embedding = None
    if vocab is not None:
        E = arrays.get(EMBEDDING)
        if E is None or E.shape != (vocab, X):
            got = "missing" if E is None else f"shape {E.shape}"
            raise UserError(f"{where}: the embedding must have shape ({vocab}, {X}), got {got}")
        embedding = E
    try:
        model = Model(tuple(layers), variant, loss, embedding)
    except ValueError as err:
        raise UserError(f"{where}: {err}") from None
    if meta.get("outputs", model.outputs) != model.outputs:
        raise UserError(f"{where}: 'meta' says {show(meta.get('outputs'))} outputs, the "
                        f"read-out has {model.outputs}")
    return model


@dataclass(frozen=True)
class ModelFile:
    """A Model read from a file: what kind of file (``parameters``, ``trace``, ``run``),
    its format version, and whether the file says which variant the model is."""

    model: Model
    kind: str
    version: int
    variant_known: bool
    path: str
    vocab: tuple[str, ...] | None = None     # the file's vocabulary (format 2), if any

    def model_for(self, variant: str | None = None, loss: str | None = None,
                  at: str | None = None) -> Model:
        """The model with the command line's choices: ``variant`` (refused if the file
        knows another one; the seed variant if neither says), ``loss`` (toy, mse or xent;
        a read-out loss uses the file's read-out) and ``at`` (every or last step)."""
        m = self.model
        if variant is not None and variant != m.variant:
            if self.variant_known:
                raise UserError(f"{self.path}: the model is the {m.variant} variant; "
                                f"--variant {variant} contradicts it (leave --variant out)")
            m = Model(m.layers, variant, m.loss, m.embedding)
        name = loss if loss is not None else m.loss.name
        if name == "toy":
            if at is not None:
                raise UserError("--at needs a read-out loss (--loss mse or xent); the toy "
                                "loss scores every step")
            return m if m.loss.name == "toy" else Model(m.layers, m.variant, ToyLoss(),
                                                        m.embedding)
        readout = m.loss.params()
        if not readout:
            raise UserError(f"{self.path}: the model has no read-out (loss.wy, loss.by), "
                            f"which the {name} loss needs; import-torch imports one "
                            "(--decoder)")
        at = at if at is not None else getattr(m.loss, "at", "every")
        if name == m.loss.name and at == m.loss.at:
            return m
        return Model(m.layers, m.variant, make_loss({"name": name, "at": at}, readout),
                     m.embedding)


def select_model(kind: str, version: int):
    """The members that hold a file's model (never a trace's recorded arrays)."""
    if version == 1:
        return lambda n: n in PARAM_NAMES or n in (LOSS_PREFIX + "wy", LOSS_PREFIX + "by")
    return lambda n: (n in (EMBEDDING, LOSS_PREFIX + "wy", LOSS_PREFIX + "by", VOCAB)
                      or (n.startswith("L") and n.partition(".")[2] in PARAM_NAMES))


def model_file(arrays: dict, meta: dict | None, kind: str, version: int, path) -> ModelFile:
    """The ModelFile of arrays already read (``file_kind`` gave kind and version)."""
    where = str(path)
    if version >= 2:
        assert meta is not None                      # file_kind read the format from it
        model = model_from_arrays(arrays, meta, where)
        return ModelFile(model, kind, version, True, where, vocab_from_arrays(arrays, model,
                                                                              where))
    params = params_from_arrays(arrays, where)
    variant, loss = None, ToyLoss()
    if kind in ("trace", "run"):                     # they state their variant and loss
        assert meta is not None                      # file_kind read the kind from it
        config = meta if kind == "trace" else meta.get("config")
        variant = config.get("variant") if isinstance(config, dict) else None
        if variant not in VARIANTS:
            raise UserError(f"{where}: 'meta' has no valid variant (seed or standard)")
        loss = _loss_of(meta.get("loss", "toy"), arrays, where)
    known = variant is not None
    try:
        model = Model((params,), variant if variant is not None else "seed", loss)
    except ValueError as err:
        raise UserError(f"{where}: {err}") from None
    return ModelFile(model, kind, version, known, where)


def vocab_from_arrays(arrays: dict, model: Model, where) -> tuple[str, ...] | None:
    """The optional ``vocab`` entry of a format-2 file, checked to have one text per token
    id of ``model`` (``vocab.vocab_size``)."""
    a = arrays.get(VOCAB)
    return None if a is None else vocab_of_array(a, vocab_size(model), str(where))


def params_arrays(model: Model, vocab=None) -> dict[str, np.ndarray]:
    """A parameters file of format 2: the model's arrays, its meta and the vocabulary
    (if given, checked against the model)."""
    meta = {"format": PARAMS_FORMAT, "version": PARAMS_VERSION, **model_meta(model)}
    arrays = {"meta": np.array(json.dumps(meta)), **model.arrays()}
    if vocab is not None:
        arrays[VOCAB] = vocab_array(check_vocab(vocab, vocab_size(model), "the vocabulary"))
    return arrays


# ---- traces -----------------------------------------------------------------------------

def fits_version_1(trace: ModelTrace) -> bool:
    """Whether the format-1 trace holds this pass completely: one layer, dense inputs, the
    toy loss, a single sequence (then the file is what ``record`` always wrote)."""
    return (trace.num_layers == 1 and trace.tokens is None and trace.loss_name == "toy"
            and trace.sequence is None)


def model_trace_arrays(trace: ModelTrace) -> dict[str, np.ndarray]:
    """A format-2 trace file's arrays, each stored once (views are rebuilt on reading)."""
    m = trace.model
    meta = {"format": TRACE_FORMAT, "version": MODEL_TRACE_VERSION, **model_meta(m),
            "steps": trace.steps, "sequence": trace.sequence, "batch": trace.batch}
    arrays = {"meta": np.array(json.dumps(meta)), **m.arrays()}
    if trace.tokens is not None:
        arrays["tokens"] = trace.tokens                  # x = E[tokens] is rebuilt
    else:
        arrays["x"] = trace.x
    arrays.update(y=trace.y, loss=trace.loss)
    arrays.update({OUTPUT_PREFIX + k: v for k, v in trace.outputs.items()})
    top = trace.num_layers - 1
    for n, tr in enumerate(trace.layers):
        pre = layer_prefix(n)
        for name in STEP_NAMES + GRAD_NAMES:
            if name in REBUILT or (name == "dl_dh" and n < top):
                continue                                 # a view of another array
            arrays[pre + name] = tr[name]
    if trace.dE is not None:
        arrays[EMBEDDING + "_diff"] = trace.dE
    arrays.update({LOSS_PREFIX + k: v for k, v in trace.loss_grads.items()})
    if trace.vocab is not None:
        arrays[VOCAB] = vocab_array(trace.vocab)
    return arrays


def model_trace_of(trace: Trace) -> ModelTrace:
    """A single cell's Trace as a one-layer ModelTrace (the read-out's per-step outputs,
    which a format-1 file does not store, computed again from h)."""
    model = Model.single(trace.params, trace.variant, trace.loss_fn)
    outputs = {}
    if trace.loss_fn.params():
        with np.errstate(all="ignore"):
            outputs = trace.loss_fn.evaluate(trace.h, trace.y).outputs
    return ModelTrace(model, [trace], None, trace.x, trace.y, trace.loss, outputs,
                      trace.loss_grads, None, vocab=trace.vocab)


def _recorded(arrays: dict, name: str, shape: tuple, dtype, where) -> np.ndarray:
    a = arrays.get(name)
    if a is None:
        raise UserError(f"{where}: missing recorded array {show(name)}")
    if a.shape != shape:
        raise UserError(f"{where}: {show(name)} has shape {a.shape}, expected {shape}")
    if a.dtype != dtype:
        raise UserError(f"{where}: {show(name)} has dtype {a.dtype}, expected {dtype}")
    return a                     # NaN/Inf allowed: such passes are what one debugs


def model_trace_from_arrays(arrays: dict, meta: dict, where: str) -> ModelTrace:  # noqa: C901, PLR0912, PLR0915 - one check per field of the file, in the file's order; each is a line and an early UserError
    """A ModelTrace from a format-2 trace file's arrays and meta, checked as a trace file
    is (problems are UserErrors starting with ``where``); views rebuilt as recorded."""
    model = model_from_arrays(arrays, meta, where)
    dt, T = model.dtype, _int(meta, "steps", where)
    batch = _int(meta, "batch", where, none=True)
    sequence = _int(meta, "sequence", where, low=0, none=True)
    if (sequence is None) != (batch is None) or (batch is not None and sequence >= batch):
        raise UserError(f"{where}: 'meta' has sequence {show(sequence)} of a batch of "
                        f"{show(batch)}")
    tokens = None
    if model.embedding is not None:
        tokens = arrays.get("tokens")
        if tokens is None or tokens.shape != (T,) or tokens.dtype.kind not in "iu":
            raise UserError(f"{where}: 'tokens' must be integer token ids of shape ({T},)")
        if tokens.min() < 0 or tokens.max() >= model.vocab:
            raise UserError(f"{where}: token ids must lie in [0, {model.vocab})")
        x = model.embedding[tokens]                          # x(t) = E[token(t)]
    else:
        x = arrays.get("x")
        if x is None or x.shape != (T, model.inputs) or x.dtype.kind not in "fiu":
            raise UserError(f"{where}: 'x' must have shape ({T}, {model.inputs})")
        x = x.astype(dt, copy=False)
    y = arrays.get("y")
    if y is None:
        raise UserError(f"{where}: no targets 'y'")
    for name, a in (("x", x), ("y", y)):
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise UserError(f"{where}: '{name}' contains NaN or Inf")
    try:
        model.loss.check_targets(y, T)
    except ValueError as err:
        raise UserError(f"{where}: {err}") from None
    loss = _recorded(arrays, "loss", (T,), dt, where)
    K = model.outputs
    outputs = {k: _recorded(arrays, OUTPUT_PREFIX + k, (T, K), dt, where)
               for k in OUTPUT_NAMES[model.loss_name]}
    loss_grads = {f"{k}_diff": _recorded(arrays, f"{LOSS_PREFIX}{k}_diff", v.shape, dt, where)
                  for k, v in model.loss.params().items()}
    dE = None
    if model.embedding is not None:
        dE = _recorded(arrays, EMBEDDING + "_diff", model.embedding.shape, dt, where)

    # Bottom-up: each layer's input is the h of the layer below; its xc = [x, h(t-1)] and
    # h share one buffer, as the recorder's do.
    per_layer, below = [], x
    for n, p in enumerate(model.layers):
        pre, X, H = layer_prefix(n), p.inputs, p.hidden
        rec = {}
        for name in STEP_NAMES:
            if name in REBUILT or (name == "dl_dh" and n < model.num_layers - 1):
                continue
            shape = (T, X + H) if name == "dxc" else (T, H)
            rec[name] = _recorded(arrays, pre + name, shape, dt, where)
        for name in GRAD_NAMES:
            rec[name] = _recorded(arrays, pre + name, getattr(p, name[:-5]).shape, dt, where)
        xc_buf = np.empty((T + 1, X + H), dt)
        xc_buf[:T, :X] = below
        xc_buf[T, :X] = 0.0
        xc_buf[0, X:] = 0.0
        xc_buf[1:, X:] = rec["h"]
        rec.update(xc=xc_buf[:T], h=xc_buf[1:, X:], bottom_diff_h=rec["dxc"][:, X:],
                   loss=loss)
        per_layer.append((p, below, rec))
        below = rec["h"]
    traces: list[Any] = [None] * model.num_layers          # each Trace filled in below
    for n in range(model.num_layers - 1, -1, -1):          # dl_dh: what the layer above sent
        p, x_n, rec = per_layer[n]
        if n < model.num_layers - 1:
            rec["dl_dh"] = per_layer[n + 1][2]["dxc"][:, :model.layers[n + 1].inputs]
        traces[n] = Trace(p, x_n, y, rec, model.variant, model.loss, loss_grads,
                          dz=stack_gate_gradients(rec))
    return ModelTrace(model, traces, tokens, x, y, loss, outputs, loss_grads, dE, sequence,
                      batch, vocab_from_arrays(arrays, model, where))
