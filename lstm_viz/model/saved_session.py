"""Saved sessions: a run with its training history, breakpoints and view layout in one
``.npz`` (the short text form is ``session_text.py``). No Qt.

The file format is documented in ``docs/file-formats.md`` ("Saved session"). In short:
a JSON ``meta`` string, the shown pass in the trace file's layout under ``trace.``,
the history arrays, and for a training run its checkpoint (parameters, read-out and
optimiser state under ``train.``) and the parameters of every pass kept in the ring
under ``ring.<k>.``; those passes are recorded again on opening (recording is
deterministic, so they come back bit for bit): that can take a while, so reading is a
job (``jobs.py``: ``load_session_job`` reports a slice per pass, ``load_session`` runs it
to the end). No pickles; written atomically; every problem reading it is a one-line
UserError naming the file, and nothing changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from dataclasses import asdict, fields
from pathlib import Path
from typing import TypeGuard

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.interventions import Interventions
from lstm_engine.io import (
    LOSS_PREFIX,
    model_trace_arrays,
    model_trace_from_arrays,
    params_from_arrays,
    read_npz,
    save_npz_atomic,
    trace_from_arrays,
)
from lstm_engine.model import ModelTrace
from lstm_engine.model_arrays import MODEL_TRACE_VERSION
from lstm_engine.textsafe import show
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES, Trace
from lstm_engine.training import TrainState

from .app_memory import check_can_show
from .breakpoints import MAX_BREAKPOINTS, Breakpoint
from .config import RunConfig, check_config
from .file_values import check_tree, count, number
from .file_values import text as checked_text
from .history import History
from .jobs import Job, finish
from .session import MAX_SPEED, MIN_SPEED, Session, first_layer
from .training_run import MAX_ITERATION, TrainingRun, TrainingSettings

FORMAT = "lstm-viz-session"
VERSION = 1
MAX_PROBLEM = 2000                      # characters of a saved run's problem text
_SEP = ":"                                # nested optimiser state: train.opt:m:wg


# ---- writing ---------------------------------------------------------------------------------

def _trace_arrays(trace, prefix: str) -> dict:
    out = {**trace.params.as_dict(), "x": trace.x, "y": trace.y}
    out.update({n: trace[n] for n in STEP_NAMES + GRAD_NAMES})
    out.update({LOSS_PREFIX + k: v for k, v in trace.loss_params.items()})
    out.update({LOSS_PREFIX + k: v for k, v in trace.loss_grads.items()})
    return {prefix + k: v for k, v in out.items()}


def _flatten(obj, prefix: str, out: dict) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}{_SEP}{k}", out)
    else:
        out[prefix] = np.asarray(obj)


def _model_trace_arrays(trace, prefix: str) -> tuple[dict, dict]:
    """A ModelTrace (stacked layers, an embedding) as a format-2 trace file lays it out:
    its arrays under ``prefix`` and its meta (which carries ``version`` 2)."""
    arrays = model_trace_arrays(trace)
    meta = json.loads(str(arrays.pop("meta")[()]))
    return {prefix + k: v for k, v in arrays.items()}, meta


def save_session(path, session: Session, view: dict | None = None) -> None:
    """Write the session (and the GUI's ``view`` layout, any JSON object) atomically."""
    pass_ = session.whatif.saved_pass()         # the original; what if is recorded again
    if isinstance(pass_, ModelTrace):           # the whole model, every layer
        arrays, trace_meta = _model_trace_arrays(pass_, "trace.")
    else:
        arrays, trace_meta = _trace_arrays(pass_, "trace."), pass_.meta()
    meta = {"format": FORMAT, "version": VERSION, "config": asdict(session.config),
            "frame": session.frame_text, "selected": session.selected,
            "speed": session.speed, "breakpoints": [bp.to_dict() for bp in session.breakpoints],
            "view": view or {}, "trace": trace_meta, "training": None,
            "view_layer": session.layers.pinned, "whatif": session.whatif.to_json()}
    hist = session.history_arrays()
    arrays.update({f"history.{k}": v for k, v in hist.items()})
    run = session.training
    if run is not None and run.settings.layers > 1:
        # the checkpoint and ring below hold one cell's arrays (train.params.wg …)
        raise UserError(f"{path}: a session training a {run.settings.layers}-layer model "
                        "cannot be saved yet; File ▸ Save Trace keeps the pass shown")
    if run is not None:
        state = run.trainer.state()
        meta["training"] = {
            "settings": run.settings.to_dict(), "iterations_done": state.iteration,
            "shown": session.iteration, "problem": None if run.problem is None
            else str(run.problem), "failed": run.failed, "ring": run.ring_indices()}
        arrays.update({f"train.params.{k}": v for k, v in state.params.as_dict().items()})
        arrays.update({f"train.loss.{k}": v for k, v in state.loss_params.items()})
        _flatten(state.optimizer_state, "train.opt", arrays)
        for k in run.ring_indices():
            if k == session.iteration:
                continue
            tr = run.trace_at(k)
            arrays.update({f"ring.{k}.{n}": v for n, v in tr.params.as_dict().items()})
            arrays.update({f"ring.{k}.loss.{n}": v for n, v in tr.loss_params.items()})
    # allow_nan=False: a NaN or Infinity is never written (the reader would refuse it).
    arrays["meta"] = np.array(json.dumps(meta, allow_nan=False))
    save_npz_atomic(path, arrays)              # a failure: UserError, the old file unchanged


# ---- reading ---------------------------------------------------------------------------------

def _meta(arrays: dict, path) -> dict:
    raw = arrays.get("meta")
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise UserError(f"{path}: no JSON 'meta' text; this is not a saved session")
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, RecursionError):                   # RecursionError: nested too deep
        raise UserError(f"{path}: 'meta' is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{path}: not a saved lstm-viz session (format is not {FORMAT!r})")
    check_tree(meta, path)           # no NaN, ±Inf, 64-bit overflow or huge text anywhere
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UserError(f"{path}: 'meta' has no valid format version")
    if version > VERSION:
        raise UserError(f"{path}: saved by a newer lstm-viz (session format {version}); "
                        f"this version reads format {VERSION}")
    for key, typ in (("config", dict), ("frame", str), ("breakpoints", list), ("trace", dict)):
        if not isinstance(meta.get(key), typ):
            raise UserError(f"{path}: 'meta' lacks a valid {key!r}")
    return meta


