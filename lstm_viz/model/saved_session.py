"""Saved sessions: a run with its training history, breakpoints and view layout in one
``.npz``, and a short text form (configuration + frame) that reopens the same view. No Qt.

The file format is documented in ``docs/file-formats.md`` ("Saved session"). In short:
a JSON ``meta`` string, the shown pass in the trace file's layout under ``trace.``,
the history arrays, and for a training run its checkpoint (parameters, read-out and
optimiser state under ``train.``) and the parameters of every pass kept in the ring
under ``ring.<k>.``; those passes are recorded again on opening (recording is
deterministic, so they come back bit for bit). No pickles; written atomically; every
problem reading it is a one-line UserError naming the file, and nothing changes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import TypeGuard

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.io import (
    LOSS_PREFIX,
    params_from_arrays,
    read_npz,
    save_npz_atomic,
    trace_from_arrays,
)
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES
from lstm_engine.training import TrainState

from .breakpoints import Breakpoint
from .config import RunConfig, check_config, default_config
from .live_training import HistoryEntry
from .session import Session
from .training_run import TrainingRun, TrainingSettings, check_settings

FORMAT = "lstm-viz-session"
VERSION = 1
TEXT_PREFIX = "lstm-viz:1"
MAX_TEXT_ITERATIONS = 100_000
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


def save_session(path, session: Session, view: dict | None = None) -> None:
    """Write the session (and the GUI's ``view`` layout, any JSON object) atomically."""
    trace = session.trace
    meta = {"format": FORMAT, "version": VERSION, "config": asdict(session.config),
            "frame": session.frame_text, "selected": session.selected,
            "speed": session.speed, "breakpoints": [bp.to_dict() for bp in session.breakpoints],
            "view": view or {}, "trace": trace.meta(), "training": None}
    arrays = _trace_arrays(trace, "trace.")
    hist = session.history_arrays()
    arrays.update({f"history.{k}": v for k, v in hist.items()})
    run = session.training
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
    arrays["meta"] = np.array(json.dumps(meta))
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


def _unflatten(flat: dict) -> dict:
    out: dict = {}
    for key, value in flat.items():
        parts = key.split(_SEP)
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = int(value) if value.dtype.kind in "iu" and value.shape == () else value
    return out


def _training(arrays: dict, tm: dict, trace, path) -> tuple[TrainingRun, int]:
    """The saved training run, its ring recorded again, and the iteration it showed."""
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
        raise UserError(f"{path}: 'training' has no valid iteration numbers")
    params = params_from_arrays(_sub(arrays, "train.params."), f"{path}: training state")
    _check_training_size(settings, params, path)
    opt = _unflatten({k[1:]: v for k, v in _sub(arrays, "train.opt").items()})
    state = TrainState(done, params, _sub(arrays, "train.loss."), opt)
    try:
        run = TrainingRun(settings, state=state)
    except (KeyError, ValueError, TypeError) as err:
        raise UserError(f"{path}: the training state does not fit its settings ({err})") from None
    run.clear_ring()
    for k in ring:
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
        run.restore_records(hist)
    run.failed = tm.get("failed") if isinstance(tm.get("failed"), int) else None
    if tm.get("problem"):
        run.trainer.stop()
        run.problem_text = str(tm["problem"])
    return run, shown


def _count(value) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


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
    """The saved selection and speed as ``Session.restore``'s arguments (one that is
    missing: the default)."""
    out = {}
    if meta.get("selected") is not None:
        out["selected"] = meta["selected"]
    if isinstance(meta.get("speed"), int | float):
        out["speed"] = meta["speed"]
    return out


def is_saved_session(path) -> bool:
    """Whether ``path`` is a saved session (and not a trace): only its meta is read."""
    try:
        arrays = read_npz(path, kinds={"meta": "U"}, select=lambda n: n == "meta")
        return json.loads(str(arrays["meta"][()])).get("format") == FORMAT
    except (UserError, KeyError, ValueError, RecursionError, AttributeError):
        return False


def load_session(path) -> tuple[Session, dict]:
    """A new Session from a saved one and the view layout saved with it."""
    path = Path(path)
    arrays = read_npz(path, kinds={"meta": "U"}, default_kinds="fiub")
    meta = _meta(arrays, path)
    trace = trace_from_arrays(_sub(arrays, "trace."), meta["trace"], f"{path}: trace")
    config = _config(meta["config"], trace, path)
    run = shown = history = None
    if meta.get("training") is not None:
        run, shown = _training(arrays, meta["training"], trace, path)
    elif (h := _history(arrays, path)) is not None:
        history = [HistoryEntry(int(i), float(lo), float(g)) for i, lo, g in
                   zip(h["iteration"], h["loss"], h["grad_norm"], strict=True)]
    try:
        breakpoints = [Breakpoint.from_dict(d) for d in meta["breakpoints"]]
        pass_ = {"training": run, "iteration": shown} if run is not None else \
            {"trace": trace, "config": config}
        session = Session.restore(**pass_, frame=meta["frame"], breakpoints=breakpoints,
                                  history=history, **_selection_and_speed(meta))
    except UserError as err:
        raise UserError(f"{path}: {err}") from None
    view = meta.get("view")
    return session, view if isinstance(view, dict) else {}


# ---- the short text form ---------------------------------------------------------------------

def _value_text(v) -> str:
    return "none" if v is None else repr(v) if isinstance(v, float) else str(v)


def _defaults_diff(obj, base) -> list[str]:
    out = []
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v != getattr(base, f.name):
            out.append(f"{f.name}={_value_text(v)}")
    return out


def state_text(session: Session) -> str:
    """``lstm-viz:1 task=adding steps=100 … frame=bwd:3:ds`` (training: ``train … iteration=k``)."""
    run = session.training
    if run is not None:
        s = run.settings
        words = ["train", f"task={s.task}"]
        words += [w for w in _defaults_diff(s, TrainingSettings(task=s.task))
                  if not w.startswith("task=")]
        words.append(f"iteration={session.iteration}")
    else:
        c = session.config
        if c.task == "file":
            raise UserError("a run read from a file has no short text form; save the session")
        words = [f"task={c.task}"]
        words += [w for w in _defaults_diff(c, default_config(c.task))
                  if not w.startswith("task=")]
    words.append(f"frame={session.frame_text}")
    return " ".join([TEXT_PREFIX, *words])


def _parse_value(text: str, default, name: str):
    if text == "none":
        return None
    kinds = {"hidden": int, "steps": int, "inputs": int, "seed": int, "length": int,
             "ring": int, "lr": float, "clip": float, "forget_bias": float}
    kind = kinds.get(name, type(default) if default is not None else str)
    try:
        return kind(text)
    except ValueError:
        raise UserError(f"{name}={text!r} is not a valid value") from None


def session_from_text(text: str) -> Session:
    """The session a ``state_text`` describes (a training run is trained again, from its
    seed, up to that iteration: deterministic, so it is the same pass)."""
    words = str(text).split()
    if not words or words[0] != TEXT_PREFIX:
        raise UserError(f"a session text starts with {TEXT_PREFIX!r}")
    training = len(words) > 1 and words[1] == "train"
    pairs = {}
    for w in words[2 if training else 1:]:
        key, sep, value = w.partition("=")
        if not sep:
            raise UserError(f"cannot read {w!r} in the session text (want key=value)")
        pairs[key] = value
    frame = pairs.pop("frame", None)
    iteration = pairs.pop("iteration", None)
    base = TrainingSettings(task=pairs.get("task", "adding")) if training else \
        default_config(pairs.get("task", "published"))
    names = {f.name for f in fields(base)}
    changes = {}
    for key, value in pairs.items():
        if key not in names:
            raise UserError(f"unknown setting {key!r} in the session text")
        changes[key] = _parse_value(value, getattr(base, key), key)
    if training:
        assert isinstance(base, TrainingSettings)          # made above, for "train"
        settings = check_settings(base.with_(**changes))
        k = 0 if iteration is None else _parse_value(iteration, 0, "iteration")
        if not 0 <= k < MAX_TEXT_ITERATIONS:
            raise UserError(f"iteration must be from 0 to {MAX_TEXT_ITERATIONS - 1}")
        session = Session.restore(training=TrainingRun(settings))
        session.train(k + 1, stop_at_breakpoints=False)
        session.seek_iteration(k)
    else:
        assert isinstance(base, RunConfig)                 # made above
        session = Session(check_config(base.with_(**changes)))
    if frame:
        session.goto(frame)
    return session
