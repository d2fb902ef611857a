"""The training loop, as an iterator the CLI and the GUI drive one iteration at a time.

One iteration n:

1. record forward + backward (``recorder.record``; ``model.record_model`` for a stack of
   L > 1 layers) on the task's training sequences ``1 + n*B … (n+1)*B`` (B = batch;
   sequence 0 is kept back as the example to watch);
2. average their gradients over the batch, for the cell (``wg … bo``; every layer's
   ``L0.wg`` … ``L{L-1}.bo`` of a stack) and the loss's read-out (``wy by``; ``loss.wy
   loss.by`` of a stack), and measure each array's norm;
3. optionally clip to a global norm (the norm is reported *before* clipping);
4. let the optimiser compute new arrays, and commit them with the optimiser's state.

Nothing is written in place, so the state after iteration n (``Trainer.state()``) is a
complete checkpoint: a new Trainer restored from it continues exactly as the old one
would have. Pausing is not calling ``next()``; ``stop()`` ends the iteration.

A NaN or Inf is never propagated: the first iteration, phase, step and array where one
appears are reported in the iteration's ``problem``, the parameters stay those of the
last good iteration, and the run stops.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .cell import check_variant
from .errors import UserError
from .init import INITS, check_forget_bias, make_params
from .losses import make_loss
from .memory import OPTIMIZER_STATE, check_fits, parameter_count, record_bytes, training_bytes
from .model import LOSS_PREFIX, Model, ModelTrace, layer_prefix, record_model
from .optim import OPTIMIZERS, clip_by_global_norm, global_norm, grad_norms, make_optimizer
from .params import PARAM_NAMES, Params
from .recorder import record
from .tasks import Task, make_task
from .textsafe import show
from .trace import BACKWARD_NAMES, FORWARD_NAMES, Trace

# The init generator is a child of the seed distinct from the task's per-sequence ones.
_INIT_KEY = 0x5EED


@dataclass(frozen=True)
class NonFinite:
    """Where a NaN or Inf first appeared."""

    iteration: int
    phase: str              # "forward", "loss", "backward", "gradient" or "update"
    array: str              # the recorded array's name (the seed's), or a parameter's
    step: int | None = None  # time step, for per-step arrays

    def where(self) -> str:
        """``first NaN or Inf in s, in the forward pass at step 3`` (no iteration)."""
        during = {"forward": "in the forward pass", "loss": "in the loss",
                  "backward": "in the backward pass", "gradient": "in the summed gradients",
                  "update": "in the optimiser's update"}[self.phase]
        step = f" at step {self.step}" if self.step is not None else ""
        return f"first NaN or Inf in {self.array}, {during}{step}"

    def __str__(self) -> str:
        return f"iteration {self.iteration}: {self.where()}"


@dataclass(frozen=True)
class Iteration:
    """What one iteration reports."""

    index: int
    loss: float                       # L = sum_t l(t), averaged over the batch
    grad_norms: dict[str, float]      # ||dL/dw|| per parameter array, before clipping
    grad_norm: float                  # global norm over all arrays, before clipping
    clipped: bool
    trace: Trace | ModelTrace | None = None   # on request: the pass this iteration started
    problem: NonFinite | None = None  # set on the iteration that met a NaN or Inf


@dataclass(frozen=True)
class TrainState:
    """A checkpoint: everything a Trainer needs to continue from iteration ``iteration``."""

    iteration: int                    # index of the next iteration
    params: Params                    # the cell (layer 0 of a stack)
    loss_params: dict[str, np.ndarray]
    optimizer_state: dict
    upper_layers: tuple[Params, ...] = ()   # layers 1 … L-1 of a stack

    @property
    def layers(self) -> tuple[Params, ...]:
        return (self.params, *self.upper_layers)


def first_nonfinite(trace, iteration: int = 0) -> NonFinite | None:  # noqa: C901 - the walk follows execution order (docstring); split, that order would be spread over helpers
    """The first NaN/Inf of a pass (a Trace, or a ModelTrace of any depth) in execution
    order, or None if everything is finite.

    Order: forward steps 0 … T-1 (at each step the layers bottom-up, each layer's arrays
    in the cell's order), the loss, backward steps T-1 … 0 (the layers top-down), then
    the summed gradients. A stack's arrays are named with their layer (``L1.ds``).
    """
    layers = list(getattr(trace, "layers", None) or [trace])
    L = len(layers)

    def pre(n: int) -> str:
        return layer_prefix(n) if L > 1 else ""

    names = FORWARD_NAMES + ("loss", "dl_dh") + BACKWARD_NAMES
    grads = {}
    for n, tr in enumerate(layers):
        grads.update({f"{pre(n)}{p}_diff": tr[f"{p}_diff"] for p in PARAM_NAMES})
    grads.update({(LOSS_PREFIX if L > 1 else "") + k: v for k, v in trace.loss_grads.items()})
    if getattr(trace, "dE", None) is not None:
        grads["embedding_diff"] = trace.dE
    # Fast path: a non-finite value makes its array's sum non-finite.
    with np.errstate(all="ignore"):
        if all(np.isfinite(np.sum(tr[n])) for tr in layers for n in names) and all(
                np.isfinite(np.sum(g)) for g in grads.values()):
            return None
    T = layers[0].steps

    def bad_steps(tr, name):
        return ~np.isfinite(tr[name]).reshape(T, -1).all(axis=1)

    def earliest(group, which, reverse=False):
        best = None
        for n in which:
            for order, name in enumerate(group):
                rows = np.flatnonzero(bad_steps(layers[n], name))
                if rows.size:
                    t = int(rows[-1] if reverse else rows[0])
                    # at one step: forward bottom-up, backward top-down
                    key = (-t, L - 1 - n, order) if reverse else (t, n, order)
                    if best is None or key < best[0]:
                        best = (key, pre(n) + name, t)
        return best

    for phase, group, which, reverse in (("forward", FORWARD_NAMES, range(L), False),
                                         ("loss", ("loss", "dl_dh"), [L - 1], False),
                                         ("backward", BACKWARD_NAMES, range(L), True)):
        found = earliest(group, which, reverse)
        if found:
            return NonFinite(iteration, phase, found[1], found[2])
    for name, g in grads.items():
        if not np.all(np.isfinite(g)):
            return NonFinite(iteration, "gradient", name)
    return None                       # a sum overflowed, the values themselves are fine


def first_nonfinite_preactivation(trace: Trace, iteration: int = 0) -> NonFinite | None:
    """The first step whose pre-activation ``wk·xc(t) + bk`` overflowed, or None.

    A pass does not record it: an infinite pre-activation saturates its gate
    (tanh(inf) = 1), and every recorded array stays finite. The bound
    ``|z| <= max|wk| · max|xc| · (X+H) + max|bk|`` rules it out for any ordinary pass
    at the cost of reading the parameters once; only when the bound reaches the dtype's
    range are the pre-activations recomputed (one GEMM, as much as the forward's own).
    """
    p = trace.params
    xc = trace.xc
    with np.errstate(all="ignore"):
        reach = float(np.max(np.abs(xc), initial=0.0)) * xc.shape[1]
        limit = float(np.finfo(p.dtype).max) / 2
        first = None
        for k in ("g", "i", "f", "o"):
            w, b = getattr(p, f"w{k}"), getattr(p, f"b{k}")
            bound = (float(np.max(np.abs(w), initial=0.0)) * reach
                     + float(np.max(np.abs(b), initial=0.0)))
            if bound < limit:
                continue
            rows = np.flatnonzero(~np.isfinite(xc @ w.T + b).all(axis=1))
            if rows.size and (first is None or rows[0] < first.step):
                first = NonFinite(iteration, "forward", f"w{k}·xc + b{k}", int(rows[0]))
    return first


def first_problem(trace, iteration: int = 0) -> NonFinite | None:
    """The first NaN or Inf of a pass (a Trace, or a ModelTrace of any depth) in execution
    order, an overflowing pre-activation included (``first_nonfinite_preactivation``, of
    each layer: the earliest step, the lower layer first), or None."""
    def step(p: NonFinite) -> int:
        assert p.step is not None       # a pre-activation, or a forward array: per step
        return p.step

    layers = list(getattr(trace, "layers", None) or [trace])
    pre = None
    for n, tr in enumerate(layers):
        found = first_nonfinite_preactivation(tr, iteration)
        if found is not None and (pre is None or step(found) < step(pre)):
            pre = found if len(layers) == 1 else replace(
                found, array=f"{layer_prefix(n)}{found.array}")
    rec = first_nonfinite(trace, iteration)
    if pre is None or (rec is not None and rec.phase == "forward" and step(rec) < step(pre)):
        return rec
    return pre


class Trainer:
    """Iterates training: ``next(trainer)`` runs one iteration and returns its Iteration.

    ``params`` is the cell's Params, or a sequence of Params, one per layer of a stack
    (layer l > 0 reads layer l-1's h); a stack of one is the single cell. ``trace_every``
    k > 0 attaches the Trace (a ModelTrace for a stack) to every k-th iteration;
    ``request_trace()`` to the next one only. ``trace_index`` chooses the sequence
    traced: None for the (first) training sequence of the iteration, or a task sequence
    number (0 is the example never trained on).
    """

    def __init__(self, task: Task, params, loss, optimizer, variant: str = "seed",
                 clip: float | None = None, batch: int = 1, trace_every: int = 0,
                 trace_index: int | None = None, state: TrainState | None = None):
        layers = (params,) if isinstance(params, Params) else tuple(params)
        if not layers:
            raise UserError("a model needs at least one layer")
        params, upper = layers[0], layers[1:]
        self.task, self.optimizer = task, optimizer
        self.variant = check_variant(variant)
        if clip is not None and not clip > 0:
            raise UserError(f"the clipping norm must be positive, got {clip}")
        if batch < 1:
            raise UserError(f"the batch size must be at least 1, got {batch}")
        self.clip, self.batch = clip, int(batch)
        self.trace_every, self.trace_index = int(trace_every), trace_index
        self._loss_template = loss
        self._want_trace = False
        self._stopped = False
        self.problem: NonFinite | None = None
        if state is None:
            state = TrainState(0, params, loss.params(), {}, upper)
            state = replace(state, optimizer_state=optimizer.init_state(self._flat(state)))
        self.restore(state)

    # ---- state ------------------------------------------------------------------------

    @property
    def iteration(self) -> int:
        """Index of the next iteration (= iterations done so far)."""
        return self._state.iteration

    @property
    def params(self) -> Params:
        """The cell's parameters (layer 0's, for a stack)."""
        return self._state.params

    @property
    def num_layers(self) -> int:
        return len(self._state.layers)

    @property
    def model(self) -> Model:
        """The model as it stands: every layer, the variant and the loss with its read-out."""
        return Model(self._state.layers, self.variant, self.loss_fn)

    @property
    def loss_fn(self):
        """The loss with the current read-out parameters."""
        return self._loss_with(self._state.loss_params)

    def _loss_with(self, loss_params: dict):
        if not loss_params:
            return self._loss_template
        return make_loss(self._loss_template.config(), loss_params)

    def state(self) -> TrainState:
        """A checkpoint (deep copy): ``restore`` it here or in a new Trainer to continue."""
        return _copy_state(self._state)

    def restore(self, state: TrainState) -> None:
        self._state = _copy_state(state)
        self._stopped = False
        self.problem = None

    # ---- control ----------------------------------------------------------------------

    def request_trace(self) -> None:
        """Attach the Trace to the next iteration's record."""
        self._want_trace = True

    def stop(self) -> None:
        """End the iteration: further ``next()`` calls raise StopIteration."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    def __iter__(self):
        return self

    def __next__(self) -> Iteration:
        if self._stopped:
            raise StopIteration
        return self._step()

    def run(self, iterations: int):
        """Yield up to ``iterations`` more iterations (fewer if stopped or a NaN appears)."""
        for _ in range(iterations):
            if self._stopped:
                return
            yield self._step()

    # ---- one iteration ------------------------------------------------------------------

    def _record(self, params, loss, index):
        seq = self.task.sequence(index)
        with np.errstate(all="ignore"):                     # non-finite values are checked
            return record(params, seq.x, seq.y, self.variant, loss)

    def _record_model(self, model: Model, index) -> ModelTrace:
        """A stack's pass on task sequence ``index`` (``_record`` is the single cell's)."""
        seq = self.task.sequence(index)
        with np.errstate(all="ignore"):
            return record_model(model, seq.x, seq.y)

    # A single cell's arrays go by the seed's names (``wg`` … ``bo``, ``wy by``), a stack's
    # by ``Model.arrays()`` (``L0.wg`` …, ``loss.wy``): in the optimiser's state, the
    # gradients' norms and the run file.
    def _flat(self, st: TrainState) -> dict[str, np.ndarray]:
        if not st.upper_layers:
            return {**st.params.as_dict(), **st.loss_params}
        out = {}
        for n, p in enumerate(st.layers):
            out.update({layer_prefix(n) + k: v for k, v in p.as_dict().items()})
        out.update({LOSS_PREFIX + k: v for k, v in st.loss_params.items()})
        return out

    def _state_of(self, n: int, new: dict, opt_state: dict, st: TrainState) -> TrainState:
        if not st.upper_layers:
            cell = Params(**{k: new[k] for k in PARAM_NAMES})
            return TrainState(n, cell, {k: new[k] for k in st.loss_params}, opt_state)
        layers = [Params(**{k: new[layer_prefix(i) + k] for k in PARAM_NAMES})
                  for i in range(len(st.layers))]
        head = {k: new[LOSS_PREFIX + k] for k in st.loss_params}
        return TrainState(n, layers[0], head, opt_state, tuple(layers[1:]))

    def _pass(self, st: TrainState, loss, index):
        """(the pass, its gradients by the names of ``_flat``) on task sequence ``index``."""
        if st.upper_layers:
            tr = self._record_model(Model(st.layers, self.variant, loss), index)
            return tr, tr.grads()
        tr = self._record(st.params, loss, index)
        grads = {name: tr[f"{name}_diff"] for name in PARAM_NAMES}   # read-only views
        grads.update({k[:-5]: v for k, v in tr.loss_grads.items()})  # wy_diff -> wy
        return tr, grads

    def _step(self) -> Iteration:
        st = self._state
        n = st.iteration
        loss = self._loss_with(st.loss_params)
        want_trace = self._want_trace or (self.trace_every > 0 and n % self.trace_every == 0)
        self._want_trace = False

        traces, total, sums = [], 0.0, None
        for j in range(self.batch):
            tr, grads = self._pass(st, loss, 1 + n * self.batch + j)
            problem = first_problem(tr, n)
            if problem is not None:
                return self._fail(problem, tr)
            traces.append(tr)
            total += tr.total_loss
            sums = grads if sums is None else {k: sums[k] + grads[k] for k in sums}
        assert sums is not None                         # batch >= 1: one pass at least
        grads = sums if self.batch == 1 else {k: g / self.batch for k, g in sums.items()}

        norms = grad_norms(grads)
        norm = global_norm(norms)
        clipped = False
        if self.clip is not None:
            grads, norm, clipped = clip_by_global_norm(grads, self.clip, norm)
        arrays = self._flat(st)
        with np.errstate(all="ignore"):
            new, opt_state = self.optimizer.update(arrays, grads, st.optimizer_state)
        for name, a in new.items():
            if not np.all(np.isfinite(a)):
                return self._fail(NonFinite(n, "update", name), traces[0])

        trace = None
        if want_trace:
            trace = (traces[0] if self.trace_index is None
                     else self._pass(st, loss, self.trace_index)[0])
        self._state = self._state_of(n + 1, new, opt_state, st)     # the commit
        return Iteration(n, total / self.batch, norms, norm, clipped, trace)

    def _fail(self, problem: NonFinite, trace: Trace) -> Iteration:
        self.problem = problem
        self._stopped = True
        nan = float("nan")
        return Iteration(problem.iteration, nan, {}, nan, False, trace, problem)


def _copy_state(s: TrainState) -> TrainState:
    def copy(obj):
        if isinstance(obj, dict):
            return {k: copy(v) for k, v in obj.items()}
        if isinstance(obj, np.ndarray):
            return obj.copy()
        return obj
    return TrainState(s.iteration, s.params.copy(), copy(s.loss_params),
                      copy(s.optimizer_state), tuple(p.copy() for p in s.upper_layers))


# ---- configuration: what the CLI and the GUI choose ----------------------------------

@dataclass
class TrainConfig:
    """A training run's settings; None means "the task's default" (``Task.defaults``)."""

    task: str = "published"
    task_options: dict = field(default_factory=dict)
    seed: int = 0
    variant: str = "seed"
    hidden: int | None = None
    iterations: int = 100
    optimizer: str | None = None
    lr: float | None = None
    clip: float | None = None
    init: str | None = None
    forget_bias: float | None = None
    dtype: str = "float64"
    batch: int = 1
    layers: int = 1                   # stacked cells, each of H memory cells

    def resolved(self, task: Task) -> TrainConfig:
        """A copy with every None replaced by the task's default, validated."""
        d = task.defaults
        out = replace(
            self,
            hidden=self.hidden if self.hidden is not None else d.get("hidden", 32),
            optimizer=self.optimizer or d.get("optimizer", "adam"),
            init=self.init or d.get("init", "xavier"),
            forget_bias=(self.forget_bias if self.forget_bias is not None
                         else d.get("forget_bias")),
        )
        if out.lr is None:
            same = out.optimizer == d.get("optimizer")
            out.lr = d["lr"] if same and "lr" in d else None
        if not isinstance(out.hidden, int) or out.hidden < 1:
            raise UserError(f"the hidden size must be a positive integer, got {out.hidden}")
        if isinstance(out.layers, bool) or not isinstance(out.layers, int) or out.layers < 1:
            raise UserError(f"the number of layers must be a positive integer, got "
                            f"{show(out.layers)}")
        if out.iterations < 0:
            raise UserError(f"the number of iterations must be >= 0, got {out.iterations}")
        if out.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {show(out.optimizer)}; "
                            f"choose one of {', '.join(OPTIMIZERS)}")
        if out.init not in INITS:
            raise UserError(f"unknown initialisation {show(out.init)}; "
                            f"choose one of {', '.join(INITS)}")
        if out.dtype not in ("float64", "float32"):
            raise UserError(f"dtype must be float64 or float32, got {show(out.dtype)}")
        if out.forget_bias is not None:
            out.forget_bias = check_forget_bias(out.forget_bias)
        if out.lr is not None and not out.lr > 0:
            raise UserError(f"the learning rate must be positive, got {out.lr}")
        try:
            check_variant(out.variant)
        except ValueError as err:
            raise UserError(str(err)) from None
        return out