def _sub(arrays: dict, prefix: str) -> dict:
    n = len(prefix)
    return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix)}


HISTORY = ("iteration", "loss", "grad_norm", "clipped")


def _history(arrays: dict, path) -> dict | None:
    """The ``history.*`` arrays (None if there are none), checked to be vectors of one
    length: integer iterations, real losses and norms, bool (or 0/1) clipped flags."""
    h = {k: v for k, v in _sub(arrays, "history.").items() if k in HISTORY}
    if not h:
        return None
    missing = [k for k in HISTORY[:3] if k not in h]
    if missing:
        raise UserError(f"{path}: the training history lacks {missing[0]!r}")
    n = h["iteration"].shape[0] if h["iteration"].ndim == 1 else -1
    kinds = {"iteration": "iu", "loss": "fiu", "grad_norm": "fiu", "clipped": "biu"}
    for key, a in h.items():
        if a.ndim != 1 or a.shape[0] != n or a.dtype.kind not in kinds[key]:
            what = "integers" if key == "iteration" else "numbers"
            raise UserError(f"{path}: damaged training history ({key!r} is not a vector of "
                            f"{n if n >= 0 else 'N'} {what})")
    it = h["iteration"]
    if n and (it.min() < 0 or it.max() > MAX_ITERATION):
        raise UserError(f"{path}: damaged training history (an iteration outside 0 to "
                        f"{MAX_ITERATION})")
    h.setdefault("clipped", np.zeros(n, bool))
    return h


def _config(d: dict, trace, path) -> RunConfig:
    """The saved config, checked as the configure dialog checks one (a run read from a
    file: its variant and learning rate), and of the sizes of the saved pass: a config
    is what later re-records or trains, so a damaged one must not get that far."""
    names = {f.name for f in fields(RunConfig)}
    if set(d) - names:
        raise UserError(f"{path}: unknown config field {sorted(set(d) - names)[0]!r}")
    try:
        config = RunConfig(**d)
        if config.task == "file":
            check_config(config.with_(task="random", init="uniform"))
        else:
            config = check_config(config)
    except TypeError as err:
        raise UserError(f"{path}: bad config ({err})") from None
    except UserError as err:
        raise UserError(f"{path}: bad config ({err})") from None
    sizes = (config.steps, config.inputs, config.hidden, config.dtype)
    if sizes != (trace.steps, trace.inputs, trace.hidden, trace.dtype.name):
        raise UserError(f"{path}: the config (T={config.steps}, X={config.inputs}, "
                        f"H={config.hidden}, {config.dtype}) does not match the saved pass")
    return config


