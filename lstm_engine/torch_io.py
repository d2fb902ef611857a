"""PyTorch models in and out of the engine: ``nn.Embedding`` → ``nn.LSTM`` (any number of
layers) → ``nn.Linear``, as the ``standard`` variant.

PyTorch stacks the four gates in the order i, f, g, o (H rows each) and keeps the input
and recurrent weights apart, with a bias on each side::

    gates = W_ih x + b_ih + W_hh h_prev + b_hh         W_ih (4H, X), W_hh (4H, H)

The engine's gate k acts on ``xc = [x, h_prev]``, so for k in (i, f, g, o) with rows
``r = k*H … (k+1)*H`` of layer l's ``weight_ih_l{l}``, ``weight_hh_l{l}``, … ::

    wk = [W_ih[r] | W_hh[r]]        bk = b_ih[r] + b_hh[r]

Export writes ``bias_ih = bk`` and ``bias_hh = 0``: the same function, since only the sum
of the two biases ever matters. The embedding's ``weight`` (V, X) is the engine's
embedding; the decoder's ``weight`` (K, H) and ``bias`` (K,) are the read-out's ``wy``
and ``by``.

Files: a ``.pt`` state dict (needs torch, an optional extra) or an ``.npz`` with the same
key names (always available). A file is never trusted: every value the import uses is
checked (a tensor, dense, not quantized, floating point, the right shape, a declared
size that fits in memory) before any of it is materialised, and every problem is a
one-line ``UserError`` naming the file and the key.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import UserError
from .losses import READOUT_AT, ReadoutCrossEntropy, ReadoutMSE, ToyLoss
from .params import Params

TORCH_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
TORCH_GATES = ("i", "f", "g", "o")

# A key of an nn.LSTM's state dict, alone or under a module prefix: "lstm.weight_ih_l0",
# "weight_hh_l1_reverse", "weight_hr_l0" (a projection). Other keys are not the LSTM's.
_LSTM_KEY = re.compile(r"(?:(?P<prefix>.+)\.)?(?P<name>weight_ih|weight_hh|bias_ih|bias_hh"
                       r"|weight_hr)_l(?P<layer>\d+)(?P<reverse>_reverse)?")
# Any dtype but Python objects (refused anyway): the LSTM's own arrays are checked to be
# floating point, with the same message for an .npz and a .pt.
_ANY_KIND = "biufcmMSUV"

# The usual module names of an embedding and of a decoder (the last part of the key's
# prefix); names containing "emb" / "decod" count too. Otherwise they are found by shape.
EMBEDDING_NAMES = {"embedding", "embeddings", "embed", "emb", "encoder", "embed_tokens",
                   "word_embeddings", "wte", "tok_embeddings", "token_embedding", "lookup"}
DECODER_NAMES = {"decoder", "fc", "linear", "head", "lm_head", "out", "output",
                 "output_layer", "classifier", "proj", "projection", "readout", "fc_out",
                 "dense", "logits"}
# The keys under which training scripts usually nest a model's state dict in a checkpoint.
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")
# Default module names of an exported model.
EXPORT_PREFIXES = {"lstm": "lstm", "embedding": "embedding", "decoder": "decoder"}


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ---- values of a state dict, looked at before they are materialised ----------------------

@dataclass(frozen=True)
class _Value:
    """What a state-dict value declares: shape, dtype kind, and what is wrong with it as a
    dense array (None if nothing)."""

    shape: tuple
    kind: str
    numel: int
    problem: str | None = None


def _describe(value) -> _Value:
    if isinstance(value, np.ndarray):
        return _Value(value.shape, value.dtype.kind, value.size)
    layout = getattr(value, "layout", None)
    if layout is not None and hasattr(value, "detach"):                    # a torch tensor
        shape = tuple(value.shape)
        numel = int(np.prod(shape, dtype=np.float64))
        if getattr(value, "is_quantized", False):
            return _Value(shape, "q", numel, "is a quantized tensor; save it dequantized "
                                             "(tensor.dequantize())")
        if str(layout) != "torch.strided":
            return _Value(shape, "s", numel, f"is a sparse tensor ({str(layout)[6:]}); save "
                                             "it dense (tensor.to_dense())")
        if getattr(value, "is_meta", False):
            return _Value(shape, "m", numel, "is a meta tensor and holds no values")
        stored = value.untyped_storage().nbytes()
        if numel * value.element_size() > stored:       # a stride-0 (expanded) view
            return _Value(shape, "x", numel, f"declares {numel} values in {stored} bytes "
                                             "(an expanded view); save it with .contiguous()")
        dt = value.dtype
        kind = ("c" if dt.is_complex else "f" if dt.is_floating_point
                else "b" if str(dt) == "torch.bool" else "i")
        return _Value(shape, kind, numel)
    return _Value((), "O", 0, f"is a {type(value).__name__}, not a tensor")


def _materialise(value) -> np.ndarray:
    """A checked value as float64, or float32 if it is float32."""
    detach = getattr(value, "detach", None)
    if detach is not None:
        value = detach().cpu()
        # float16 and bfloat16 (which numpy lacks) become float64
        if str(value.dtype) != "torch.float32":
            value = value.double()
        value = value.numpy()
    a = np.asarray(value)
    return a.astype(np.float32 if a.dtype == np.float32 else np.float64, copy=False)


class _State:
    """A state dict whose values are checked on the way out: ``what`` names it in errors."""

    def __init__(self, state: Mapping, what: str):
        self.state, self.what = state, what
        self.info = {k: _describe(v) for k, v in state.items() if isinstance(k, str)}

    def fail(self, message: str):
        raise UserError(f"{self.what}: {message}")

    def check(self, key: str, shape: tuple | None = None, label: str | None = None) -> _Value:
        """The key's value must be a dense floating-point tensor (of ``shape``); errors
        call it ``label`` (default: the key)."""
        v = self.info[key]
        label = label or key
        if v.problem:
            self.fail(f"{label} {v.problem}")
        if v.kind != "f":
            names = {"i": "integer", "u": "integer", "b": "bool", "c": "complex"}
            dtype = getattr(self.state[key], "dtype", names.get(v.kind, v.kind))
            self.fail(f"{label} has dtype {str(dtype).replace('torch.', '')}, expected "
                      "floating point")
        if shape is not None and v.shape != shape:
            self.fail(f"{label} must have shape {shape}, got {v.shape}")
        return v

    def arrays(self, keys) -> dict[str, np.ndarray]:
        """The values of ``keys`` as arrays, after checking that they fit in memory."""
        from .io import memory_limit

        declared = sum(self.info[k].numel for k in keys) * 8
        if declared > memory_limit():
            self.fail(f"its tensors declare {declared / 2**30:.1f} GiB, which would not fit "
                      "in memory")
        out = {}
        for k in keys:
            try:
                out[k] = _materialise(self.state[k])
            except (TypeError, ValueError, RuntimeError) as err:
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                self.fail(f"{k} cannot be read as an array ({first})")
            if not np.all(np.isfinite(out[k])):
                self.fail(f"{k} contains NaN or Inf")
        return out


# ---- the single-layer import of version 1 -----------------------------------------------

def params_from_torch(state: Mapping, what: str = "state dict") -> Params:
    """The engine's Params from the four arrays of a single-layer ``nn.LSTM``."""
    st = _State(state, what)
    keys = _select_keys(st)
    w_ih, w_hh, b_ih, b_hh = (st.check(keys[k], label=k) for k in TORCH_KEYS)
    if len(w_hh.shape) != 2 or w_hh.shape[0] != 4 * w_hh.shape[1] or w_hh.shape[1] < 1:
        st.fail(f"weight_hh_l0 must have shape (4H, H), got {w_hh.shape}")
    H = w_hh.shape[1]
    if len(w_ih.shape) != 2 or w_ih.shape[0] != 4 * H or w_ih.shape[1] < 1:
        st.fail(f"weight_ih_l0 must have shape ({4 * H}, X), got {w_ih.shape}")
    for key, b in (("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
        if b.shape != (4 * H,):
            st.fail(f"{key} must have shape ({4 * H},), got {b.shape}")
    a = st.arrays([keys[k] for k in TORCH_KEYS])
    layer = _layer_params([a[keys[k]] for k in TORCH_KEYS], _common_dtype(a.values()))
    try:
        return Params(**layer)
    except ValueError as err:
        raise UserError(f"{what}: {err}") from None


def _select_keys(st: _State) -> dict[str, str]:
    """The keys of the four arrays, found by exact name or as the one ``<prefix>.<name>``
    of a larger model's state dict; anything that is not a single-layer, one-way LSTM is
    refused."""
    lstm = {n: m for n in st.info if (m := _LSTM_KEY.fullmatch(n))}
    for test, meaning in ((lambda m: int(m["layer"]) != 0, "more than one layer"),
                          (lambda m: m["reverse"], "bidirectional"),
                          (lambda m: m["name"] == "weight_hr", "a projection (proj_size > 0)")):
        if any(test(m) for m in lstm.values()):
            st.fail(f"the LSTM is {meaning}; only a single-layer, one-directional nn.LSTM "
                    "can be imported")
    out = {}
    for key in TORCH_KEYS:
        hits = [n for n in lstm if n == key or n.endswith("." + key)]
        if not hits:
            st.fail(f"no {key} (expected the state dict of a single-layer nn.LSTM)")
        if len(hits) > 1:
            st.fail(f"several LSTMs ({', '.join(hits)}); save the one to import")
        out[key] = hits[0]
    return out


def _common_dtype(arrays) -> type:
    return np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64


def _layer_params(arrays, dtype) -> dict[str, np.ndarray]:
    """The engine's eight arrays from (W_ih, W_hh, b_ih or None, b_hh or None)."""
    w_ih, w_hh, b_ih, b_hh = arrays
    H = w_hh.shape[1]
    out = {}
    for k, gate in enumerate(TORCH_GATES):
        rows = slice(k * H, (k + 1) * H)
        out[f"w{gate}"] = np.hstack([w_ih[rows], w_hh[rows]]).astype(dtype)
        b = np.zeros(H)
        for part in (b_ih, b_hh):
            if part is not None:
                b = b + part[rows].astype(np.float64)
        out[f"b{gate}"] = b.astype(dtype)
    return out


def params_to_torch(params: Params, layer: int = 0) -> dict[str, np.ndarray]:
    """The four ``nn.LSTM`` arrays (gate order i, f, g, o) of one layer's Params."""
    X = params.inputs
    w = np.vstack([getattr(params, f"w{g}") for g in TORCH_GATES])      # (4H, X+H)
    b = np.concatenate([getattr(params, f"b{g}") for g in TORCH_GATES])
    return {f"weight_ih_l{layer}": np.ascontiguousarray(w[:, :X]),
            f"weight_hh_l{layer}": np.ascontiguousarray(w[:, X:]),
            f"bias_ih_l{layer}": b.copy(), f"bias_hh_l{layer}": np.zeros_like(b)}


# ---- whole models -----------------------------------------------------------------------

@dataclass
class ImportReport:
    """What an import did: ``used`` maps each key read to what it became; ``ignored``
    lists the other keys (with a reason where one is known); ``notes`` says anything
    else worth knowing (a checkpoint's nested state dict, a decoder left out)."""

    used: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        out = [f"  {k} -> {v}" for k, v in self.used.items()]
        out += [f"  {k}: ignored{f' ({why})' if why else ''}" for k, why in self.ignored.items()]
        out += [f"  note: {n}" for n in self.notes]
        return out


def _unwrap_checkpoint(state: Mapping, report: ImportReport, what: str) -> Mapping:
    """A training checkpoint's nested model state dict, if the top level has no LSTM."""
    if any(isinstance(k, str) and _LSTM_KEY.fullmatch(k) for k in state):
        return state
    nested = [k for k in CHECKPOINT_KEYS if isinstance(state.get(k), Mapping)
              and any(isinstance(n, str) and _LSTM_KEY.fullmatch(n) for n in state[k])]
    if len(nested) == 1:
        report.notes.append(f"the model's state dict is the checkpoint's {nested[0]!r}")
        for k in state:
            if k != nested[0]:
                report.ignored[str(k)] = "outside the model's state dict"
        return state[nested[0]]
    return state


def model_from_torch_state(state: Mapping, *, lstm_prefix: str | None = None,  # noqa: C901, PLR0912, PLR0915 - the import's steps in order (find, check shapes, convert, report), each raising its own UserError
                           embedding_key: str | None = None, decoder_key: str | None = None,
                           loss: str | None = None, at: str = "every",
                           dtype: str | None = "float64", what: str = "state dict"):
    """A Model (variant ``standard``) and an ImportReport from a whole model's state dict.

    The ``nn.LSTM`` (any ``num_layers``; not bidirectional, no ``proj_size``; ``bias``
    either way) is found by its key names, under any prefix; ``lstm_prefix`` names it
    when there are several. The embedding (an ``nn.Embedding``'s ``weight``, (V, X)) and
    the decoder (an ``nn.Linear``'s ``weight`` (K, H) and ``bias``) are found by their
    usual module names, else by shape; ``embedding_key`` / ``decoder_key`` name the
    weight's key when that is ambiguous, and "" means "there is none". ``loss`` is
    "xent" (the default with a decoder), "mse", or "toy" (the default without one; a
    decoder is then ignored); ``at`` is "every" or "last". ``dtype``: the model's,
    float64 by default (float32 weights widen exactly, and the sums b_ih + b_hh of
    float32 biases are exact in float64 but not in float32: a float32 model records
    PyTorch's float64 loss to about 1e-9 only); None keeps float32 if every tensor
    used is float32.
    """
    from .model import Model

    if not isinstance(state, Mapping):
        raise UserError(f"{what}: expected a state dict, got {type(state).__name__}")
    report = ImportReport()
    st = _State(_unwrap_checkpoint(state, report, what), what)
    prefix, layers = _find_lstm(st, lstm_prefix)
    shapes = _check_lstm(st, layers)
    X0, H_top = shapes[0][1], shapes[-1][0]
    emb_w, dec_w, dec_b = _find_embedding_and_decoder(st, set().union(*layers), X0, H_top,
                                                      embedding_key, decoder_key)
    loss = loss if loss is not None else ("xent" if dec_w else "toy")
    if loss not in ("toy", "mse", "xent"):
        st.fail(f"unknown loss {loss!r}; choose toy, mse or xent")
    if at not in READOUT_AT:
        st.fail(f"unknown loss position {at!r}; choose every or last")
    if loss != "toy" and not dec_w:
        st.fail(f"the {loss} loss needs a decoder (an nn.Linear on the top layer's h, weight "
                f"(K, {H_top})) and none was found; name it with decoder_key")
    if loss == "toy" and dec_w:
        report.notes.append(f"the decoder {dec_w} is not used by the toy loss")
        dec_w = dec_b = None

    used = [k for keys in layers for k in keys if k] + [k for k in (emb_w, dec_w, dec_b) if k]
    a = st.arrays(used)
    if dtype is None:
        dtype = np.dtype(_common_dtype(a.values())).name     # its name, as given
    elif np.dtype(dtype).name not in ("float64", "float32"):
        st.fail(f"dtype must be float64 or float32, got {dtype}")
    cells = []
    for n, keys in enumerate(layers):
        arrays = [a[k] if k else None for k in keys]
        cells.append(Params(**_layer_params(arrays, dtype)))
        w_ih, w_hh, b_ih, b_hh = keys
        report.used[w_ih] = f"L{n}.wi wf wg wo, input columns (gates i f g o)"
        report.used[w_hh] = f"L{n}.wi wf wg wo, recurrent columns (gates i f g o)"
        if b_ih:
            report.used[b_ih] = f"L{n}.bi bf bg bo (summed with {b_hh})"
            report.used[b_hh] = f"L{n}.bi bf bg bo (summed with {b_ih})"
        else:
            report.notes.append(f"layer {n} has no biases (bias=False): bi bf bg bo are 0")
    embedding = None
    if emb_w:
        embedding = a[emb_w].astype(dtype)
        report.used[emb_w] = f"embedding ({embedding.shape[0]}×{embedding.shape[1]})"
    loss_fn: ToyLoss | ReadoutMSE | ReadoutCrossEntropy = ToyLoss()
    if dec_w:
        wy = a[dec_w].astype(dtype)
        by = a[dec_b].astype(dtype) if dec_b else np.zeros(wy.shape[0], dtype)
        loss_fn = (ReadoutCrossEntropy if loss == "xent" else ReadoutMSE)(wy, by, at)
        where = "every step" if at == "every" else "the last step"
        report.used[dec_w] = f"loss.wy (read-out, {loss} at {where})"
        if dec_b:
            report.used[dec_b] = "loss.by"
        else:
            report.notes.append(f"the decoder {dec_w} has no bias: by is 0")
    for k in st.state:
        if k not in report.used and str(k) not in report.ignored:
            why = st.info[k].problem if isinstance(k, str) else "not a string key"
            report.ignored[str(k)] = why or ""
    try:
        model = Model(tuple(cells), "standard", loss_fn, embedding)
    except ValueError as err:
        raise UserError(f"{what}: {err}") from None
    return model, report


def _find_lstm(st: _State, lstm_prefix: str | None):  # noqa: C901, PLR0912 - each branch is one way a state dict can fail to hold a usable nn.LSTM, with its own message
    """(prefix, per layer (weight_ih, weight_hh, bias_ih or None, bias_hh or None) keys)."""
    found: dict[str, dict] = {}
    for key in st.info:
        m = _LSTM_KEY.fullmatch(key)
        if m:
            found.setdefault(m["prefix"] or "", {})[key] = m
    if not found:
        st.fail("no nn.LSTM weights (weight_ih_l0, weight_hh_l0, …) in it")
    if lstm_prefix is not None:
        if lstm_prefix.rstrip(".") not in found:
            st.fail(f"no nn.LSTM under {lstm_prefix!r}; it has "
                    f"{', '.join(repr(p) for p in found)}")
        prefix = lstm_prefix.rstrip(".")
    elif len(found) > 1:
        st.fail(f"several LSTMs ({', '.join(repr(p) for p in found)}); name the one to "
                "import (lstm_prefix)")
    else:
        prefix = next(iter(found))
    keys = found[prefix]
    where = f"the LSTM {prefix!r}" if prefix else "the LSTM"
    if any(m["reverse"] for m in keys.values()):
        st.fail(f"{where} is bidirectional; only one-directional nn.LSTMs (without proj_size) "
                "can be imported")
    if any(m["name"] == "weight_hr" for m in keys.values()):
        st.fail(f"{where} is projected (proj_size > 0); only nn.LSTMs without proj_size "
                "(and one-directional) can be imported")
    base = f"{prefix}." if prefix else ""
    numbers = sorted({int(m["layer"]) for m in keys.values()})
    if numbers != list(range(len(numbers))):
        st.fail(f"{where} has layers {numbers}; expected 0 … {len(numbers) - 1}")
    layers = []
    for n in numbers:
        names: list[str | None] = [f"{base}{k}_l{n}"
                                   for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        for name in names[:2]:
            if name not in keys:
                st.fail(f"no {name} ({where} has other arrays of layer {n})")
        if (names[2] in keys) != (names[3] in keys):
            have, miss = (names[2], names[3]) if names[2] in keys else (names[3], names[2])
            st.fail(f"{have} without {miss}")
        if names[2] not in keys:
            names[2] = names[3] = None
        layers.append(tuple(names))
    return prefix, layers


def _check_lstm(st: _State, layers) -> list[tuple[int, int]]:
    """(H, X) of every layer, checked from the declared shapes (nothing materialised)."""
    shapes: list[tuple[int, int]] = []
    for w_ih, w_hh, b_ih, b_hh in layers:
        hh = st.check(w_hh).shape
        if len(hh) != 2 or hh[1] < 1 or hh[0] != 4 * hh[1]:
            st.fail(f"{w_hh} must have shape (4H, H), got {hh}")
        H = hh[1]
        ih = st.check(w_ih).shape
        X = shapes[-1][0] if shapes else None
        if len(ih) != 2 or ih[0] != 4 * H or ih[1] < 1 or (X is not None and ih[1] != X):
            want = f"({4 * H}, {X})" if X is not None else f"({4 * H}, X)"
            st.fail(f"{w_ih} must have shape {want}, got {ih}")
        for b in (b_ih, b_hh):
            if b:
                st.check(b, (4 * H,))
        shapes.append((H, ih[1]))
    return shapes


def _module(key: str) -> str:
    """The last part of a key's module path: "model.embed.weight" -> "embed"."""
    parts = key.split(".")
    return parts[-2] if len(parts) >= 2 else ""


def _find_embedding_and_decoder(st: _State, lstm_keys: set, X0: int, H_top: int,  # noqa: C901 - the explicit-key and the guessing paths for two optional tensors, each with its message
                                embedding_key: str | None, decoder_key: str | None):
    """(embedding weight key, decoder weight key, decoder bias key), each or None."""
    def usable(k):
        v = st.info[k]
        return v.problem is None and v.kind == "f" and len(v.shape) == 2

    def bias_of(k):
        b = k[:-len("weight")] + "bias"
        return b if b in st.info else None

    weights = [k for k in st.info if k.endswith("weight") and k not in lstm_keys and usable(k)]
    emb_shape = [k for k in weights if st.info[k].shape[1] == X0 and bias_of(k) is None]
    dec_shape = [k for k in weights if st.info[k].shape[1] == H_top and (
        bias_of(k) is None or st.info[bias_of(k)].shape == (st.info[k].shape[0],))]
    emb_named = [k for k in emb_shape if _module(k) in EMBEDDING_NAMES or "emb" in _module(k)]
    dec_named = [k for k in dec_shape if _module(k) in DECODER_NAMES or "decod" in _module(k)]

    def choose(given, role, param, named, by_shape, want):
        if given == "":
            return None
        if given is not None:
            if given not in st.info:
                st.fail(f"no key {given!r} for the {role} ({param})")
            v = st.check(given)
            if len(v.shape) != 2 or v.shape[1] != want:
                st.fail(f"{given} has shape {v.shape}; the {role} needs (N, {want})")
            return given
        for group in (named, by_shape):
            if len(group) == 1:
                return group[0]
            if len(group) > 1:
                st.fail(f"several candidates for the {role} ({', '.join(group)}); name one "
                        f"with {param}")
        return None

    dec = choose(decoder_key, "decoder", "decoder_key", dec_named, [], H_top)
    emb = choose(embedding_key, "embedding", "embedding_key", emb_named,
                 [k for k in emb_shape if k != dec], X0)
    if dec is None and decoder_key is None:
        dec = choose(None, "decoder", "decoder_key", [],
                     [k for k in dec_shape if k != emb], H_top)
    if emb is not None and emb == dec:
        st.fail(f"{emb} cannot be both the embedding and the decoder; name them with "
                "embedding_key and decoder_key")
    dec_b = None
    if dec is not None and bias_of(dec) is not None:
        dec_b = bias_of(dec)
        st.check(dec_b, (st.info[dec].shape[0],))
    return emb, dec, dec_b


def model_from_torch_modules(lstm, embedding=None, decoder=None, loss: str | None = None,
                             at: str = "every", dtype: str | None = "float64"):
    """A Model from the modules of a training script: an ``nn.LSTM``, optionally an
    ``nn.Embedding`` and an ``nn.Linear`` decoder (each anything with the same
    parameters). ``loss`` defaults to "xent" with a decoder, "toy" without; ``dtype``
    as for ``model_from_torch_state``."""
    if getattr(lstm, "bidirectional", False):
        raise UserError("the nn.LSTM is bidirectional; only one-directional nn.LSTMs "
                        "(without proj_size) can be imported")
    if getattr(lstm, "proj_size", 0):
        raise UserError("the nn.LSTM is projected (proj_size > 0); only nn.LSTMs without "
                        "proj_size (and one-directional) can be imported")
    state = {f"lstm.{k}": v for k, v in lstm.state_dict().items()}
    emb_key = dec_key = ""
    if embedding is not None:
        emb_key = "embedding.weight"
        state[emb_key] = embedding.weight
    if decoder is not None:
        dec_key = "decoder.weight"
        state[dec_key] = decoder.weight
        if getattr(decoder, "bias", None) is not None:
            state["decoder.bias"] = decoder.bias
    model, _ = model_from_torch_state(state, lstm_prefix="lstm", embedding_key=emb_key,
                                      decoder_key=dec_key, loss=loss, at=at, dtype=dtype,
                                      what="PyTorch modules")
    return model


def model_to_torch_state(model, lstm: str = "lstm", embedding: str = "embedding",
                         decoder: str = "decoder") -> dict[str, np.ndarray]:
    """The state dict of ``nn.Embedding(V, X)`` → ``nn.LSTM(X, H, num_layers=L)`` →
    ``nn.Linear(H, K)`` under the module names given: ``lstm.weight_ih_l0`` …,
    ``embedding.weight``, ``decoder.weight``, ``decoder.bias`` (those of the parts the
    model has); ``lstm=""`` gives the nn.LSTM's own keys (``weight_ih_l0`` …), what
    ``nn.LSTM.load_state_dict`` takes. Refused in one line for what one nn.LSTM cannot
    compute: the seed variant (no tanh on s), or layers of different widths."""
    if model.variant != "standard":
        raise UserError(f"the model's variant is {model.variant}; PyTorch's nn.LSTM computes "
                        "the standard variant (h = o*tanh(s))")
    if len(set(model.hiddens)) > 1:
        raise UserError(f"the layers have different widths {model.hiddens}; one nn.LSTM has "
                        "one hidden_size")
    out = {}
    for n, p in enumerate(model.layers):
        out.update({f"{lstm}.{k}" if lstm else k: v for k, v in params_to_torch(p, n).items()})
    if model.embedding is not None:
        out[f"{embedding}.weight"] = np.array(model.embedding)
    params = model.loss.params()
    if "wy" in params:
        out[f"{decoder}.weight"] = np.array(params["wy"])
        out[f"{decoder}.bias"] = np.array(params["by"])
    return out


# ---- files ------------------------------------------------------------------------------

def _read_state(path: Path, select=None) -> Mapping:
    """The state dict of a ``.pt`` (torch needed; memory-mapped, tensors only) or an
    ``.npz`` (only the members ``select(name)`` picks are read)."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from .io import read_npz
        return read_npz(path, default_kinds=_ANY_KIND, select=select)
    if suffix in (".pt", ".pth"):
        from .io import check_archive_expansion, open_regular
        torch = _require_torch(path)
        # The file torch reads is the one checked: opened here (a FIFO or a device is
        # refused, never waited on), its zip members budgeted like an .npz's, and torch
        # given this descriptor, not the name, which may point elsewhere by now.
        with open_regular(path) as fp:
            if zipfile.is_zipfile(fp):     # torch.save's format; an old-style pickle is as
                check_archive_expansion(fp, path)  # large in memory as it is on disk
            fp.seek(0)
            try:
                state = _torch_load(torch, fp)
            except Exception as err:                        # torch raises many kinds
                raise UserError(f"{path}: cannot load ({_load_problem(err)})") from None
        if not isinstance(state, Mapping):
            raise UserError(f"{path}: expected a state dict, got {type(state).__name__}")
        return state
    raise UserError(f"{path}: expected a .pt state dict or an .npz with torch's key names")


def _torch_load(torch, fp):
    """``torch.load`` of the open file ``fp``, tensors only. Memory-mapped where the
    descriptor has a name torch can map (Linux's /proc/self/fd), so storages stay on disk
    until a tensor the import uses is read; read from ``fp`` otherwise. Torch's warnings
    about what a file holds (an odd pickle protocol in a damaged file) are not the user's
    to read: the file either loads or is refused in one line."""
    fd_path = Path(f"/proc/self/fd/{fp.fileno()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fd_path.exists():
            try:
                return torch.load(str(fd_path), map_location="cpu", weights_only=True,
                                  mmap=True)
            except RuntimeError as err:
                if "mmap" not in str(err):
                    raise
        fp.seek(0)
        return torch.load(fp, map_location="cpu", weights_only=True)


def _load_problem(err: Exception) -> str:
    """One line on why torch.load(weights_only=True) refused a file."""
    text = str(err)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return (f"it holds Python objects ({found[1]}), not only tensors; save "
                "model.state_dict()")
    if "Weights only load failed" in text:
        return "damaged, or not a file torch.save wrote"
    return (text.strip().splitlines() or [type(err).__name__])[0]


def load_torch(path) -> Params:
    """Params from a ``.pt`` state dict (torch needed) or an ``.npz`` with the torch keys,
    of a single-layer ``nn.LSTM``."""
    path = Path(path)
    # Only the LSTM's keys are read from an .npz; the rest of a model is never decompressed.
    state = _read_state(path, select=lambda name: _LSTM_KEY.fullmatch(name) is not None)
    return params_from_torch(state, str(path))


def load_torch_model(path, **options):
    """(Model, ImportReport) from a whole model's ``.pt`` state dict (or a training
    checkpoint holding one) or ``.npz``; ``options`` as for ``model_from_torch_state``."""
    path = Path(path)
    state = _read_state(path, select=lambda name: name.endswith(("weight", "bias"))
                        or _LSTM_KEY.fullmatch(name) is not None)
    return model_from_torch_state(state, what=str(path), **options)


def save_torch(path, params: Params) -> None:
    """Write the ``nn.LSTM`` arrays to a ``.pt`` state dict (torch needed) or an ``.npz``."""
    _save_state(Path(path), params_to_torch(params))


def save_torch_model(path, model, **names) -> None:
    """Write ``model_to_torch_state(model, **names)`` to a ``.pt`` (torch needed) or ``.npz``."""
    _save_state(Path(path), model_to_torch_state(model, **names))


def _save_state(path: Path, arrays: dict) -> None:
    from .io import atomic_write, save_npz_atomic

    suffix = path.suffix.lower()
    if suffix == ".npz":
        save_npz_atomic(path, arrays)
        return
    if suffix not in (".pt", ".pth"):
        raise UserError(f"{path}: choose a .pt or .npz file name")
    torch = _require_torch(path)
    with atomic_write(path) as fp:
        torch.save({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, fp)


def _require_torch(path):
    try:
        import torch
    except ImportError:
        raise UserError(f"{path}: reading or writing .pt files needs PyTorch "
                        "(pip install 'lstm-viz[torch]'); use an .npz with the same keys "
                        "instead") from None
    return torch
