"""Weights of a single-layer ``torch.nn.LSTM`` in and out of the ``standard`` variant.

PyTorch stacks the four gates in the order i, f, g, o (H rows each) and keeps the input
and recurrent weights apart, with a bias on each side::

    gates = W_ih x + b_ih + W_hh h_prev + b_hh         W_ih (4H, X), W_hh (4H, H)

The engine's gate k acts on ``xc = [x, h_prev]``, so for k in (i, f, g, o) with rows
``r = k*H … (k+1)*H``::

    wk = [W_ih[r] | W_hh[r]]        bk = b_ih[r] + b_hh[r]

Export writes ``bias_ih = bk`` and ``bias_hh = 0``: the same function, since only the sum
of the two biases ever matters. Files: a ``.pt`` state dict (needs torch, an optional
extra) or an ``.npz`` with the same four key names (always available).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import UserError
from .params import Params

TORCH_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
TORCH_GATES = ("i", "f", "g", "o")

# A key of an nn.LSTM's state dict, alone or under a module prefix: "lstm.weight_ih_l0",
# "weight_hh_l1_reverse", "weight_hr_l0" (a projection). Other keys are not the LSTM's.
_LSTM_KEY = re.compile(r"(?:(?P<prefix>.+)\.)?(?P<name>weight_ih|weight_hh|bias_ih|bias_hh"
                       r"|weight_hr)_l(?P<layer>\d+)(?P<reverse>_reverse)?")
# Any dtype but Python objects (refused anyway): the LSTM's own arrays are checked to be
# floating point by ``_select_keys``, with the same message for an .npz and a .pt.
_ANY_KIND = "biufcmMSUV"


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def params_from_torch(state: Mapping, what: str = "state dict") -> Params:
    """The engine's Params from the four arrays of a single-layer ``nn.LSTM``."""
    a = _select_keys(state, what)
    w_ih, w_hh, b_ih, b_hh = (a[k] for k in TORCH_KEYS)
    if w_hh.ndim != 2 or w_hh.shape[0] != 4 * w_hh.shape[1] or w_hh.shape[1] < 1:
        raise UserError(f"{what}: weight_hh_l0 must have shape (4H, H), got {w_hh.shape}")
    H = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != 4 * H or w_ih.shape[1] < 1:
        raise UserError(f"{what}: weight_ih_l0 must have shape ({4 * H}, X), got {w_ih.shape}")
    for key, b in (("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
        if b.shape != (4 * H,):
            raise UserError(f"{what}: {key} must have shape ({4 * H},), got {b.shape}")
    dtype = np.float32 if all(x.dtype == np.float32 for x in a.values()) else np.float64
    arrays = {}
    for k, gate in enumerate(TORCH_GATES):
        rows = slice(k * H, (k + 1) * H)
        arrays[f"w{gate}"] = np.hstack([w_ih[rows], w_hh[rows]]).astype(dtype)
        arrays[f"b{gate}"] = (b_ih[rows].astype(np.float64) + b_hh[rows]).astype(dtype)
    try:
        return Params(**arrays)
    except ValueError as err:
        raise UserError(f"{what}: {err}") from None


def params_to_torch(params: Params) -> dict[str, np.ndarray]:
    """The four ``nn.LSTM`` arrays (gate order i, f, g, o) of the engine's Params."""
    X = params.inputs
    w = np.vstack([getattr(params, f"w{g}") for g in TORCH_GATES])      # (4H, X+H)
    b = np.concatenate([getattr(params, f"b{g}") for g in TORCH_GATES])
    return {"weight_ih_l0": np.ascontiguousarray(w[:, :X]),
            "weight_hh_l0": np.ascontiguousarray(w[:, X:]),
            "bias_ih_l0": b.copy(), "bias_hh_l0": np.zeros_like(b)}


def _select_keys(state: Mapping, what: str) -> dict[str, np.ndarray]:
    """The four arrays, found by exact name or as the one ``<prefix>.<name>`` of a larger
    model's state dict; anything that is not a single-layer, one-way LSTM is refused."""
    lstm = {n: m for n in state if isinstance(n, str) and (m := _LSTM_KEY.fullmatch(n))}
    for test, meaning in ((lambda m: int(m["layer"]) != 0, "more than one layer"),
                          (lambda m: m["reverse"], "bidirectional"),
                          (lambda m: m["name"] == "weight_hr", "a projection (proj_size > 0)")):
        if any(test(m) for m in lstm.values()):
            raise UserError(f"{what}: the LSTM is {meaning}; only a single-layer, "
                            "one-directional nn.LSTM can be imported")
    out = {}
    for key in TORCH_KEYS:
        hits = [n for n in lstm if n == key or n.endswith("." + key)]
        if not hits:
            raise UserError(f"{what}: no {key} (expected the state dict of a single-layer "
                            "nn.LSTM)")
        if len(hits) > 1:
            raise UserError(f"{what}: several LSTMs ({', '.join(hits)}); save the one to import")
        arr = np.asarray(_to_numpy(state[hits[0]]))
        if arr.dtype.kind != "f":
            raise UserError(f"{what}: {key} has dtype {arr.dtype}, expected floating point")
        if not np.all(np.isfinite(arr)):
            raise UserError(f"{what}: {key} contains NaN or Inf")
        out[key] = arr.astype(np.float32 if arr.dtype == np.float32 else np.float64)
    return out


def _to_numpy(value):
    detach = getattr(value, "detach", None)                 # a torch tensor
    if detach is not None:
        value = detach().cpu()
        # float16 and bfloat16 (which numpy lacks) become float64; any other dtype stays
        # what it is, so that an integer LSTM weight is refused as it is in an .npz.
        if value.is_floating_point() and str(value.dtype) != "torch.float32":
            value = value.double()
        return value.numpy()
    return value


def load_torch(path) -> Params:
    """Params from a ``.pt`` state dict (torch needed) or an ``.npz`` with the torch keys."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from .io import read_npz
        # Only the LSTM's keys are read; the rest of a larger model is never decompressed.
        state = read_npz(path, default_kinds=_ANY_KIND,
                         select=lambda name: _LSTM_KEY.fullmatch(name) is not None)
        return params_from_torch(state, str(path))
    if suffix in (".pt", ".pth"):
        from .io import check_regular_file
        torch = _require_torch(path)
        check_regular_file(path)                       # a FIFO or a device is never opened
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:                            # torch raises many kinds
            msg = str(err).strip().splitlines()
            raise UserError(f"{path}: cannot load ({msg[0] if msg else type(err).__name__})") \
                from None
        if hasattr(state, "state_dict"):                    # a whole module was saved
            state = state.state_dict()
        if not isinstance(state, Mapping):
            raise UserError(f"{path}: expected a state dict, got {type(state).__name__}")
        return params_from_torch(state, str(path))
    raise UserError(f"{path}: expected a .pt state dict or an .npz with torch's key names")


def save_torch(path, params: Params) -> None:
    """Write the ``nn.LSTM`` arrays to a ``.pt`` state dict (torch needed) or an ``.npz``."""
    from .io import atomic_write, save_npz_atomic

    path = Path(path)
    arrays = params_to_torch(params)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        save_npz_atomic(path, arrays)
        return
    if suffix not in (".pt", ".pth"):
        raise UserError(f"{path}: choose a .pt or .npz file name")
    torch = _require_torch(path)
    with atomic_write(path) as fp:
        torch.save({k: torch.from_numpy(v.copy()) for k, v in arrays.items()}, fp)


def _require_torch(path):
    try:
        import torch
    except ImportError:
        raise UserError(f"{path}: reading or writing .pt files needs PyTorch "
                        "(pip install 'lstm-viz[torch]'); use an .npz with the same keys "
                        "instead") from None
    return torch
