"""A researcher's model opened from files: the pass to show, and a training run's file.
No Qt.

``open_model(ModelChoice(params, inputs, targets, loss, sequence, vocab))`` is what
``lstm-viz --params P.npz --inputs X.npy --targets Y.npy`` and File ▸ Open Model… choose:
the parameters file's model (any depth, an embedding, a read-out; its variant), the
inputs and targets checked to fit it (``lstm_engine.run_files.load_run``), a batch's
sequence (``--sequence K``, default 0), recorded as one pass (``record_model``) after the
engine's memory check, and the vocabulary (``--vocab FILE``, else the parameters file's,
``lstm_engine.vocab``) kept on the pass as ``ModelTrace.vocab`` to label the steps.

``run_file_job(path)`` opens a run written by ``lstm-engine train -o`` like a saved
training session: a run on a built-in task (any depth, the task's sizes) is trained
again from its seed (training is deterministic) up to its last iteration, and checked to
end at the file's parameters, so the iteration axis holds its recent passes and training
can go on; any other run (a batch, a data file, a task option such as the sine's noise
other than its default) shows the file's final model on the task's example sequence with
the file's loss history.

Every problem is a one-line UserError naming the file or the option; nothing is shown
until the pass is whole, so the session that was there stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_engine import io
from lstm_engine.errors import UserError
from lstm_engine.model import Model, ModelTrace, record_model
from lstm_engine.run_files import check_record_memory, load_run
from lstm_engine.textsafe import show
from lstm_engine.vocab import vocab_size

from .app_memory import check_can_show  # what showing a pass adds, as measured
from .config import TASK_SIZES
from .jobs import SLICE, Job
from .training_run import MAX_ITERATION

LOSSES = ("toy", "mse", "xent")


@dataclass(frozen=True)
class ModelChoice:
    """What File ▸ Open Model… and the command line choose. ``loss`` None: the file's;
    ``sequence`` None: 0 of a batch; ``vocab`` None: the parameters file's, if any;
    ``variant`` None: the file's (a file that states one refuses another)."""

    params: str
    inputs: str
    targets: str
    loss: str | None = None
    sequence: int | None = None
    vocab: str | None = None
    variant: str | None = None       # only for a file that does not state its variant


@dataclass(frozen=True)
class OpenedModel:
    """The pass to show (its ``vocab`` set when there is one) and what to say of it."""

    trace: ModelTrace
    choice: ModelChoice

    @property
    def vocab(self) -> tuple[str, ...] | None:
        return self.trace.vocab

    @property
    def note(self) -> str:
        """One line: the model and, for a batch, which sequence of how many."""
        tr = self.trace
        seq = (f"; sequence {tr.sequence} of {tr.batch} (0 … {tr.batch - 1})"
               if tr.batch is not None else "")
        return f"{Path(self.choice.params).name}: {tr.model.describe()}{seq}"


def _named(option: str, value) -> str:
    if not isinstance(value, str | Path) or not str(value).strip():
        raise UserError(f"{option}: needs a file name")
    return str(value)


