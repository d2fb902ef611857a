"""The session: all mutable state of the app, and every action the GUI offers. No Qt.

State: the run configuration, the parameters, the current Trace, the cursor (an index
into the pass's frames, see ``frames.py`` for what a frame is and how each move goes),
the breakpoints, the selected variable, play state and speed, the training history and
the file the trace came from.

Events (``session.events``, see ``events.py``) fire once per real change and never for
a no-op: seeking to the current frame, selecting the selected variable or configuring
the current config emit nothing. Actions that fail raise ``UserError`` and change
nothing (the new run, file or update is built completely before it is committed).

Frame semantics (summary of ``frames.py``): a statement frame is the state just after
that statement ran; a step frame ``fwd:t``/``bwd:t`` is the state after the whole step
(the same frame as its last statement); the loss frame follows the forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.io import save_trace
from lstm_engine.recorder import record
from lstm_engine.trace import GRAD_NAMES

from .app_memory import load_trace_to_show
from .breakpoints import (
    MAX_BREAKPOINTS,
    NO_HITS,
    Breakpoint,
    FrameBreakpoint,
    Hits,
    parse_breakpoint,
    problem_frame,
)
from .config import RunConfig, build_run, check_config, config_from_trace, default_config, sgd_step
from .events import SessionEvents
from .frame_data import VARIABLES, FrameData, sum_squares
from .frames import Frame, FrameModel
from .training_run import TrainingRun, TrainingSettings, record_run

SPEEDS = (1, 2, 5, 10, 25, 60, 120, 500)      # frames per second offered by the GUI
MIN_SPEED, MAX_SPEED = 0.1, 5000.0


@dataclass(frozen=True)
class HistoryEntry:
    iteration: int          # the update's number, 0 first
    loss: float             # L of the pass the update was computed from
    grad_norm: float        # global norm of that pass's gradient


@dataclass(frozen=True)
class Stop:
    """Where continue, play or training stopped on a condition, and why."""

    index: int                      # the frame
    frame: str                      # its text form
    reasons: tuple[str, ...]        # one per breakpoint that holds there
    iteration: int | None = None    # the training iteration, when training stopped

    def text(self) -> str:
        where = (self.frame if self.iteration is None
                 else f"iteration {self.iteration}, {self.frame}")
        return f"stopped at {where}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class TrainReport:
    """What ``Session.train`` did."""

    done: int                       # iterations run
    stop: Stop | None = None        # a breakpoint that held in a new pass
    problem: str | None = None      # the NaN/Inf that stopped the run
    seconds: float = 0.0            # time spent in the iterations (not in showing them)


def _frame_data(trace, config: RunConfig) -> FrameData:
    """The FrameData of a pass recorded under ``config`` (whose forward cell is
    ``config.variant`` even when its backward, the trace's variant, is another)."""
    return FrameData(trace, config.variant if config.backward else None)


class Session:
    """Holds a run and a cursor. ``Session()`` opens the published example at frame 0."""

    def __init__(self, config: RunConfig | None = None, trace=None):
        self.events = SessionEvents()
        self._breakpoints: list[Breakpoint] = []
        self._history: list[HistoryEntry] = []
        self._selected: str | None = "h"
        self._playing = False
        self._speed = 10.0
        self._path: str | None = None
        self._cursor = 0
        self._hit_cache: dict[str, tuple[object, Hits]] = {}
        self._stop: Stop | None = None
        self._training: TrainingRun | None = None
        self._iteration: int | None = None
        self._training_running = False
        self._gradchecks: dict[int, tuple[object, object]] = {}
        self._quick: dict[int, tuple[object, dict]] = {}
        if trace is None:
            config = check_config(config or default_config())
            trace = self._record(config)
        else:
            config = config or config_from_trace(trace)
        self._config = config
        self._trace = trace
        self._data = _frame_data(trace, config)

    # ---- state ------------------------------------------------------------------------

    @property
    def config(self) -> RunConfig:
        return self._config

    @property
    def trace(self):
        return self._trace

    @property
    def params(self):
        return self._trace.params

    @property
    def data(self) -> FrameData:
        return self._data

    @property
    def frames(self):
        return self._data.model

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def frame(self) -> Frame:
        return self.frames.frame(self._cursor)

    @property
    def frame_text(self) -> str:
        return str(self.frame)

    @property
    def breakpoints(self) -> tuple[Breakpoint, ...]:
        return tuple(self._breakpoints)

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return tuple(self._history)

    @property
    def selected(self) -> str | None:
        return self._selected

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def path(self) -> str | None:
        return self._path

    # ---- the cursor -------------------------------------------------------------------

    def seek(self, index: int) -> bool:
        """Move the cursor to ``index`` (clamped to the frames). True if it moved."""
        index = self.frames.clamp(index)
        if index == self._cursor:
            return False
        self._cursor = index
        self.events.frame_changed.emit(index)
        return True

    def goto(self, frame: Frame | str) -> bool:
        """Move to a frame given as a Frame or its text form; UserError if there is none."""
        return self.seek(self.frames.index(frame))

    def first(self) -> bool:
        return self.seek(0)

    def last(self) -> bool:
        return self.seek(self.frames.last)

    def next_frame(self) -> bool:
        return self.seek(self._cursor + 1)

    def prev_frame(self) -> bool:
        return self.seek(self._cursor - 1)

    def step_into(self) -> bool:
        """The next statement (entering the next step from a step's end)."""
        return self.seek(self._cursor + 1)

    def step_back_into(self) -> bool:
        return self.seek(self._cursor - 1)

    def step_over(self) -> bool:
        """The next time step's frame: the end of this step, or of the next one."""
        return self.seek(self.frames.next_step_end(self._cursor))

    def step_back_over(self) -> bool:
        """The previous time step's frame (the state before this step began)."""
        return self.seek(self.frames.prev_step_end(self._cursor))

    def step_out(self) -> bool:
        """The end of this step; at a step's end, the end of the pass."""
        return self.seek(self.frames.step_out(self._cursor))

    def step_back_out(self) -> bool:
        """The first statement of this step; at it, the start of the pass."""
        return self.seek(self.frames.step_back_out(self._cursor))

    def continue_(self) -> bool:
        """The next frame where an enabled breakpoint holds, or the last frame."""
        found = self._next_hit(self._cursor, +1)
        if found is None:
            moved = self.seek(self.frames.last)
            if moved:                       # (a no-op at the end stays silent)
                self.events.no_hit.emit(self._no_hit_text("at the end of the pass"))
            return moved
        return self._stop_at(found)

    def reverse_continue(self) -> bool:
        """The previous frame where an enabled breakpoint holds, or the first frame."""
        found = self._next_hit(self._cursor, -1)
        if found is None:
            moved = self.seek(0)
            if moved:                       # (a no-op at the start stays silent)
                self.events.no_hit.emit(self._no_hit_text("at the start of the pass"))
            return moved
        return self._stop_at(found)

    def _no_hit_text(self, where: str) -> str:
        """Why continuing stopped where it did: no breakpoint held on the way."""
        if not any(bp.enabled for bp in self._breakpoints):
            return f"no breakpoint enabled — {where}"
        return f"no breakpoint hit — {where}"

    def _next_hit(self, start: int, direction: int) -> int | None:
        best = None
        for bp in self._breakpoints:
            if not bp.enabled:
                continue
            hits = self.breakpoint_hits(bp)
            k = hits.after(start) if direction > 0 else hits.before(start)
            if k is None:
                continue
            i = int(hits.indices[k])
            if best is None or (i - best) * direction < 0:
                best = i
        return best

    def _reasons_at(self, index: int, trace=None) -> list[tuple[Breakpoint, str]]:
        out = []
        for bp in self._breakpoints:
            if not bp.enabled:
                continue
            hits = self.breakpoint_hits(bp, trace)
            k = hits.at(index)
            if k is not None:
                out.append((bp, bp.reason(hits, k)))
        return out

    def _hits(self, index: int) -> bool:
        return bool(self._reasons_at(index))

    def _stop_at(self, index: int, iteration: int | None = None,
                 reasons: tuple[str, ...] = ()) -> bool:
        """Move to a frame where breakpoints hold (or for ``reasons`` of its own): count the
        hits, keep the reasons."""
        found = self._reasons_at(index)
        for bp, _ in found:
            bp.hit_count += 1
        moved = self.seek(index)
        self._set_stop(Stop(index, self.frames.text(index),
                            (*reasons, *(r for _, r in found)), iteration))
        if found:
            self.events.breakpoints_changed.emit()
        return moved

    def _set_stop(self, stop: Stop | None) -> None:
        if stop != self._stop:
            self._stop = stop
            self.events.stopped.emit(stop)

    @property
    def stop(self) -> Stop | None:
        """The last stop on a breakpoint (cleared when the pass changes)."""
        return self._stop

    def breakpoint_hits(self, bp: Breakpoint, trace=None) -> Hits:
        """Where ``bp`` holds in the current pass (or ``trace``), evaluated once per pass."""
        trace = self._trace if trace is None else trace
        key = bp.spec()
        found = self._hit_cache.get(key)
        if found is not None and found[0] is trace:
            return found[1]
        model = self.frames if trace is self._trace else FrameModel(trace.steps)
        try:
            with np.errstate(all="ignore"):
                hits = bp.evaluate(trace, model, self)
        except UserError:
            hits = NO_HITS
        if trace is self._trace:
            self._hit_cache[key] = (trace, hits)
        return hits

    # ---- play -------------------------------------------------------------------------

    def play(self) -> bool:
        """Start playing (from the first frame if the cursor is at the last)."""
        if self._playing:
            return False
        if self._cursor == self.frames.last:
            self.seek(0)
        self._set_playing(True)
        return True

    def pause(self) -> bool:
        if not self._playing:
            return False
        self._set_playing(False)
        return True

    def toggle_play(self) -> bool:
        return self.pause() if self._playing else self.play()

    def tick(self) -> bool:
        """One frame of playback: advance, and pause at the end or at a breakpoint.
        Returns whether playback goes on."""
        if not self._playing:
            return False
        self.seek(self._cursor + 1)
        if self._hits(self._cursor):
            self._set_playing(False)
            self._stop_at(self._cursor)
        elif self._cursor == self.frames.last:
            self._set_playing(False)
        return self._playing

    def _set_playing(self, value: bool) -> None:
        self._playing = value
        self.events.playing_changed.emit(value)

    def set_speed(self, frames_per_second: float) -> bool:
        """Frames per second of play, held between MIN_SPEED and MAX_SPEED; UserError for
        a value that is not a finite number (a NaN would pass both bounds)."""
        if isinstance(frames_per_second, bool) or not isinstance(
                frames_per_second, int | float | np.integer | np.floating) \
                or not np.isfinite(frames_per_second):
            raise UserError(f"the speed must be a finite number of frames per second, "
                            f"got {frames_per_second!r}")
        value = float(min(max(frames_per_second, MIN_SPEED), MAX_SPEED))
        if value == self._speed:
            return False
        self._speed = value
        self.events.speed_changed.emit(value)
        return True

    # ---- breakpoints --------------------------------------------------------------------

    def _index_of(self, bp: Breakpoint) -> int | None:
        if bp.frame is None:
            return None
        try:
            return self.frames.index(bp.frame)
        except UserError:
            return None

    def breakpoint_indices(self) -> list[int]:
        """Frame indices of the breakpoints that sit at one frame (for the timeline)."""
        out = (self._index_of(bp) for bp in self._breakpoints)
        return sorted(i for i in out if i is not None)

    @staticmethod
    def _as_breakpoint(bp: Breakpoint | Frame | str) -> Breakpoint:
        if isinstance(bp, Breakpoint):
            return bp
        if isinstance(bp, Frame):
            return FrameBreakpoint(bp)
        return parse_breakpoint(bp)

    def _find(self, bp: Breakpoint | Frame | str) -> Breakpoint | None:
        bp = self._as_breakpoint(bp)
        for have in self._breakpoints:
            if have == bp:
                return have
        return None

    def add_breakpoint(self, bp: Breakpoint | Frame | str) -> bool:
        """Add a frame breakpoint (Frame or ``fwd:3``) or a condition (a Breakpoint or its
        spec, e.g. ``norm ds < 1e-6``). False if the same one is there already."""
        bp = self._as_breakpoint(bp)
        if isinstance(bp, FrameBreakpoint):
            self.frames.index(bp.frame)                   # UserError if it is not in this run
        if bp in self._breakpoints:
            return False
        if len(self._breakpoints) >= MAX_BREAKPOINTS:
            raise UserError(f"there are {MAX_BREAKPOINTS} breakpoints already, the most a "
                            "session keeps; remove some first")
        self._breakpoints.append(bp)
        self.events.breakpoints_changed.emit()
        return True

    def add_breakpoints(self, bps) -> int:
        """Add many breakpoints at once (a saved session's), in linear time and with one
        event: the same ones twice count once; UserError (nothing added) for a frame
        breakpoint outside this run or for more than MAX_BREAKPOINTS in all. Returns how
        many were added."""
        have = {bp.spec() for bp in self._breakpoints}
        new = []
        for bp in bps:
            bp = self._as_breakpoint(bp)
            spec = bp.spec()
            if spec in have:
                continue
            if isinstance(bp, FrameBreakpoint):
                self.frames.index(bp.frame)
            have.add(spec)
            new.append(bp)
        if len(self._breakpoints) + len(new) > MAX_BREAKPOINTS:
            raise UserError(f"{len(self._breakpoints) + len(new)} breakpoints, more than the "
                            f"{MAX_BREAKPOINTS} a session keeps")
        if new:
            self._breakpoints.extend(new)
            self.events.breakpoints_changed.emit()
        return len(new)

    def remove_breakpoint(self, bp: Breakpoint | Frame | str) -> bool:
        have = self._find(bp)
        if have is None:
            return False
        self._breakpoints.remove(have)
        self._hit_cache.pop(have.spec(), None)
        self.events.breakpoints_changed.emit()
        return True

    def set_breakpoint_enabled(self, bp: Breakpoint | Frame | str, enabled: bool) -> bool:
        have = self._find(bp)
        if have is None:
            raise UserError(f"there is no breakpoint {self._as_breakpoint(bp).spec()!r}")
        if have.enabled == bool(enabled):
            return False
        have.enabled = bool(enabled)
        self.events.breakpoints_changed.emit()
        return True

    def reset_hit_counts(self) -> bool:
        if not any(bp.hit_count for bp in self._breakpoints):
            return False
        for bp in self._breakpoints:
            bp.hit_count = 0
        self.events.breakpoints_changed.emit()
        return True

    def condition_indices(self) -> list[int]:
        """Frames where an enabled condition holds in this pass (for timeline marks)."""
        out = set()
        for bp in self._breakpoints:
            if bp.enabled and bp.frame is None:
                out.update(int(i) for i in self.breakpoint_hits(bp).indices[:2000])
        return sorted(out)

    def toggle_breakpoint(self, frame: Frame | str | None = None) -> bool:
        """Add a breakpoint at ``frame`` (default: the cursor's), or remove it. Returns
        whether there is one now."""
        bp = FrameBreakpoint(self.frame if frame is None else frame)
        if bp in self._breakpoints:
            self.remove_breakpoint(bp)
            return False
        self.add_breakpoint(bp)
        return True

    def clear_breakpoints(self) -> bool:
        if not self._breakpoints:
            return False
        self._breakpoints.clear()
        if self._stop is not None and self._stop.iteration is None:
            self._set_stop(None)            # "stopped at … breakpoint …" named what is gone
        self.events.breakpoints_changed.emit()
        return True

    # ---- selection -----------------------------------------------------------------------

    def select(self, name: str | None) -> bool:
        """Choose the variable whose vector is plotted (None: none)."""
        if name is not None and name not in VARIABLES:
            raise UserError(f"there is no variable {name!r}; choose one of {', '.join(VARIABLES)}")
        if name == self._selected:
            return False
        self._selected = name
        self.events.selection_changed.emit(name)
        return True

    # ---- runs ----------------------------------------------------------------------------

    @staticmethod
    def _record(config: RunConfig):
        run = build_run(config)
        try:
            return record_run(run.params, run.x, run.y, config.variant, config.backward,
                              run.loss, config.dtype)
        except ValueError as err:
            raise UserError(f"cannot record this run: {err}") from None

    def configure(self, config: RunConfig) -> bool:
        """A new run when the configuration changes (nothing happens otherwise)."""
        if self._config.task == "file" and config.task == "file":
            return self._rerecord_file(config)
        config = check_config(config)
        if config == self._config:
            return False
        trace = self._record(config)
        self._commit(trace, config, path=None, keep_cursor=False, clear_history=True)
        return True

    def _rerecord_file(self, config: RunConfig) -> bool:
        """A trace from a file: the same data and parameters, another variant or dtype."""
        if config == self._config:
            return False
        old = self._config
        if (config.hidden, config.steps, config.inputs) != (old.hidden, old.steps, old.inputs):
            raise UserError("the sizes of a run read from a file are those of the file")
        tr = self._trace
        try:
            with np.errstate(all="ignore"):
                trace = record(tr.params, tr.x, tr.y, config.variant, tr.loss_fn, config.dtype)
        except ValueError as err:
            raise UserError(f"cannot record this run: {err}") from None
        self._commit(trace, config, path=self._path, keep_cursor=True, clear_history=True)
        return True

    def train_step(self) -> HistoryEntry:
        """One training iteration: with live training on, one iteration of it; else the
        seed's SGD step on the current pass's gradient, then the same sequence recorded
        again with the new parameters. The cursor stays."""
        if self._training is not None:
            self.train(1)
            return self.history[-1] if self.history else HistoryEntry(0, float("nan"),
                                                                      float("nan"))
        tr = self._trace
        grad_norm = float(np.sqrt(sum(sum_squares(tr[n]) for n in GRAD_NAMES)))
        params, loss = sgd_step(tr, self._config.lr)
        c = self._config
        trace = record_run(params, tr.x, tr.y, c.variant if c.backward else tr.variant,
                           c.backward, loss, tr.dtype)
        entry = HistoryEntry(len(self._history), tr.total_loss, grad_norm)
        self._commit(trace, self._config, path=self._path, keep_cursor=True, clear_history=False)
        self._history.append(entry)
        self.events.history_changed.emit(self.history)
        return entry

    # ---- live training: iteration is a second scrub axis ---------------------------------

    @property
    def training(self) -> TrainingRun | None:
        return self._training

    @property
    def iteration(self) -> int | None:
        """The training iteration whose pass is shown (None: not training)."""
        return self._iteration

    def iteration_text(self) -> str:
        """The iteration whose pass is shown, and how many there are: while training, the
        scrubbed iteration of the run's latest; else the SGD steps taken so far."""
        if self._training is not None and self._iteration is not None:
            return f"iteration {self._iteration} / {self._training.latest}"
        return f"iteration {len(self._history)}"

    @property
    def training_running(self) -> bool:
        return self._training_running

    def iterations(self) -> list[int]:
        """The iterations whose passes can be shown (the ring)."""
        return [] if self._training is None else self._training.ring_indices()

    def start_training(self, settings: TrainingSettings | None = None) -> None:
        """Start a training run (UserError and nothing changes if the settings are refused);
        the views show the pass its first iteration computes."""
        run = TrainingRun(settings or TrainingSettings())
        self._install_training(run, run.latest)

    def _install_training(self, run: TrainingRun, shown: int) -> None:
        self.pause_training()
        config = run.run_config()
        trace = run.trace_at(shown)
        self._commit(trace, config, path=None, keep_cursor=False, clear_history=True)
        self._training = run
        self._iteration = shown
        self._history = [HistoryEntry(r.iteration, r.loss, r.grad_norm) for r in run.records]
        self.events.history_changed.emit(self.history)
        self.events.training_changed.emit()
        self.events.iteration_changed.emit(shown)

    def _end_training(self) -> None:
        self._training = None
        self._training_running = False
        self._iteration = None
        self.events.training_changed.emit()
        self.events.iteration_changed.emit(None)

    def stop_training(self) -> bool:
        """Leave training mode (the shown pass stays)."""
        if self._training is None:
            return False
        self._end_training()
        return True

    def reset_training(self) -> None:
        """The same settings from iteration 0 (a fresh Trainer)."""
        if self._training is None:
            raise UserError("no training run to reset; start one first")
        self.start_training(self._training.settings)

    def run_training(self) -> bool:
        """Mark training as running: the GUI then calls ``train_slice`` repeatedly."""
        if self._training is None:
            self.start_training()
        if self._training_running or self._training.stopped:
            return False
        self.pause()
        self._training_running = True
        self.events.training_changed.emit()
        return True

    def pause_training(self) -> bool:
        if not self._training_running:
            return False
        self._training_running = False
        self.events.training_changed.emit()
        return True

    def toggle_training(self) -> bool:
        return self.pause_training() if self._training_running else self.run_training()

    def train(self, iterations: int = 1, time_budget: float | None = None,
              stop_at_breakpoints: bool = True) -> TrainReport:
        """Run up to ``iterations`` iterations (and no longer than ``time_budget`` seconds),
        then show the newest pass once. Stops early on a NaN/Inf (the run keeps its last
        good parameters; the failing pass is shown at the frame of its first bad value,
        ``stop`` saying where) or, with ``stop_at_breakpoints``, on the first pass where an
        enabled condition breakpoint holds: that pass is shown at that frame."""
        import time

        if self._training is None:
            self.start_training()
        run = self._training
        if run.stopped:
            raise UserError(f"training stopped: {run.problem}; reset to start again"
                            if run.problem else "training stopped; reset to start again")
        conditions = [bp for bp in self._breakpoints
                      if bp.enabled and not bp.per_frame_only] if stop_at_breakpoints else []
        t0 = time.perf_counter()
        done, stop_at, bad = 0, None, None
        while done < iterations:
            it = run.step()
            done += 1
            if it.problem is not None:
                bad = it.problem
                break
            if conditions and it.trace is not None:
                index = self._first_condition(it.trace, conditions)
                if index is not None:
                    stop_at = (it.index, index)
                    break
            if time_budget is not None and time.perf_counter() - t0 >= time_budget:
                break
        seconds = time.perf_counter() - t0
        self._show_iteration(run.latest)
        if bad is not None:              # show the failing pass at its first bad value
            self.pause_training()
            self._stop_at(problem_frame(self.frames, bad), run.latest, (bad.where(),))
            self.events.training_changed.emit()
        stop = None
        if stop_at is not None:
            self.pause_training()
            self._stop_at(stop_at[1], stop_at[0])
            stop = self._stop
        return TrainReport(done, stop, None if bad is None else str(bad), seconds)

    def train_slice(self, time_budget: float = 0.03) -> TrainReport | None:
        """What the GUI's timer calls while training runs: iterations for about
        ``time_budget`` seconds, then one update of the views."""
        if not self._training_running:
            return None
        report = self.train(10**9, time_budget)
        if report.problem is not None or report.stop is not None:
            self.pause_training()
        return report

    def _first_condition(self, trace, conditions) -> int | None:
        best = None
        for bp in conditions:
            hits = self.breakpoint_hits(bp, trace)
            if len(hits) and (best is None or hits.indices[0] < best):
                best = int(hits.indices[0])
        return best

    def _show_iteration(self, k: int) -> None:
        run = self._training
        trace = run.trace_at(k)
        n_before = len(self._history)
        self._history.extend(HistoryEntry(r.iteration, r.loss, r.grad_norm)
                             for r in run.records[n_before:])
        if trace is not self._trace:
            self._commit(trace, self._config if self._config.task == run.settings.task
                         else run.run_config(), path=None, keep_cursor=True,
                         clear_history=False)
        if len(self._history) != n_before:
            self.events.history_changed.emit(self.history)
        if k != self._iteration:
            self._iteration = k
            self.events.iteration_changed.emit(k)

    def seek_iteration(self, k: int) -> bool:
        """Show the pass of iteration ``k`` (clamped to the ring); the frame stays."""
        if self._training is None:
            raise UserError("no training run: start one to scrub through iterations")
        keys = self._training.ring_indices()
        k = min(max(int(k), keys[0]), keys[-1])
        if k not in keys:
            k = min(keys, key=lambda j: abs(j - k))
        if k == self._iteration:
            return False
        self.pause_training()
        self._show_iteration(k)
        return True

    def previous_trace(self):
        """The pass of the iteration before the shown one, if the ring still has it."""
        if self._training is None or self._iteration is None:
            return None
        k = self._iteration - 1
        return self._training.trace_at(k) if self._training.has(k) else None

    def set_ring_size(self, n: int) -> bool:
        if self._training is None:
            raise UserError("no training run")
        if n == self._training.settings.ring:
            return False
        self._training.set_ring_size(n)
        if self._iteration not in self._training.ring_indices():
            self._show_iteration(self._training.latest)
        self.events.training_changed.emit()
        return True

    def history_arrays(self) -> dict[str, np.ndarray]:
        """iteration, loss and grad_norm of every iteration so far (float64 arrays)."""
        if self._training is not None:
            return self._training.history_arrays()
        h = self._history
        return {"iteration": np.array([e.iteration for e in h], np.int64),
                "loss": np.array([e.loss for e in h], np.float64),
                "grad_norm": np.array([e.grad_norm for e in h], np.float64),
                "clipped": np.zeros(len(h), bool)}

    # ---- gradient checks -------------------------------------------------------------------

    @property
    def forward_variant(self) -> str:
        """The forward the current pass ran (differs from ``trace.variant`` for the wrong
        backward, whose trace carries its backward's variant)."""
        return self._config.variant

    def set_gradcheck(self, result, trace=None) -> None:
        """Attach a full gradient check's result to a pass (default: the current one)."""
        trace = self._trace if trace is None else trace
        self._gradchecks[id(trace)] = (trace, result)
        while len(self._gradchecks) > 8:
            self._gradchecks.pop(next(iter(self._gradchecks)))
        self._hit_cache = {k: v for k, v in self._hit_cache.items()
                           if not k.startswith("gradcheck")}
        self.events.gradcheck_changed.emit(result)

    def gradcheck_result(self, trace=None):
        trace = self._trace if trace is None else trace
        found = self._gradchecks.get(id(trace))
        return found[1] if found is not None and found[0] is trace else None

    def run_gradient_check(self, **options):
        """The engine's finite-difference check on the current pass (can take seconds;
        the GUI runs ``checks.full_check`` in a worker and calls ``set_gradcheck``)."""
        from .checks import full_check

        result = full_check(self._trace, self.forward_variant, **options)
        self.set_gradcheck(result)
        return result

    def gradcheck_errors(self, trace) -> dict[str, float]:
        """Max relative error per array of a pass: from a full check if one ran on it,
        else from the quick directional check (cached per pass)."""
        full = self.gradcheck_result(trace)
        if full is not None:
            return {name: a.max_error for name, a in full.arrays.items()}
        found = self._quick.get(id(trace))
        if found is not None and found[0] is trace:
            return found[1]
        from .checks import quick_check

        errors = quick_check(trace, self.forward_variant)
        self._quick[id(trace)] = (trace, errors)
        while len(self._quick) > 8:
            self._quick.pop(next(iter(self._quick)))
        return errors

    def adopt(self, other: Session) -> None:
        """Take over everything ``other`` holds (a session read from a file or a text):
        its pass, run, training, breakpoints, history, cursor, selection and speed."""
        self.pause()
        self.pause_training()
        self._commit(other.trace, other.config, path=other.path, keep_cursor=False,
                     clear_history=True)
        self._breakpoints = list(other._breakpoints)
        self._hit_cache.clear()
        self.events.breakpoints_changed.emit()
        self._gradchecks.update(other._gradchecks)
        if other._training is not None:
            self._training = other._training
            self._iteration = other._iteration
            self.events.training_changed.emit()
            self.events.iteration_changed.emit(self._iteration)
        self._history = list(other._history)
        self.events.history_changed.emit(self.history)
        self.seek(other.cursor)
        self.select(other.selected)
        self.set_speed(other.speed)

    def open(self, path) -> None:
        """Read a trace file; on any problem (one that the app could not show in the
        memory there is, too: ``app_memory``) UserError and the session is unchanged."""
        trace = load_trace_to_show(path)
        self._commit(trace, config_from_trace(trace, self._config.lr), path=str(path),
                     keep_cursor=False, clear_history=True)

    def save(self, path) -> None:
        """Write the current trace (atomically); UserError naming the file if that fails,
        and the file that was there is unchanged."""
        save_trace(path, self._trace)
        if str(path) != self._path:
            self._path = str(path)
            self.events.path_changed.emit(self._path)

    def _commit(self, trace, config: RunConfig, path, keep_cursor: bool,
                clear_history: bool) -> None:
        self.pause()
        old_text = self.frame_text
        self._trace = trace
        self._data = _frame_data(trace, config)
        self._hit_cache.clear()
        self._set_stop(None)
        if clear_history and self._training is not None:
            self._end_training()
        kept = [bp for bp in self._breakpoints
                if bp.frame is None or self._index_of(bp) is not None]
        bps_changed = len(kept) != len(self._breakpoints)
        self._breakpoints = kept
        if keep_cursor:
            try:
                cursor = self.frames.index(old_text)
            except UserError:
                cursor = 0
        else:
            cursor = 0
        self._cursor = self.frames.clamp(cursor)
        config_changed = config != self._config
        self._config = config
        self.events.trace_changed.emit(trace)
        if config_changed:
            self.events.config_changed.emit(config)
        if bps_changed:
            self.events.breakpoints_changed.emit()
        self.events.frame_changed.emit(self._cursor)
        if path != self._path:
            self._path = path
            self.events.path_changed.emit(path)
        if clear_history and self._history:
            self._history.clear()
            self.events.history_changed.emit(self.history)

