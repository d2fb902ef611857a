"""One line about any of the engine's files, after reading and checking all of it
(``lstm-engine info``): parameters and traces of either format, training runs, saved
sessions, and ``.npy`` arrays (inputs, token ids, targets, one sequence or a batch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import io
from .model_arrays import file_kind, model_file, model_trace_from_arrays, parse_meta
from .textsafe import one_line
from .training import first_nonfinite


def describe_file(path) -> str:
    """``NAME: what it is, …`` in one line; a UserError for a file that is not valid."""
    path = Path(path)
    name = one_line(str(path))
    if path.suffix == ".npy":
        return f"{name}: {describe_array(io.load_npy(path, kinds='fiub'))}"
    found: dict = {}

    def first(raw):
        meta = parse_meta(raw, path)
        found.update(meta=meta, kind_version=file_kind(meta, path))
        return None

    arrays = io.read_npz(path, kinds={"meta": "U", "vocab": "U", **io.TRACE_KINDS},
                         default_kinds="fiub", first=first)
    meta = found["meta"]
    kind, version = found["kind_version"]
    if kind == "session":
        return f"{name}: a saved lstm-viz session (format {version}); lstm-viz opens it"
    if kind == "trace":
        return f"{name}: {_trace(arrays, meta, version, path)}"
    source = model_file(arrays, meta, kind, version, path)
    model = source.model
    if kind == "run":
        return f"{name}: {_run(arrays, meta, version, model)}"
    if version == 1:
        p = model.layers[0]
        norms = ", ".join(f"|{n}|={np.linalg.norm(v):.3g}" for n, v in p.as_dict().items())
        return (f"{name}: parameters X={p.inputs} H={p.hidden} {p.dtype} (format 1: one "
                f"cell, variant not stated: --variant chooses it, seed by default): {norms}")
    count = sum(a.size for a in model.arrays().values())
    vocab = f"; a vocabulary of {len(source.vocab)} tokens" if source.vocab else ""
    return f"{name}: parameters (format 2): {model.describe()}; {count:,} parameters{vocab}"


def _trace(arrays: dict, meta: dict, version: int, path) -> str:
    if version == 1:
        trace = io.trace_from_arrays(arrays, meta, str(path))
        m = trace.meta()
        nonfinite = [n for n in ("h", "ds", "top_diff_h") if not np.all(np.isfinite(trace[n]))]
        return (f"trace, variant {m['variant']}, loss {m['loss']['name']}, {m['dtype']}, "
                f"T={m['steps']} X={m['inputs']} H={m['hidden']}, total loss "
                f"{trace.total_loss:.6e}, {trace.nbytes / 2**20:.1f} MiB"
                + (f", non-finite values in {', '.join(nonfinite)}" if nonfinite else ""))
    mtrace = model_trace_from_arrays(arrays, meta, str(path))
    if mtrace.sequence is None:
        seq = "one sequence"
    else:
        seq = (f"sequence {mtrace.sequence} of a batch of {mtrace.batch} (its gradients "
               "alone)")
    problem = first_nonfinite(mtrace)
    vocab = f", a vocabulary of {len(mtrace.vocab)} tokens" if mtrace.vocab else ""
    return (f"trace (format 2): {mtrace.model.describe()}; T={mtrace.steps}, {seq}{vocab}; "
            f"total loss {mtrace.total_loss:.10e}, {mtrace.nbytes / 2**20:.1f} MiB"
            + (f"; {problem.where()}" if problem else ""))


def _run(arrays: dict, meta: dict, version: int, model) -> str:
    losses = arrays.get("history.loss")
    last = (f", last loss {float(losses[-1]):.6e}"
            if losses is not None and losses.ndim == 1 and losses.size else "")
    task = meta.get("task")
    task = task.get("name", "?") if isinstance(task, dict) else "?"
    return (f"training run, task {one_line(task)}, "
            f"{one_line(meta.get('iterations_done', '?'))} iterations{last} (format "
            f"{version}); model: "
            f"{model.describe()}"
            + (", interrupted" if meta.get("interrupted") else "")
            + (f", stopped: {one_line(meta['problem'])}" if meta.get("problem") else ""))


def describe_array(a: np.ndarray) -> str:
    """``array (32, 100) int64`` and what such an array serves as: inputs, token ids or
    targets, of one sequence or of a batch (B first)."""
    head = f"array {a.shape} {a.dtype}"
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        return head + ", contains NaN/Inf"
    if a.size == 0 or a.dtype.kind == "b":
        return head
    if a.dtype.kind in "iu":
        span = f"values {a.min()} … {a.max()}"
        if a.ndim == 1:
            n = a.shape[0]
            return (f"{head}, {span}: token ids or class targets of one sequence (T={n}), "
                    f"or class targets of the last steps of a batch (B={n})")
        if a.ndim == 2:
            B, T = a.shape
            return (f"{head}, {span}: token ids or class targets of a batch of {B} "
                    f"sequences of T={T}")
        return f"{head}, {span}"
    if a.ndim == 1:
        return f"{head}: real targets of one sequence (T={a.shape[0]}), as the toy loss takes"
    if a.ndim == 2:
        T, X = a.shape
        return (f"{head}: inputs of one sequence (T={T}, X={X}), or targets of a batch "
                f"(B={T}, T={X}) or of one sequence (T={T}, K={X})")
    if a.ndim == 3:
        B, T, X = a.shape
        return (f"{head}: inputs of a batch of {B} sequences (T={T}, X={X}), or MSE targets "
                f"(K={X})")
    return head