def check_sequence(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise UserError(f"--sequence {show(value)}: a sequence is a whole number from 0")
    return int(value)


def sequences_in(params, inputs) -> int | None:
    """How many sequences the inputs file holds for the model in ``params`` (None: one
    sequence), from the inputs' header alone: (B, T) token ids for a model with an
    embedding, (B, T, X) dense inputs otherwise (``load_run`` checks the rest)."""
    model = io.load_model(_named("--params", params)).model
    path = Path(_named("--inputs", inputs))
    with io.open_regular(path) as fp:
        shape, _fortran, _dtype = io._read_header(fp, str(path))
    batched = len(shape) == (2 if model.embedding is not None else 3)
    return int(shape[0]) if batched else None


def open_model(choice: ModelChoice) -> OpenedModel:
    """The pass ``choice`` describes, checked and recorded; UserError for any problem."""
    params = _named("--params", choice.params)
    inputs = _named("--inputs", choice.inputs)
    targets = _named("--targets", choice.targets)
    if choice.loss is not None and choice.loss not in LOSSES:
        raise UserError(f"--loss {show(choice.loss)}: choose one of {', '.join(LOSSES)}")
    run = load_run(params, inputs, targets, variant=choice.variant, loss=choice.loss,
                   sequence=check_sequence(choice.sequence))
    model = run.model
    vocab = None
    if choice.vocab is not None:
        vocab = io.load_vocab(_named("--vocab", choice.vocab), vocab_size(model))
    elif run.source is not None:
        vocab = run.source.vocab
    check_record_memory(model, run.steps, model.dtype)
    trace = record_pass(model, run.inputs, run.targets, run.sequence, params)
    trace.vocab = vocab
    return OpenedModel(trace, choice)


def record_pass(model: Model, inputs, targets, sequence, where) -> ModelTrace:
    """``record_model`` (a NaN or Inf in the pass is something to debug, not an error),
    then the check that the app can show it (``app_memory``)."""
    try:
        with np.errstate(all="ignore"):
            trace = record_model(model, inputs, targets, sequence=sequence)
    except ValueError as err:
        raise UserError(f"{where}: cannot record this pass ({err})") from None
    check_can_show(trace, where)
    return trace


# ---- training runs (lstm-engine train -o) ---------------------------------------------------

def is_run_file(path) -> bool:
    """Whether ``path`` is a training run file (its ``meta`` says so); False for anything
    else, unreadable files included (opening them says why)."""
    from lstm_engine.model_arrays import RUN_FORMAT, parse_meta

    found = {}

    def first(raw):
        try:
            meta = parse_meta(raw, path)
        except UserError:
            meta = None
        found["run"] = isinstance(meta, dict) and meta.get("format") == RUN_FORMAT
        return lambda name: False                      # read nothing else
    try:
        io.read_npz(path, kinds={"meta": "U"}, first=first)
    except UserError:
        return False
    return bool(found.get("run"))


@dataclass(frozen=True)
class RunFile:
    """What a run file holds: its meta, its final model and its history arrays."""

    path: str
    meta: dict
    model: Model
    history: dict


def read_run_file(path) -> RunFile:
    """The run file's meta, final model and history, checked (UserError naming it)."""
    from lstm_engine.model_arrays import RUN_FORMAT, parse_meta

    path = str(path)
    found = {}

    def first(raw):
        meta = parse_meta(raw, path)
        if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
            raise UserError(f"{path}: not a training run (lstm-engine train -o writes one)")
        found["meta"] = meta
        return lambda name: name.startswith("history.") and name.count(".") == 1
    hist = io.read_npz(path, kinds={"meta": "U"}, first=first)
    meta = found["meta"]
    model = io.load_model(path).model
    history = {}
    for key, kinds in (("iteration", "iu"), ("loss", "f"), ("grad_norm", "f"),
                       ("clipped", "b")):
        a = hist.get(f"history.{key}")
        if a is None or a.ndim != 1 or a.dtype.kind not in kinds:
            raise UserError(f"{path}: no valid 'history.{key}' (one entry per iteration)")
        history[key] = a
    n = {a.shape[0] for a in history.values()}
    if len(n) != 1:
        raise UserError(f"{path}: the history's arrays have different lengths")
    it = history["iteration"]
    if it.size and (it.min() < 0 or it.max() > MAX_ITERATION):    # before any int64 cast
        raise UserError(f"{path}: 'history.iteration' holds a number outside 0 to "
                        f"{MAX_ITERATION}")
    history["iteration"] = it.astype(np.int64)        # unsigned: np.diff would wrap
    if not np.all(np.diff(history["iteration"]) > 0) or (
            history["iteration"].size and history["iteration"][0] < 0):
        raise UserError(f"{path}: 'history.iteration' must count up from 0")
    for key in ("task", "config"):
        if not isinstance(meta.get(key), dict):
            raise UserError(f"{path}: 'meta' lacks a valid {show(key)}")
    return RunFile(path, meta, model, history)


def replay_settings(run: RunFile):
    """The app's TrainingSettings that train this run again, or None when the app's
    training cannot (a batch, the file task, a task option other than its sizes set to
    another value than the task's default)."""
    from lstm_engine.tasks import make_task

    from .training_run import TRAIN_TASKS, TrainingSettings, check_settings

    cfg, task = run.meta["config"], run.meta["task"]
    options = {k: v for k, v in task.items() if k not in ("name", "seed")}
    if task.get("name") not in TRAIN_TASKS or cfg.get("batch", 1) != 1:
        return None
    # options the app's training does not set (the sine's noise and period) must be the
    # task's own defaults, as a run file always lists them
    defaults = make_task(task["name"]).config()
    if any(options[k] != defaults.get(k) for k in set(options) - {"length", *TASK_SIZES}):
        return None
    sizes: dict = {k: options.get(k) for k in TASK_SIZES}
    try:
        return check_settings(TrainingSettings(
            task=task["name"], length=options.get("length"), variant=cfg.get("variant"),
            hidden=cfg.get("hidden"), optimizer=cfg.get("optimizer"), lr=cfg.get("lr"),
            clip=cfg.get("clip"), seed=cfg.get("seed"), init=cfg.get("init"),
            forget_bias=cfg.get("forget_bias"), dtype=cfg.get("dtype", "float64"),
            layers=run.model.num_layers, **sizes))
    except (UserError, TypeError):
        return None


def _same_model(trainer, model: Model) -> bool:
    mine = trainer.model.arrays()
    theirs = model.arrays()
    return mine.keys() == theirs.keys() and all(
        np.array_equal(mine[k], theirs[k]) for k in mine)


def run_file_job(path) -> Job:
    """The Session a run file describes, as a job (``jobs.py``): trained again up to its
    last iteration when the app can, else its final model's pass and its history."""
    from .history import History
    from .session import Session
    from .training_run import TrainingRun

    run = read_run_file(path)
    done = int(run.meta.get("iterations_done", run.history["iteration"].size))
    settings = replay_settings(run)
    if settings is not None and done > 0:
        training = TrainingRun(settings)
        last = time.perf_counter()
        while training.iterations_done < done and not training.stopped:
            training.step()
            if time.perf_counter() - last > SLICE:
                last = time.perf_counter()
                yield (training.iterations_done, done,
                       f"training iteration {training.iterations_done:,} of {done:,}")
        if _same_model(training.trainer, run.model):
            session = Session.restore(training=training, path=None)
            return session
    # The file's final model on the task's example sequence, with the file's history.
    yield 0, 1, "recording the final model's pass"
    session = session_for(final_pass(run))
    session.live.set_history(History.from_arrays(run.history))
    return session


def session_for(trace: ModelTrace, path: str | None = None):
    """A Session showing a pass opened from files (its run configuration: task ``file``,
    layer 0's sizes, the number of layers)."""
    from .config import config_from_trace
    from .session import Session

    config = config_from_trace(trace.layers[0]).with_(layers=trace.num_layers)
    session = Session(config, trace)
    session.runs.path = path
    return session


def final_pass(run: RunFile) -> ModelTrace:
    """The run's final model recorded on its task's sequence 0 (never trained on)."""
    from lstm_engine.tasks import make_task

    task = run.meta["task"]
    options = {k: v for k, v in task.items() if k not in ("name", "seed")}
    t = make_task(task.get("name"), task.get("seed", 0), **options)
    seq = t.sequence(0)
    check_record_memory(run.model, seq.x.shape[0], run.model.dtype)
    trace = record_pass(run.model, seq.x, seq.y, None, run.path)
    trace.vocab = tuple(t.vocab) if hasattr(t, "vocab") else None
    return trace

