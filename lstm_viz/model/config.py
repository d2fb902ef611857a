"""A run's configuration and everything that turns one into parameters and data.

This is the one place that knows where tasks, initialisations and the optimiser come
from: the engine's registries (``lstm_engine.tasks``, ``lstm_engine.init``,
``lstm_engine.optim``). The viewer adds one task of its own, ``random``: uniform inputs
and random targets for the toy loss, at any size (benchmarks, stress tests).
No Qt here.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from lstm_engine import memory as _memory
from lstm_engine import tasks as _tasks
from lstm_engine.cell import VARIANTS
from lstm_engine.errors import UserError
from lstm_engine.init import INITS as _ENGINE_INITS
from lstm_engine.io import memory_limit
from lstm_engine.live import live_bytes
from lstm_engine.losses import ToyLoss, make_loss
from lstm_engine.memory import trace_bytes  # the one estimate (the panels import it here)
from lstm_engine.optim import make_optimizer
from lstm_engine.params import PARAM_NAMES, Params
from lstm_engine.textsafe import show
from lstm_engine.training import init_layers

DTYPES = ("float64", "float32")
INITS = tuple(_ENGINE_INITS)
RANDOM = "random"
MAX_HIDDEN = 8192
MAX_INPUTS = 8192
MAX_STEPS = 1_000_000
MAX_SEED = 2**31 - 1             # what the seed controls hold (Qt's 32-bit int)
MAX_FORGET_BIAS = 20.0           # |b_f| beyond this saturates f in float64 anyway
MAX_LAYERS = 16
# Sizes a task takes beside its length (``lstm_engine.tasks``): the copy task's alphabet,
# pattern and delay. Each is a RunConfig field (None: the task's default) and an option of
# the engine task of that name; a task without it ignores it.
TASK_SIZES = ("symbols", "pattern", "delay")


@dataclass(frozen=True)
class TaskInfo:
    name: str
    description: str
    inputs: int | None          # X fixed by the task, None: the user chooses
    steps: int | None           # T fixed by the task, None: the user chooses
    hidden: int                 # default H
    init: str                   # default initialisation
    lr: float                   # default learning rate (of the seed's SGD)


@dataclass(frozen=True)
class RunConfig:
    """What a run is made of. ``steps``/``inputs`` are ignored where the task fixes them."""

    task: str = "published"
    variant: str = "seed"
    hidden: int = 100
    steps: int = 4
    inputs: int = 50
    seed: int = 0
    init: str = "published"
    dtype: str = "float64"
    lr: float = 0.1
    backward: str = ""              # the backward pass's variant; "" = the cell's own
    forget_bias: float | None = None  # None: the task's default
    layers: int = 1                 # stacked cells of H each (> 1: a ModelTrace is shown)
    symbols: int | None = None      # the copy task's sizes (TASK_SIZES); None: its default
    pattern: int | None = None
    delay: int | None = None

    @property
    def backward_variant(self) -> str:
        """The variant whose backward runs (differs from ``variant``: the wrong backward)."""
        return self.backward or self.variant

    def with_(self, **changes) -> RunConfig:
        return replace(self, **changes)


def _engine_task_classes() -> dict:
    return {n: c for n, c in _tasks.TASKS.items() if n != "file"}   # "file" needs a path


def task_names() -> tuple[str, ...]:
    return (*_engine_task_classes(), RANDOM)


def takes_length(cls) -> bool:
    """Whether a task class takes a sequence ``length`` option."""
    return "length" in inspect.signature(cls.__init__).parameters


def task_sizes(task: str) -> dict[str, int]:
    """The sizes (TASK_SIZES) the task takes, with their defaults: ``{"symbols": 4,
    "pattern": 5, "delay": 10}`` for copy, ``{}`` for the others."""
    cls = _engine_task_classes().get(task)
    if cls is None:
        return {}
    params = inspect.signature(cls.__init__).parameters
    return {k: params[k].default for k in TASK_SIZES if k in params}


def task_options(cfg: RunConfig) -> dict:
    """The engine task's options a config sets: its length (for a task that takes one)
    and its sizes (TASK_SIZES) where they are not left to the task."""
    cls = _engine_task_classes().get(cfg.task)
    if cls is None:
        return {}
    options = {"length": cfg.steps} if takes_length(cls) else {}
    options.update({k: getattr(cfg, k) for k in task_sizes(cfg.task)
                    if getattr(cfg, k) is not None})
    return options


def has_readout(task: str) -> bool:
    """Whether the task scores a linear read-out (mse or xent) rather than the toy loss."""
    cls = _engine_task_classes().get(task)
    return cls is not None and cls.loss != "toy"


def readout_text(cfg: RunConfig) -> str:
    """The task's read-out in words ("xent read-out, K=5, at every step"), "" if none."""
    cls = _engine_task_classes().get(cfg.task)
    if cls is None or cls.loss == "toy":
        return "toy loss on h[0]"
    task = _tasks.make_task(cfg.task, cfg.seed, **task_options(cfg))
    where = "every step" if cls.loss_at == "every" else "the last step"
    return f"{cls.loss} read-out, K={task.outputs}, at {where}"


