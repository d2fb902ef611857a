"""Live training in the session: the training run, the iteration shown, whether it runs,
and the history of losses. No Qt.

The run (``training_run.TrainingRun``) trains and keeps a ring of recent passes; this
part decides which of them the session shows. The iteration is a second scrub axis: the
frame stays while the pass changes. ``train`` runs iterations and then shows the newest
pass once; ``train_slice`` is the one slice of it the GUI's timer asks for while training
runs (``widgets/live_driver.py``). Without a training run, ``train_step`` is the seed's
own SGD step on the shown pass, and the history counts those steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.model import record_model
from lstm_engine.trace import GRAD_NAMES

from .breakpoints import problem_frame
from .config import model_sgd_step, sgd_step
from .frame_data import sum_squares
from .history import History, HistoryEntry
from .stops import Stop
from .training_run import TrainingRun, TrainingSettings, record_run


@dataclass(frozen=True)
class TrainReport:
    """What ``Session.train`` did."""

    done: int                       # iterations run
    stop: Stop | None = None        # a breakpoint that held in a new pass
    problem: str | None = None      # the NaN/Inf that stopped the run
    seconds: float = 0.0            # time spent in the iterations (not in showing them)


class LiveTraining:
    """The training state of ``session``: the run, the iteration shown, running or not,
    and the history."""

    def __init__(self, session):
        self._session = session
        self.run: TrainingRun | None = None
        self.iteration: int | None = None         # the iteration whose pass is shown
        self.running = False
        # The run's own History while a run is held (shared, never copied), else the
        # seed's SGD steps; listeners were last told of ``_told`` entries.
        self.history = History()
        self._told = 0

    def _events(self):
        return self._session.events

    # ---- the history ----------------------------------------------------------------------

    def set_history(self, history: History | Iterable[HistoryEntry]) -> None:
        """Hold ``history`` (a run's own is held, not copied); listeners hear of it when
        it differs from the one held."""
        new = history if isinstance(history, History) else History.of(history)
        same = new.same_as(self.history) and len(new) == self._told
        self.history = new
        if not same:
            self._tell()

    def _tell(self) -> None:
        self._told = len(self.history)
        self._events().history_changed.emit(self._told)

    def history_arrays(self) -> dict[str, np.ndarray]:
        """iteration, loss, grad_norm (float64) and clipped of every iteration so far:
        read-only views, no copy."""
        return self.history.arrays()

    def iteration_text(self) -> str:
        """The iteration whose pass is shown (numbered from 0, as the loss curve and the
        scrubber number them) and, while training, how many iterations are done (the
        Training panel's count): "iteration 999 · 1000 done". Else the SGD steps taken."""
        if self.run is not None and self.iteration is not None:
            return f"iteration {self.iteration} · {self.run.iterations_done} done"
        return f"iteration {len(self.history)}"

    def iterations(self) -> list[int]:
        """The iterations whose passes can be shown (the ring)."""
        return [] if self.run is None else self.run.ring_indices()

    # ---- starting and ending a run --------------------------------------------------------

    def start(self, settings: TrainingSettings | None = None) -> None:
        """Start a training run (UserError and nothing changes if the settings are refused);
        the session shows the pass its first iteration computes."""
        run = TrainingRun(settings or TrainingSettings())
        self.install(run, run.latest)

    def install(self, run: TrainingRun, shown: int) -> None:
        """Show ``run`` at iteration ``shown``: its pass replaces the one shown."""
        s = self._session
        with s.events.batch():
            self.pause()
            s.replace_pass(run.trace_at(shown), run.run_config(), path=None,
                           keep_cursor=False, end_training=True)
            self.hold(run, shown)
            self.set_history(run.history)

    def hold(self, run: TrainingRun, shown: int) -> None:
        """Hold ``run``, whose pass of iteration ``shown`` is the one the session shows
        (a run read from a file, or adopted from another session)."""
        with self._session.events.batch():
            self.run = run
            self.iteration = shown
            self._events().training_changed.emit()
            self._events().iteration_changed.emit(shown)

    def end(self) -> None:
        """Leave training mode (the shown pass stays; the session's history goes with
        the pass: ``replace_pass`` clears it). Until then the session keeps a copy of the
        run's history: a later SGD step (``train_step``) appends to the session's own,
        never to the run's."""
        if self.run is None:
            return
        with self._session.events.batch():
            if self.history is self.run.history:
                self.history = History.from_arrays(self.history.arrays())
            self.run = None
            self.running = False
            self.iteration = None
            self._events().training_changed.emit()
            self._events().iteration_changed.emit(None)

    def reset(self) -> None:
        """The same settings from iteration 0 (a fresh Trainer)."""
        if self.run is None:
            raise UserError("no training run to reset; start one first")
        self.start(self.run.settings)

    # ---- running --------------------------------------------------------------------------

    def _started(self) -> TrainingRun:
        """The run held, started (from the settings shown) if there is none."""
        if self.run is None:
            self.start()
        assert self.run is not None                 # start() made it
        return self.run

    def _the_run(self) -> TrainingRun:
        """The run held, where the caller knows there is one (training is running, or one of
        its passes is being shown)."""
        assert self.run is not None
        return self.run

    def resume(self) -> bool:
        """Mark training as running: the GUI's timer then asks for ``train_slice``s."""
        run = self._started()
        if self.running or run.stopped:
            return False
        with self._session.events.batch():
            self._session.pause()
            self.running = True
            self._events().training_changed.emit()
        return True

    def pause(self) -> bool:
        if not self.running:
            return False
        self.running = False
        self._events().training_changed.emit()
        return True

    def toggle(self) -> bool:
        return self.pause() if self.running else self.resume()

    def train(self, iterations: int = 1, time_budget: float | None = None,
              stop_at_breakpoints: bool = True) -> TrainReport:
        """Run up to ``iterations`` iterations (and no longer than ``time_budget`` seconds),
        then show the newest pass once. Stops early on a NaN/Inf (the run keeps its last
        good parameters; the failing pass is shown at the frame of its first bad value,
        ``stop`` saying where) or, with ``stop_at_breakpoints``, on the first pass where an
        enabled condition breakpoint holds: that pass is shown at that frame."""
        s = self._session
        run = self._started()
        if run.stopped:
            raise UserError(f"training stopped: {run.problem}; reset to start again"
                            if run.problem else "training stopped; reset to start again")
        conditions = s.stops.conditions() if stop_at_breakpoints else []
        t0 = time.perf_counter()
        done, stop_at, bad = 0, None, None
        while done < iterations:
            it = run.step()
            done += 1
            if it.problem is not None:
                bad = it.problem
                break
            if conditions and it.trace is not None:
                index = s.stops.first_condition(it.trace, conditions)
                if index is not None:
                    stop_at = (it.index, index)
                    break
            if time_budget is not None and time.perf_counter() - t0 >= time_budget:
                break
        seconds = time.perf_counter() - t0
        stop = None
        with s.events.batch():                     # the views update once, at the end
            self.show_iteration(run.latest)
            if bad is not None:                    # the failing pass at its first bad value
                self.pause()
                s.stops.stop_at(problem_frame(s.frames, bad), run.latest, (bad.where(),))
                s.events.training_changed.emit()
            if stop_at is not None:
                self.pause()
                s.stops.stop_at(stop_at[1], stop_at[0])
                stop = s.stops.stop
        return TrainReport(done, stop, None if bad is None else str(bad), seconds)

    def train_slice(self, time_budget: float = 0.03,
                    until: int | None = None) -> TrainReport | None:
        """One slice of running training (what the GUI's timer asks for): iterations for
        about ``time_budget`` seconds, and none past iteration ``until``, then one update
        of the views. Training pauses when it stops on a NaN/Inf or a breakpoint, when it
        reaches ``until`` or when an iteration fails (the error is raised). None: training
        is not running (or was already at ``until``: it pauses)."""
        if not self.running:
            return None
        left = 10**9 if until is None else until - self._the_run().iterations_done
        if left <= 0:
            self.pause()
            return None
        try:
            report = self.train(left, time_budget)
        except Exception:
            self.pause()                   # a failure is reported once, not once per slice
            raise
        if report.problem is not None or report.stop is not None or \
                (until is not None and self._the_run().iterations_done >= until):
            self.pause()
        return report

    def train_step(self):
        """One training iteration: with live training on, one iteration of it; else the
        seed's SGD step on the shown pass's gradient, then the same sequence recorded
        again with the new parameters. The cursor stays."""
        s = self._session
        if self.run is not None:
            self.train(1)
            return self.history[-1] if self.history else HistoryEntry(0, float("nan"),
                                                                      float("nan"))
        tr, c, mt = s.trace, s.config, s.model_trace
        if mt is not None:                  # a whole model: every layer, embedding, read-out
            grads = mt.grads().values()
            grad_norm = float(np.sqrt(sum(sum_squares(g) for g in grads)))
            model = model_sgd_step(mt, c.lr)
            inputs = mt.tokens if mt.tokens is not None else mt.x
            with np.errstate(all="ignore"):
                trace = record_model(model, inputs, mt.y)
            trace.vocab, trace.sequence, trace.batch = mt.vocab, mt.sequence, mt.batch
            total = mt.total_loss
        else:
            grad_norm = float(np.sqrt(sum(sum_squares(tr[n]) for n in GRAD_NAMES)))
            params, loss = sgd_step(tr, c.lr)
            trace = record_run(params, tr.x, tr.y, c.variant if c.backward else tr.variant,
                               c.backward, loss, tr.dtype)
            trace.vocab = tr.vocab
            total = tr.total_loss
        entry = HistoryEntry(len(self.history), total, grad_norm)
        with s.events.batch():
            s.replace_pass(trace, c, path=s.path, keep_cursor=True, end_training=False)
            self.history.append(entry.iteration, entry.loss, entry.grad_norm)
            self._tell()
        return entry

    # ---- which pass is shown --------------------------------------------------------------

    def show_iteration(self, k: int) -> None:
        s = self._session
        run = self._the_run()
        trace = run.trace_at(k)
        with s.events.batch():
            if trace is not s.trace:
                config = s.config if s.config.task == run.settings.task else run.run_config()
                s.replace_pass(trace, config, path=None, keep_cursor=True, end_training=False)
            if self.history is not run.history:
                self.set_history(run.history)
            elif len(self.history) != self._told:      # the run appended to it
                self._tell()
            if k != self.iteration:
                self.iteration = k
                s.events.iteration_changed.emit(k)

    def seek_iteration(self, k: int) -> bool:
        """Show the pass of iteration ``k`` (clamped to the ring); the frame stays."""
        if self.run is None:
            raise UserError("no training run: start one to scrub through iterations")
        keys = self.run.ring_indices()
        k = min(max(int(k), keys[0]), keys[-1])
        if k not in keys:
            k = min(keys, key=lambda j: abs(j - k))
        if k == self.iteration:
            return False
        with self._session.events.batch():
            self.pause()
            self.show_iteration(k)
        return True

    def previous_trace(self):
        """The pass of the iteration before the shown one, if the ring still has it."""
        if self.run is None or self.iteration is None:
            return None
        k = self.iteration - 1
        if not self.run.has(k):
            return None
        previous = self.run.trace_at(k)         # a stack's: the layer in view, as s.trace
        layers = getattr(previous, "layers", None)
        return previous if layers is None else layers[self._session.view_layer]

    def set_ring_size(self, n: int) -> bool:
        if self.run is None:
            raise UserError("no training run")
        if n == self.run.settings.ring:
            return False
        with self._session.events.batch():
            self.run.set_ring_size(n)
            if self.iteration not in self.run.ring_indices():
                self.show_iteration(self.run.latest)
            self._events().training_changed.emit()
        return True
