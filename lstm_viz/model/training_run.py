"""Live training for the app: the engine's Trainer, a ring of recent passes, the history.
No Qt.

``TrainingRun(settings)`` builds a ``lstm_engine.training.Trainer`` (``build_trainer``)
and runs it one iteration per ``step()``. Iteration k records the pass with the
parameters θ_k (before update k) and then updates them; that pass is kept in a bounded
ring (``settings.ring`` recent iterations), which is what the iteration scrubber shows.
Before the first iteration the ring holds the pass iteration 0 will compute.

``watch`` chooses that pass: ``"training"`` (the sequence iteration k trains on: free,
the trainer records it anyway) or ``"example"`` (task sequence 0, never trained on: the
same data every iteration, at the cost of one more pass per iteration).

``backward`` different from ``variant`` trains with the wrong backward: the forward of
``variant`` with the backward of ``backward`` (``recorder.run_stepwise``'s
``forward_variant``). A NaN or Inf stops the run (the Trainer keeps the last good
parameters); the failing pass goes into the ring so it can be inspected.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from lstm_engine.cell import VARIANTS
from lstm_engine.errors import UserError
from lstm_engine.init import INITS
from lstm_engine.io import memory_limit
from lstm_engine.optim import OPTIMIZERS
from lstm_engine.recorder import record, run_stepwise
from lstm_engine.tasks import TASKS, make_task
from lstm_engine.textsafe import show
from lstm_engine.training import Iteration, TrainConfig, Trainer, build_trainer

from .config import (
    DTYPES,
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_STEPS,
    TASK_SIZES,
    RunConfig,
    check_choice,
    check_forget_bias,
    check_seed,
    check_size,
    default_steps,
    format_bytes,
    is_number,
    peak_bytes,
    takes_length,
    task_info,
    task_sizes,
    trace_bytes,
)
from .history import History
from .levels import max_abs, saturate, symmetric_levels

WATCH = ("training", "example")
MAX_RING = 10_000
MAX_ITERATION = 2**31 - 2       # iteration numbers a Qt slider and progress bar hold
TRAIN_TASKS = tuple(n for n in TASKS if n != "file")


def _takes_length(task: str) -> bool:
    return takes_length(TASKS[task])


@dataclass(frozen=True)
class TrainingSettings:
    """What the training panel chooses. None: the task's default."""

    task: str = "adding"
    length: int | None = None          # sequence length, for tasks that take one
    variant: str = "seed"              # the cell (its forward)
    backward: str = ""                 # the backward's variant; "" = the cell's own
    hidden: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    clip: float | None = None
    seed: int = 0
    init: str | None = None
    forget_bias: float | None = None
    dtype: str = "float64"
    watch: str = "training"
    ring: int = 32                     # passes of recent iterations kept
    layers: int = 1                    # stacked cells of H each
    symbols: int | None = None         # the copy task's sizes (config.TASK_SIZES)
    pattern: int | None = None
    delay: int | None = None

    def task_options(self) -> dict:
        """The engine task's options: its length and sizes, where they are set."""
        options = {"length": self.length} if self.length is not None else {}
        options.update({k: getattr(self, k) for k in TASK_SIZES
                        if getattr(self, k) is not None})
        return options

    def with_(self, **changes) -> TrainingSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainingSettings:
        if not isinstance(d, dict):
            raise UserError("training settings must be an object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserError(f"unknown training setting {unknown[0]!r}")
        return check_settings(cls(**d))

    @property
    def backward_variant(self) -> str:
        return self.backward or self.variant

    @classmethod
    def from_config(cls, cfg: RunConfig, base: TrainingSettings | None = None
                    ) -> TrainingSettings:
        """The settings that train the run ``cfg`` describes (what the training dock starts
        from): its cell, backward, hidden size, seed and dtype, and, when the trainer knows
        its task, the task, sequence length, initialisation and forget bias. What a
        RunConfig does not say (optimiser, learning rate, clipping, watch, ring) and, for a
        task that cannot be trained (``random``, a file), the task and its length come from
        ``base`` (default: the defaults)."""
        base = base or cls()
        trainable = cfg.task in TRAIN_TASKS
        task = cfg.task if trainable else base.task
        sizes = {k: getattr(cfg, k) if trainable else getattr(base, k) for k in TASK_SIZES}
        if trainable:
            length = cfg.steps if _takes_length(task) else None
            default = cfg.init == task_info(task).init       # shown as "default"
            init = cfg.init if cfg.init in INITS and not default else None
            forget_bias = cfg.forget_bias
        else:
            length, init, forget_bias = base.length, base.init, base.forget_bias
        return check_settings(replace(
            base, task=task, length=length, variant=cfg.variant, backward=cfg.backward,
            hidden=cfg.hidden, seed=cfg.seed, init=init, forget_bias=forget_bias,
            dtype=cfg.dtype, layers=cfg.layers if trainable else base.layers, **sizes))


def check_settings(s: TrainingSettings) -> TrainingSettings:
    """The settings with ``backward`` normalised, or UserError with one line."""
    check_choice("task", s.task, TRAIN_TASKS)
    check_choice("variant", s.variant, VARIANTS)
    check_choice("backward", s.backward, VARIANTS, also=("",))
    check_choice("optimizer", s.optimizer, OPTIMIZERS, also=(None,))
    check_choice("initialisation", s.init, INITS, also=(None,))
    check_choice("watch", s.watch, WATCH)
    if isinstance(s.ring, bool) or not isinstance(s.ring, int) or not 1 <= s.ring <= MAX_RING:
        raise UserError(f"the ring size must be an integer from 1 to {MAX_RING}, "
                        f"got {show(s.ring)}")
    check_seed(s.seed)
    for name, value in (("learning rate", s.lr), ("clipping norm", s.clip)):
        if value is not None and not (is_number(value) and value > 0):
            raise UserError(f"the {name} must be a positive number, got {show(value)}")
    check_forget_bias(s.forget_bias)
    check_choice("dtype", s.dtype, DTYPES)
    check_size("number of layers", s.layers, MAX_LAYERS)
    if s.layers > 1 and s.backward not in ("", s.variant):
        raise UserError("the wrong backward is a single cell's example; train 1 layer")
    if s.length is not None and not _takes_length(s.task):
        s = replace(s, length=None)
    takes = task_sizes(s.task)
    unused: dict = {k: None for k in TASK_SIZES if k not in takes}
    s = replace(s, **unused)
    if s.backward == s.variant:
        s = replace(s, backward="")
    _check_memory(s)
    return s


def _check_memory(s: TrainingSettings) -> None:
    """Refuse, from the numbers alone and before anything is built, sizes whose passes
    (the one being recorded and the ``ring`` kept) would not fit in memory."""
    for name, value, high in (("hidden size", s.hidden, MAX_HIDDEN),
                              ("sequence length", s.length, MAX_STEPS)):
        if value is not None:
            check_size(name, value, high)
    info = task_info(s.task)
    steps = s.length or info.steps or default_steps(s.task)
    hidden = s.hidden or info.hidden
    inputs = info.inputs
    if task_sizes(s.task):                  # the copy task: X and T follow from its sizes
        task = make_task(s.task, s.seed, **s.task_options())
        steps, inputs = task.length, task.inputs
    assert inputs is not None                   # an engine task (TRAIN_TASKS) fixes X
    upper = s.layers - 1                    # each layer above reads H inputs
    need = (peak_bytes(steps, inputs, hidden, s.dtype)
            + upper * peak_bytes(steps, hidden, hidden, s.dtype)
            + s.ring * (trace_bytes(steps, inputs, hidden, s.dtype)
                        + upper * trace_bytes(steps, hidden, hidden, s.dtype)))
    have = memory_limit()
    if need > have:
        raise UserError(f"training {s.task} at T={steps}, H={hidden} with {s.ring} passes kept "
                        f"needs about {format_bytes(need)}, more than the "
                        f"{format_bytes(have)} available")


class _Trainer(Trainer):
    """The engine's Trainer; with ``forward`` set, records through the readable cell with
    that forward and ``variant``'s backward (the wrong-backward example)."""

    forward: str | None = None

    def _record(self, params, loss, index):
        if self.forward is None or self.forward == self.variant:
            return super()._record(params, loss, index)
        seq = self.task.sequence(index)
        with np.errstate(all="ignore"):
            return run_stepwise(params, seq.x, seq.y, self.variant, loss,
                                forward_variant=self.forward)


class TrainingRun:
    """A Trainer, the ring of recent passes and the history of one training run."""

    def __init__(self, settings: TrainingSettings, state=None):
        settings = check_settings(settings)
        config = TrainConfig(task=settings.task, task_options=settings.task_options(),
                             seed=settings.seed,
                             variant=settings.backward_variant, hidden=settings.hidden,
                             iterations=0, optimizer=settings.optimizer, lr=settings.lr,
                             clip=settings.clip, init=settings.init,
                             forget_bias=settings.forget_bias, dtype=settings.dtype,
                             layers=settings.layers)
        try:
            base, resolved = build_trainer(config)
        except ValueError as err:
            raise UserError(str(err).splitlines()[0]) from None
        cells = base.params if settings.layers == 1 else base.model.layers
        trainer = _Trainer(base.task, cells, base.loss_fn, base.optimizer,
                           resolved.variant, resolved.clip, resolved.batch, trace_every=1,
                           trace_index=0 if settings.watch == "example" else None,
                           state=state)
        trainer.forward = settings.variant
        self.settings = settings
        self.resolved = resolved
        self.trainer = trainer
        self.history = History()                 # one entry per iteration done
        self._ring: OrderedDict[int, object] = OrderedDict()
        self.failed: int | None = None           # the iteration that met a NaN/Inf
        self._put(trainer.iteration, self.preview())

    # ---- facts --------------------------------------------------------------------------

    @property
    def iterations_done(self) -> int:
        return self.trainer.iteration

    problem_text: str | None = None          # a saved run's problem, when reopened

    @property
    def problem(self):
        return self.trainer.problem or self.problem_text

    @property
    def stopped(self) -> bool:
        return self.trainer.stopped

    def sequence_index(self, iteration: int) -> int:
        """The task sequence the pass of ``iteration`` runs on."""
        if self.settings.watch == "example":
            return 0
        return 1 + iteration * self.trainer.batch

    def run_config(self) -> RunConfig:
        """The session's description of this run (for the title and the text form)."""
        tr = self.latest_trace
        hidden, init, lr = self.resolved.hidden, self.resolved.init, self.resolved.lr
        # build_trainer resolved the defaults and set lr from the optimiser it made
        assert hidden is not None and init is not None and lr is not None
        return RunConfig(task=self.settings.task, variant=self.settings.variant,
                         hidden=hidden, steps=tr.steps, inputs=tr.inputs,
                         seed=self.settings.seed, init=init,
                         dtype=self.settings.dtype, lr=float(lr),
                         backward=self.settings.backward,
                         forget_bias=self.resolved.forget_bias, layers=self.settings.layers,
                         **{k: getattr(self.settings, k) for k in TASK_SIZES})

    # ---- the ring -----------------------------------------------------------------------

    def _put(self, k: int, trace) -> None:
        self._ring[k] = trace
        self._ring.move_to_end(k)
        while len(self._ring) > self.settings.ring:
            self._ring.popitem(last=False)

    def ring_indices(self) -> list[int]:
        return list(self._ring)

    def has(self, k: int) -> bool:
        return k in self._ring

    def trace_at(self, k: int):
        try:
            return self._ring[k]
        except KeyError:
            raise UserError(f"iteration {k} is not in the history of recent passes "
                            f"(kept: {self._span()})") from None

    def _span(self) -> str:
        keys = list(self._ring)
        return f"{keys[0]}…{keys[-1]}" if keys else "none"

    @property
    def latest(self) -> int:
        return next(reversed(self._ring))

    @property
    def latest_trace(self):
        return self._ring[self.latest]

    def set_ring_size(self, n: int) -> None:
        self.settings = check_settings(replace(self.settings, ring=n))
        while len(self._ring) > n:
            self._ring.popitem(last=False)

    def memory_estimate(self, n: int | None = None) -> int:
        """Bytes a ring of ``n`` passes (default: the setting) holds."""
        tr = self.latest_trace
        cells = getattr(tr, "layers", (tr,))              # a stack's: every layer's
        return (n or self.settings.ring) * sum(trace_bytes(c.steps, c.inputs, c.hidden,
                                                           c.dtype.name) for c in cells)

    def memory_text(self, n: int | None = None) -> str:
        return format_bytes(self.memory_estimate(n))

    # ---- running ------------------------------------------------------------------------

    def preview(self):
        """The pass the next iteration computes (recorded now, nothing changes)."""
        tr = self.trainer
        if tr.num_layers > 1:
            return tr._record_model(tr.model, self.sequence_index(tr.iteration))
        return tr._record(tr.params, tr.loss_fn, self.sequence_index(tr.iteration))

    def step(self) -> Iteration:
        """One iteration; its pass goes into the ring and its numbers into the history.
        UserError if the run stopped (a NaN or Inf: reset or change the settings)."""
        if self.trainer.stopped:
            raise UserError(f"training stopped: {self.problem}; reset to start again"
                            if self.problem else "training stopped; reset to start again")
        it = next(self.trainer)
        if it.trace is not None:
            self._put(it.index, it.trace)
        if it.problem is not None:
            self.failed = it.index
        else:
            self.history.append(it.index, float(it.loss), float(it.grad_norm),
                                bool(it.clipped))
        return it

    def history_arrays(self) -> dict[str, np.ndarray]:
        """iteration, loss, grad_norm (float64) and clipped, one entry per iteration."""
        return self.history.arrays()

    def restore_history(self, arrays: dict) -> None:
        """Put back a saved history (``history_arrays`` of an earlier run)."""
        self.history = History.from_arrays(arrays)

    def record_with(self, params, loss_params: dict, iteration: int):
        """The pass of ``iteration`` with given parameters (to rebuild a saved ring)."""
        tr = self.trainer
        loss = tr._loss_with(loss_params)
        return tr._record(params, loss, self.sequence_index(iteration))

    def put(self, k: int, trace) -> None:
        self._put(k, trace)

    def clear_ring(self) -> None:
        self._ring.clear()


def record_run(params, x, y, variant: str, backward: str, loss, dtype):
    """One pass with the cell ``variant`` and the backward of ``backward`` ('' = same)."""
    back = backward or variant
    with np.errstate(all="ignore"):
        if back == variant:
            return record(params, x, y, variant, loss, dtype)
        return run_stepwise(params, x, y, back, loss, dtype, forward_variant=variant)


# ---- what the training dock plots ------------------------------------------------------------

def loss_curve(history: dict, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """The loss curve's (iteration, loss) as float32; on a log scale a loss that is not
    positive is NaN (a gap: log10 of it does not exist)."""
    x = np.asarray(history["iteration"], np.float32)
    y = saturate(history["loss"])                    # a huge loss is drawn at the top
    if log:
        with np.errstate(invalid="ignore"):
            y = np.where(y > 0, y, np.nan).astype(np.float32)
    return x, y


@dataclass(frozen=True)
class GradientImage:
    """The dock's parameter-gradient heatmap: the array (float32), its levels (symmetric,
    ±1 when it is all zero), its largest finite |value| and a caption."""

    image: np.ndarray
    levels: tuple[float, float]
    max_abs: float
    label: str

    @property
    def text(self) -> str:
        return f"{self.label}  max |·| {self.max_abs:.3g}"


def gradient_image(trace, name: str, previous=None, diff: bool = False
                   ) -> GradientImage | None:
    """``name`` of the shown pass, or with ``diff`` its change from the previous
    iteration's pass (None when that pass is not kept)."""
    a = np.asarray(trace[name], np.float64)
    label = name
    if diff:
        if previous is None:
            return None
        with np.errstate(all="ignore"):
            a = a - np.asarray(previous[name], np.float64)
        label = f"{name}(k) − {name}(k−1)"
    m = max_abs(a)
    return GradientImage(saturate(a), symmetric_levels(m), m, label)


def optional_float(text: str, what: str) -> float | None:
    """A number typed into a setting; empty, "default" or "none" is no value."""
    text = text.strip()
    if not text or text == "default" or text == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise UserError(f"the {what} must be a number or empty, got {text!r}") from None


def same_run(run, s: TrainingSettings) -> bool:
    """Whether the settings (the training panel's) describe the run going on (the ring
    size aside; a setting the run left to the task's default matches the value it
    resolved to)."""
    for f in fields(TrainingSettings):
        if f.name == "ring":
            continue
        mine, panel = getattr(run.settings, f.name), getattr(s, f.name)
        if mine == panel:
            continue
        if mine is None and hasattr(run.resolved, f.name) \
                and getattr(run.resolved, f.name) == panel:
            continue
        if f.name == "length" and mine is None and panel == getattr(run.trainer.task,
                                                                     "length", None):
            continue
        return False
    return True