@cache
def task_info(name: str) -> TaskInfo:
    if name == RANDOM:
        return TaskInfo(RANDOM, "uniform random inputs and targets, toy loss on h[0], any size",
                        None, None, 32, "uniform", 0.1)
    classes = _engine_task_classes()
    if name in classes:
        cls = classes[name]
        task = cls(0) if not takes_length(cls) else cls(0, length=_default_length(cls))
        d = getattr(cls, "defaults", {})
        steps = None if takes_length(cls) else task.sequence(0).x.shape[0]
        lr = float(d.get("lr", 0.1)) if d.get("optimizer", "sgd") == "sgd" else 0.1
        return TaskInfo(name, cls.description, task.inputs, steps, d.get("hidden", 32),
                        d.get("init", "uniform"), lr)
    raise UserError(f"unknown task {name!r}; choose one of {', '.join(task_names())}")


def _default_length(cls) -> int:
    return inspect.signature(cls.__init__).parameters["length"].default


def default_config(task: str = "published", **changes) -> RunConfig:
    """The task's own defaults (size, init, learning rate), then ``changes``."""
    info = task_info(task)
    cfg = RunConfig(task=task, hidden=info.hidden, init=info.init, lr=info.lr,
                    steps=info.steps or default_steps(task), inputs=info.inputs or 16)
    return replace(cfg, **changes)


def default_steps(task: str) -> int:
    """The sequence length a task runs at when none is given."""
    cls = _engine_task_classes().get(task)
    return _default_length(cls) if cls is not None else 50


def resolved(cfg: RunConfig) -> RunConfig:
    """``cfg`` with the sizes the task fixes filled in (the copy task's X and T follow
    from its symbols, pattern and delay); sizes the task does not take are None."""
    info = task_info(cfg.task)
    sizes = task_sizes(cfg.task)
    unused: dict = {k: None for k in TASK_SIZES if k not in sizes}
    cfg = replace(cfg, **unused)
    if sizes:                                # the task checks them (one line each)
        task = _tasks.make_task(cfg.task, cfg.seed, **task_options(cfg))
        return replace(cfg, inputs=task.inputs, steps=task.length)
    return replace(cfg, inputs=info.inputs or cfg.inputs, steps=info.steps or cfg.steps)


# ---- checking and memory -----------------------------------------------------------------

def peak_bytes(steps: int, inputs: int, hidden: int, dtype: str = "float64") -> int:
    """Recording's peak: the trace (the engine's estimate, ``lstm_engine.memory``), its
    temporaries (9 vectors of H per step) and the live gradients the views then build
    (``lstm_engine.live.live_bytes``)."""
    item = np.dtype(dtype).itemsize
    return (trace_bytes(steps, inputs, hidden, dtype) + item * steps * 9 * hidden
            + live_bytes(steps, inputs, hidden, dtype))