_MEMBER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _unflatten(flat: dict, path) -> dict:
    """The optimiser's nested state from its members ``train.opt:step``,
    ``train.opt:m:wg`` …: each name is ``:``-separated identifiers, and no name is both a
    value and a group (``train.opt:m`` beside ``train.opt:m:wg``)."""
    out: dict = {}
    for key in sorted(flat, key=lambda k: k.count(_SEP)):
        parts = key.split(_SEP)
        if parts[0] != "" or len(parts) < 2 or len(parts) > 3 \
                or not all(_MEMBER.fullmatch(p) for p in parts[1:]):
            raise UserError(f"{path}: optimiser state member {show('train.opt' + key)} "
                            "is not named train.opt:NAME or train.opt:NAME:ARRAY")
        node = out
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise UserError(f"{path}: optimiser state member {show('train.opt' + key)} "
                                f"collides with train.opt:{p}")
        if parts[-1] in node:
            raise UserError(f"{path}: optimiser state member {show('train.opt' + key)} "
                            "collides with another member")
        value = flat[key]
        node[parts[-1]] = int(value) if value.dtype.kind in "iu" and value.shape == () \
            else value
    return out


def _check_optimizer_state(run: TrainingRun, state: TrainState, path) -> None:
    """The saved optimiser state has exactly the members, shapes and kinds the run's
    optimiser keeps (what it would index on its first update)."""
    arrays = {**state.params.as_dict(), **state.loss_params}
    expected = run.trainer.optimizer.init_state(arrays)

    def compare(want, got, where):
        if isinstance(want, dict):
            if not isinstance(got, dict) or set(got) != set(want):
                raise UserError(f"{path}: the optimiser state {where or 'train.opt'} does "
                                f"not hold what the {run.resolved.optimizer} optimiser "
                                "keeps")
            for k in want:
                compare(want[k], got[k], f"{where}:{k}" if where else f"train.opt:{k}")
        elif isinstance(want, int):
            count(got, f"{path}: {where}", MAX_ITERATION)
        else:
            g = np.asarray(got)
            if g.shape != want.shape or g.dtype.kind != "f" or not np.all(np.isfinite(g)):
                raise UserError(f"{path}: {where} is not a finite float array of shape "
                                f"{want.shape}")

    compare(expected, state.optimizer_state, "")


def _training(arrays: dict, tm: dict, trace, path) -> Generator[tuple[int, int, str], None, tuple]:  # noqa: C901 - one check per member of the saved run, in the file's order
    """The saved training run, its ring recorded again, and the iteration it showed: a
    job, one slice per ring pass that is recorded again; its result is (run, shown)."""
    if not isinstance(tm, dict) or not isinstance(tm.get("settings"), dict):
        raise UserError(f"{path}: 'training' lacks its settings")
    try:
        settings = TrainingSettings.from_dict(tm["settings"])
    except (UserError, TypeError) as err:
        raise UserError(f"{path}: bad training settings ({err})") from None
    done, shown, ring = tm.get("iterations_done"), tm.get("shown"), tm.get("ring")
    if not (_count(done) and _count(shown) and isinstance(ring, list) and shown in ring
            and all(_count(k) and k <= done for k in ring) and len(set(ring)) == len(ring)
            and len(ring) <= settings.ring):
        raise UserError(f"{path}: 'training' has no valid iteration numbers (each from 0 "
                        f"to {MAX_ITERATION}, the shown one in the ring)")
    failed, problem = tm.get("failed"), tm.get("problem")
    if failed is not None and not (_count(failed) and failed <= done):
        raise UserError(f"{path}: 'training' 'failed' is not an iteration of the run")
    if problem is not None:
        checked_text(problem, f"{path}: 'training' 'problem'", MAX_PROBLEM)
    params = params_from_arrays(_sub(arrays, "train.params."), f"{path}: training state")
    _check_training_size(settings, params, path)
    opt = _unflatten(_sub(arrays, "train.opt"), path)
    state = TrainState(done, params, _sub(arrays, "train.loss."), opt)
    try:
        run = TrainingRun(settings, state=state)
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise UserError(f"{path}: the training state does not fit its settings "
                        f"({show(str(err).splitlines()[0] if str(err) else type(err).__name__)})"
                        ) from None
    _check_optimizer_state(run, state, path)
    run.clear_ring()
    for n, k in enumerate(ring):
        yield n, len(ring), f"recording the pass of iteration {k:,} again"
        if k == shown:
            run.put(k, trace)
            continue
        cell = params_from_arrays(_sub(arrays, f"ring.{k}."), f"{path}: ring pass {k}")
        if cell.wg.shape != params.wg.shape or cell.dtype != params.dtype:
            raise UserError(f"{path}: ring pass {k} has parameters of another shape or dtype "
                            "than the training state")
        head = {n: v for n, v in _sub(arrays, f"ring.{k}.loss.").items()}
        try:
            run.put(k, run.record_with(cell, head, k))
        except (KeyError, ValueError, TypeError) as err:
            raise UserError(f"{path}: ring pass {k} does not fit the training run "
                            f"({str(err).splitlines()[0] if str(err) else type(err).__name__})"
                            ) from None
    hist = _history(arrays, path)
    if hist is not None:
        run.restore_history(hist)
    run.failed = failed
    if problem:
        run.trainer.stop()
        run.problem_text = problem
    return run, shown