def init_model(task: Task, init: str, hidden: int, seed: int, forget_bias=None,
               dtype="float64"):
    """The initial cell parameters and loss (with its read-out) for a task and a seed.

    The draws come from a stream of their own per seed, apart from the task's data, so
    the debugger's example run and a training run with the same seed start identically.
    """
    layers, loss = init_layers(task, init, hidden, seed, forget_bias, dtype)
    return layers[0], loss


def init_layers(task: Task, init: str, hidden: int, seed: int, forget_bias=None,
                dtype="float64", layers: int = 1):
    """(one Params per layer, the loss) of a stack of ``layers`` cells of H = ``hidden``.

    Layer 0 and the read-out are drawn first, exactly as ``init_model`` draws them, then
    layers 1 … L-1 (X = H each) from the same stream: a stack starts with the single
    cell's layer 0 and read-out.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_INIT_KEY,)))
    cells = [make_params(init, task.inputs, hidden, rng, forget_bias, dtype)]
    loss = task.make_loss(hidden, rng, dtype)
    cells += [make_params(init, hidden, hidden, rng, forget_bias, dtype)
              for _ in range(layers - 1)]
    return tuple(cells), loss


def check_training_memory(task: Task, cfg: TrainConfig) -> None:
    """UserError, before anything is allocated, if an iteration of this run would need
    more memory than it may use (``memory.training_bytes``, from the sizes alone; each
    layer above the first adds its own recording and parameter-sized arrays)."""
    hidden, optimizer = cfg.hidden, cfg.optimizer
    assert hidden is not None and optimizer is not None     # resolved: defaults filled in
    need = training_bytes(task.length, task.inputs, hidden, task.outputs, cfg.dtype,
                          optimizer, cfg.batch)
    upper = cfg.layers - 1
    if upper:
        per_array = np.dtype(cfg.dtype).itemsize * parameter_count(hidden, hidden)
        need += upper * (cfg.batch * record_bytes(task.length, hidden, hidden,
                                                  cfg.dtype)
                         + (3 + 2 * OPTIMIZER_STATE.get(optimizer, 2)) * per_array)
    check_fits(need, f"training {task.name} at T={task.length}, X={task.inputs}, "
                     f"H={cfg.hidden}" + (f", {cfg.layers} layers" if upper else "")
               + (f", batch {cfg.batch}" if cfg.batch > 1 else ""))


def build_trainer(config: TrainConfig, **trainer_options) -> tuple[Trainer, TrainConfig]:
    """The task, initial parameters, loss and optimiser a config describes, as a Trainer.

    Returns the Trainer and the resolved config (every default filled in).
    """
    task = make_task(config.task, config.seed, **config.task_options)
    cfg = config.resolved(task)
    check_training_memory(task, cfg)
    assert cfg.init is not None and cfg.hidden is not None and cfg.optimizer is not None
    layers, loss = init_layers(task, cfg.init, cfg.hidden, cfg.seed, cfg.forget_bias,
                               cfg.dtype, cfg.layers)
    optimizer = make_optimizer(cfg.optimizer, cfg.lr)
    cfg.lr = optimizer.lr
    trainer = Trainer(task, layers, loss, optimizer, cfg.variant, cfg.clip, cfg.batch,
                      **trainer_options)
    return trainer, cfg


# ---- history and run files -----------------------------------------------------------

class History:
    """The per-iteration numbers of a run, kept as lists and saved as arrays."""

    def __init__(self):
        self.index: list[int] = []
        self.loss: list[float] = []
        self.grad_norm: list[float] = []
        self.clipped: list[bool] = []
        self.grad_norms: dict[str, list[float]] = {}

    def append(self, it: Iteration) -> None:
        if it.problem is not None:
            return
        self.index.append(it.index)
        self.loss.append(it.loss)
        self.grad_norm.append(it.grad_norm)
        self.clipped.append(it.clipped)
        for k, v in it.grad_norms.items():
            self.grad_norms.setdefault(k, []).append(v)

    def __len__(self) -> int:
        return len(self.loss)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"history.iteration": np.array(self.index, dtype=np.int64),
               "history.loss": np.array(self.loss, dtype=np.float64),
               "history.grad_norm": np.array(self.grad_norm, dtype=np.float64),
               "history.clipped": np.array(self.clipped, dtype=bool)}
        out.update({f"history.grad_norm.{k}": np.array(v, dtype=np.float64)
                    for k, v in self.grad_norms.items()})
        return out


RUN_FORMAT = "lstm-engine-run"


def save_run(path, trainer: Trainer, config: TrainConfig, history: History,
             interrupted: bool = False) -> None:
    """Write the run atomically to an ``.npz``: the final parameters, the history arrays
    and a JSON ``meta`` string. A single cell's run is format 1 (``wg … bo``, the read-out
    as ``loss.wy loss.by``); a stack's is format 2, whose model is stored as a parameters
    file of format 2 stores it (``L0.wg`` …, ``loss.wy``, and the model in ``meta``)."""
    from .io import save_npz_atomic
    from .model_arrays import model_meta

    cfg = asdict(config)
    stacked = trainer.num_layers > 1
    if not stacked:
        cfg.pop("layers", None)           # a single cell's run file is as it always was
    meta = {"format": RUN_FORMAT, "version": 2 if stacked else 1, "config": cfg,
            "task": trainer.task.config(), "loss": trainer.loss_fn.config(),
            "optimizer": trainer.optimizer.config(), "iterations_done": trainer.iteration,
            "interrupted": interrupted,
            "problem": None if trainer.problem is None else str(trainer.problem)}
    if stacked:
        meta.update(model_meta(trainer.model))
        arrays = {**trainer.model.arrays(), "meta": np.array(json.dumps(meta))}
    else:
        arrays = {**trainer.params.as_dict(), "meta": np.array(json.dumps(meta))}
        arrays.update({f"loss.{k}": v for k, v in trainer.loss_fn.params().items()})
    arrays.update(history.arrays())
    save_npz_atomic(path, arrays)