def check_config(cfg: RunConfig) -> RunConfig:
    """The resolved config, or UserError with a one-line reason it cannot run."""
    check_choice("task", cfg.task, task_names())
    check_choice("variant", cfg.variant, VARIANTS)
    check_choice("initialisation", cfg.init, INITS)
    if cfg.dtype not in DTYPES:
        raise UserError(f"dtype must be float64 or float32, got {show(cfg.dtype)}")
    check_choice("backward", cfg.backward, VARIANTS, also=("",))
    if cfg.backward == cfg.variant:
        cfg = replace(cfg, backward="")
    check_forget_bias(cfg.forget_bias)
    check_size("number of layers", cfg.layers, MAX_LAYERS)
    if cfg.layers > 1 and cfg.backward:
        raise UserError("the wrong backward is a single cell's example; choose 1 layer")
    cfg = resolved(cfg)
    sizes = (("hidden size", cfg.hidden, MAX_HIDDEN), ("number of inputs", cfg.inputs, MAX_INPUTS),
             ("sequence length", cfg.steps, MAX_STEPS))
    for name, value, high in sizes:
        check_size(name, value, high, bounded=False)     # integers before any arithmetic
    # Computed from the numbers alone, before anything is allocated: a size typed too
    # large is refused with what recording it would cost.
    need = peak_bytes(cfg.steps, cfg.inputs, cfg.hidden, cfg.dtype)
    need += (cfg.layers - 1) * peak_bytes(cfg.steps, cfg.hidden, cfg.hidden, cfg.dtype)
    for name, value, high in sizes:
        check_size(name, value, high, need)
    # a run within MIN_LIMIT always fits (memory_limit never says less): no need to ask
    # the system (psutil's import is a noticeable part of starting the app)
    if need > _memory.MIN_LIMIT and need > (have := memory_limit()):
        layers = f", {cfg.layers} layers" if cfg.layers > 1 else ""
        raise UserError(f"recording T={cfg.steps}, X={cfg.inputs}, H={cfg.hidden}{layers} "
                        f"needs about "
                        f"{format_bytes(need)}, more than the {format_bytes(have)} available")
    check_seed(cfg.seed)
    if not (is_number(cfg.lr) and cfg.lr > 0):
        raise UserError(f"the learning rate must be a positive number, got {show(cfg.lr)}")
    return cfg


def is_number(value) -> bool:
    """A finite int or float (not a bool, which is an int to Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and bool(np.isfinite(value))


def check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UserError(f"the seed must be an integer from 0 to {MAX_SEED}, got {show(seed)}")


def check_forget_bias(value) -> None:
    """None (the task's default) or a finite number within ±MAX_FORGET_BIAS."""
    if value is not None and not (is_number(value) and abs(value) <= MAX_FORGET_BIAS):
        raise UserError(f"the forget bias must be a number from {-MAX_FORGET_BIAS:g} to "
                        f"{MAX_FORGET_BIAS:g}, got {show(value)}")


def check_choice(what: str, value, choices, also=()) -> None:
    """UserError unless ``value`` is one of ``choices`` (or of ``also``, accepted but not
    offered: "" for the cell's own backward, None for a default)."""
    if not isinstance(value, Hashable) or (value not in also and value not in choices):
        raise UserError(f"unknown {what} {show(value)}; choose one of {', '.join(choices)}")


def check_size(name: str, value, high: int, need: float | None = None,
               bounded: bool = True) -> None:
    """UserError unless ``value`` is an integer from 1 to ``high`` (from 1 up, when not
    ``bounded``); ``need``, the bytes recording would take, is named in the message."""
    ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 1
          and (not bounded or value <= high))
    if not ok:
        cost = "" if need is None else f" (recording would need about {format_bytes(need)})"
        raise UserError(f"the {name} must be an integer from 1 to {high}, got {show(value)}{cost}")


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# ---- building a run ------------------------------------------------------------------------

@dataclass
class Run:
    params: Params
    x: np.ndarray
    y: np.ndarray
    loss: object
    upper: tuple = ()               # the layers above the first (RunConfig.layers > 1)
    vocab: tuple[str, ...] | None = None    # the text task's characters

    def model(self, variant: str):
        """The whole model (``lstm_engine.model.Model``) of the run's layers and loss."""
        from lstm_engine.model import Model

        return Model((self.params, *self.upper), variant, self.loss)  # type: ignore[arg-type]