def _count(value) -> TypeGuard[int]:
    """An iteration number: an int (not a bool) a Qt slider can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ITERATION


def _check_training_size(settings: TrainingSettings, params, path) -> None:
    """Refuse, before anything is built, settings that disagree with the saved checkpoint
    (``check_settings``, run by ``from_dict``, has refused sizes that would not fit)."""
    if settings.hidden is not None and settings.hidden != params.hidden:
        raise UserError(f"{path}: the training settings say H={settings.hidden!r} but the "
                        f"saved parameters have H={params.hidden}")
    if settings.dtype != params.dtype.name:
        raise UserError(f"{path}: the training settings say dtype {settings.dtype!r} but the "
                        f"saved parameters are {params.dtype}")


def _selection_and_speed(meta: dict) -> dict:
    """The saved selection, speed and pinned layer as ``Session.restore``'s arguments
    (one that is missing: the default), each checked (UserError)."""
    out: dict = {}
    if meta.get("selected") is not None:
        out["selected"] = checked_text(meta["selected"], "'selected'", 200)
    if meta.get("speed") is not None:
        out["speed"] = number(meta["speed"], "'speed'", MIN_SPEED, MAX_SPEED)
    if meta.get("view_layer") is not None:              # the layer the views are pinned to
        out["view_layer"] = count(meta["view_layer"], "'view_layer'", 10_000)
    return out


def _read_pass(arrays: dict, trace_meta: dict, path):
    """The saved pass: a Trace, or (its meta of trace format 2) a ModelTrace."""
    where = f"{path}: trace"
    if trace_meta.get("version") == MODEL_TRACE_VERSION:
        return model_trace_from_arrays(_sub(arrays, "trace."), trace_meta, where)
    return trace_from_arrays(_sub(arrays, "trace."), trace_meta, where)


def is_saved_session(path) -> bool:
    """Whether ``path`` is a saved session (and not a trace): only its meta is read."""
    try:
        arrays = read_npz(path, kinds={"meta": "U"}, select=lambda n: n == "meta")
        return json.loads(str(arrays["meta"][()])).get("format") == FORMAT
    except (UserError, KeyError, ValueError, RecursionError, AttributeError):
        return False


def load_session(path) -> tuple[Session, dict]:
    """A new Session from a saved one and the view layout saved with it."""
    return finish(load_session_job(path))


def load_session_job(path) -> Job:
    """``load_session`` as a job: its result is (session, view)."""
    path = Path(path)
    arrays = read_npz(path, kinds={"meta": "U", "trace.vocab": "U"}, default_kinds="fiub")
    meta = _meta(arrays, path)
    trace = _read_pass(arrays, meta["trace"], path)
    check_can_show(trace, path)
    config = _config(meta["config"], first_layer(trace), path)
    try:                                    # the cheap checks first, then the long work
        if len(meta["breakpoints"]) > MAX_BREAKPOINTS:
            raise UserError(f"{len(meta['breakpoints'])} breakpoints, more than the "
                            f"{MAX_BREAKPOINTS} a session keeps")
        breakpoints = [Breakpoint.from_dict(d) for d in meta["breakpoints"]]
        frame = checked_text(meta["frame"], "'frame'", 200)
        shown_as = _selection_and_speed(meta)
    except UserError as err:
        raise UserError(f"{path}: {err}") from None
    run = shown = history = None
    if meta.get("training") is not None and not isinstance(trace, Trace):
        raise UserError(f"{path}: a training run of a stacked model; this version trains "
                        "one cell in the app")
    if meta.get("training") is not None:
        run, shown = yield from _training(arrays, meta["training"], trace, path)
    elif (h := _history(arrays, path)) is not None:
        history = History.from_arrays(h)
    try:
        pass_: dict = {"training": run, "iteration": shown} if run is not None else \
            {"trace": trace, "config": config}
        session = Session.restore(**pass_, frame=frame, breakpoints=breakpoints,
                                  history=history, **shown_as)
        _restore_whatif(session, meta.get("whatif"))
    except UserError as err:
        raise UserError(f"{path}: {err}") from None
    view = meta.get("view") if isinstance(meta.get("view"), dict) else {}
    return session, view


def _restore_whatif(session: Session, saved) -> None:
    """The interventions a saved session held (``whatif.py``); none in older files."""
    if saved is None:
        return
    if not isinstance(saved, dict) or not isinstance(saved.get("applied"), bool):
        raise UserError("'whatif' must be an object with 'interventions' and 'applied'")
    try:
        iv = Interventions.from_json(saved.get("interventions", {}))
    except ValueError as err:
        raise UserError(f"'whatif': {err}") from None
    stepping = checked_text(saved.get("stepping", "original"), "'whatif' 'stepping'", 20)
    session.whatif.restore(iv, saved["applied"], stepping)