class _RandomTask:
    """The viewer's own ``random`` task: uniform inputs and targets for the toy loss."""

    def __init__(self, cfg: RunConfig):
        self.inputs = cfg.inputs
        data = np.random.default_rng([cfg.seed, 1])
        self.x = data.uniform(0.0, 1.0, size=(cfg.steps, cfg.inputs))
        self.y = data.uniform(-0.5, 0.5, size=cfg.steps)

    def make_loss(self, hidden, rng, dtype):
        return ToyLoss()


def build_run(cfg: RunConfig) -> Run:
    """Parameters, inputs, targets and loss of the (checked) config's example sequence.

    The parameters and the loss come from ``init_model``, as a training run's do, so the
    example and iteration 0 of training with the same seed start from the same weights.
    """
    cfg = check_config(cfg)
    task: _RandomTask | _tasks.Task
    if cfg.task == RANDOM:
        task = _RandomTask(cfg)
        x, y = task.x, task.y
        forget_bias = cfg.forget_bias
    else:
        task = _tasks.make_task(cfg.task, cfg.seed, **task_options(cfg))
        seq = task.sequence(0)                         # the example, never trained on
        x, y = seq.x, seq.y
        forget_bias = (cfg.forget_bias if cfg.forget_bias is not None
                       else getattr(task, "defaults", {}).get("forget_bias"))
    # _RandomTask is not an engine Task but has what init_model reads of one (inputs,
    # make_loss): duck typing, which the annotation does not say
    layers, loss = init_layers(task, cfg.init, cfg.hidden, cfg.seed, forget_bias,  # type: ignore[arg-type]
                               cfg.dtype, cfg.layers)
    vocab = getattr(task, "vocab", None)
    return Run(layers[0], x, y, loss, tuple(layers[1:]),
               None if vocab is None else tuple(vocab))


def run_note(cfg: RunConfig) -> str:
    """What is worth knowing about a run where it is described, in one line ("" if
    nothing). The published initialisation reseeds numpy before drawing every array, so
    Wi, Wf, Wo and Wg start equal (and the biases): i, f and o have the same statistics,
    which looks like a bug unless it is said."""
    if cfg.init == "published":
        return "as published: the four gate matrices start equal, so i, f and o match"
    return ""


def config_from_trace(trace, lr: float = 0.1) -> RunConfig:
    """The config that describes a trace read from a file (task ``file``)."""
    return RunConfig(task="file", variant=trace.variant, hidden=trace.hidden, steps=trace.steps,
                     inputs=trace.inputs, seed=0, init="file", dtype=trace.dtype.name, lr=lr)


# ---- one training iteration -----------------------------------------------------------------

def model_sgd_step(trace, lr: float):
    """The seed's update for a whole model's pass (a ModelTrace): every array, each layer's
    cell, the embedding and the read-out, θ -= lr * dL/dθ by the flat names of
    ``Model.arrays()``. Returns the updated Model; UserError if the update is not finite."""
    model, grads = trace.model, trace.grads()
    new = {}
    for name, a in model.arrays().items():
        with np.errstate(all="ignore"):
            new[name] = np.asarray(a - lr * grads[name], dtype=a.dtype)
        if not np.all(np.isfinite(new[name])):
            raise UserError(f"the update made {name} NaN or Inf; lower the learning rate")
    return model.with_arrays(new)


def sgd_step(trace, lr: float):
    """The seed's update on the trace's summed gradients: W -= lr * W_diff for the eight
    cell arrays (and a read-out's own arrays). Returns (new params, new loss)."""
    arrays = {**trace.params.as_dict(), **trace.loss_params}
    grads = {**{p: trace[f"{p}_diff"] for p in PARAM_NAMES},
             **{k[:-5]: v for k, v in trace.loss_grads.items()}}
    opt = make_optimizer("sgd", lr)
    new, _ = opt.update(arrays, grads, opt.init_state(arrays))
    for name, a in new.items():
        if not np.all(np.isfinite(a)):
            raise UserError(f"the update made {name} NaN or Inf; lower the learning rate")
    params = Params(**{p: np.asarray(new[p], dtype=trace.dtype) for p in PARAM_NAMES})
    loss_params = {k: new[k] for k in trace.loss_params}
    loss = make_loss(trace.loss_config, loss_params) if loss_params else trace.loss_fn
    return params, loss
