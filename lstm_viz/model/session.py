"""The session: all mutable state of the app, and every action the GUI offers. No Qt.

State: the run configuration, the cursor (an index into the pass's frames, see
``frames.py`` for what a frame is and how each move goes) and the selected variable
live here; the rest lives in the session's parts, one job each, which this class
composes and whose actions it offers under one name:

- ``stops``  (``stops.py``): the breakpoints, where each holds, the last stop;
- ``player`` (``play.py``): play state and speed;
- ``live``   (``live_training.py``): live training, the iteration shown, the history;
- ``checks`` (``check_cache.py``): gradient checks per pass;
- ``runs``   (``runs.py``): recording runs, trace files, adopting a saved session;
- ``layers`` (``layer_view.py``): the pass's layers and the one in view, whose Trace and
  FrameData ``trace`` and ``data`` are (indexed at ``view_index``);
- ``whatif`` (``whatif.py``): interventions and the intervened pass beside the original.

Events (``session.events``, see ``events.py``) fire once per real change and never for
a no-op: seeking to the current frame, selecting the selected variable or configuring
the current config emit nothing. A change of several fields (a new pass: ``replace_pass``)
fires its events once each, after every field is set. Actions that fail raise
``UserError`` and change nothing (a new run, file or update is built before it is shown).

A session is built from a configuration (``Session(config)``: recorded), a pass
(``Session(config, trace)``), or everything a saved one holds (``Session.restore``).

Frame semantics (summary of ``frames.py``): a statement frame is the state just after
that statement ran; a step frame ``fwd:t``/``bwd:t`` is the state after the whole step
(the same frame as its last statement); the loss frame follows the forward pass.
"""

from __future__ import annotations

from lstm_engine.errors import UserError
from lstm_engine.model import ModelTrace

from .breakpoints import Breakpoint, CarryOver, Hits
from .check_cache import CheckCache
from .config import RunConfig, check_config, config_from_trace, default_config
from .events import SessionEvents
from .frame_data import VARIABLES, FrameData
from .frames import Frame, FrameModel
from .history import HistoryEntry
from .layer_view import Layers, first_layer
from .live_training import LiveTraining, TrainReport
from .play import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED, SPEEDS, Player
from .runs import Runs, record_config
from .stops import Stop, Stops
from .training_run import TrainingRun, TrainingSettings
from .whatif import WhatIf

__all__ = ["Session", "HistoryEntry", "Stop", "TrainReport", "SPEEDS", "MIN_SPEED", "MAX_SPEED"]


class Session:
    """Holds a run and a cursor. ``Session()`` opens the published example at frame 0;
    ``Session(config)`` records that run; ``Session(config, trace)`` shows a pass
    recorded already (``config`` defaults to what the trace says)."""

    def __init__(self, config: RunConfig | None = None, trace=None):
        if trace is None:
            config = check_config(config or default_config())
            trace = record_config(config)
        else:
            config = config or config_from_trace(first_layer(trace))
        self.events = SessionEvents()
        self.stops = Stops(self)
        self.player = Player(self)
        self.live = LiveTraining(self)
        self.checks = CheckCache(self)
        self.runs = Runs(self)
        self._selected: str | None = "h"
        self._cursor = 0
        self._config = config
        self.layers = Layers(self, trace, config)
        self.layers.update()
        self.whatif = WhatIf(self)

    @classmethod
    def restore(cls, trace=None, config: RunConfig | None = None, *,
                training: TrainingRun | None = None, iteration: int | None = None,
                frame: Frame | str | int = 0, breakpoints=(), history=None,
                selected: str | None = "h", speed: float = DEFAULT_SPEED,
                path: str | None = None, view_layer: int | None = None) -> Session:
        """A session holding exactly what is given (a saved session, a file, a text form),
        recording nothing. With ``training``, the pass shown is that run's at ``iteration``
        (default: its latest) and ``history`` defaults to the run's. UserError for a frame,
        a breakpoint or a variable the pass does not have."""
        if training is not None:
            iteration = training.latest if iteration is None else iteration
            trace = training.trace_at(iteration)
            config = config or training.run_config()
        elif trace is None:
            raise UserError("a session is restored from a pass or a training run")
        session = cls(config, trace)
        session.runs.path = path
        session.apply(training=training, iteration=iteration, frame=frame,
                      breakpoints=breakpoints, history=history, selected=selected,
                      speed=speed, view_layer=view_layer)
        return session

    def apply(self, *, training: TrainingRun | None = None, iteration: int | None = None,
              frame: Frame | str | int = 0, breakpoints=(), history=None,
              selected: str | None = "h", speed: float = DEFAULT_SPEED,
              view_layer: int | None = None) -> None:
        """Hold these along with the shown pass (``restore`` and ``adopt``): the training run
        whose pass of ``iteration`` is shown, the breakpoints, the history, the cursor, the
        selection, the speed, the pinned layer. Listeners hear of it once it is whole."""
        with self.events.batch():
            if training is not None:
                assert iteration is not None        # restore() gives the run's iteration
                self.live.hold(training, iteration)
            if history is None:
                history = () if training is None else training.history
            self.live.set_history(history)
            self.stops.replace(breakpoints)
            if isinstance(frame, int):
                self.seek(frame)
            else:
                self.goto(frame)
            self.select(selected)
            self.set_speed(speed)
            self.set_view_layer(view_layer)

    # ---- state ----------------------------------------------------------------------------

    @property
    def config(self) -> RunConfig:
        return self._config

    @property
    def trace(self):
        """The Trace of the layer in view (the pass itself for a one-layer run)."""
        return self.layers.data().trace

    @property
    def model_trace(self) -> ModelTrace | None:
        """The ModelTrace shown, or None when the pass is a plain single-cell Trace."""
        return self.layers.model_trace

    @property
    def num_layers(self) -> int:
        return self.layers.count

    @property
    def params(self):
        return self.trace.params

    @property
    def data(self) -> FrameData:
        """The FrameData of the layer in view; index it with ``view_index``."""
        return self.layers.data()

    @property
    def frames(self) -> FrameModel:
        """The frames of the whole pass (every layer's), which the cursor indexes."""
        return self.layers.frames

    @property
    def view_layer(self) -> int:
        """The layer the per-step views show (the cursor's unless pinned)."""
        return self.layers.view_layer

    def set_view_layer(self, layer: int | None) -> bool:
        """Pin the views to ``layer`` (None: follow the cursor's); see ``Layers``."""
        return self.layers.set_view_layer(layer)

    @property
    def view_index(self) -> int:
        """The index into ``data`` the per-step views show (the cursor with one layer)."""
        return self.layers.local_index()

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
    def selected(self) -> str | None:
        return self._selected

    @property
    def path(self) -> str | None:
        return self.runs.path

    @property
    def forward_variant(self) -> str:
        """The forward the shown pass ran (differs from ``trace.variant`` for the wrong
        backward, whose trace carries its backward's variant)."""
        return self._config.variant

    # ---- a new pass -----------------------------------------------------------------------

    def replace_pass(self, trace, config: RunConfig, *, path: str | None, keep_cursor: bool,
                     end_training: bool, carry: bool = True) -> None:
        """Show ``trace`` (recorded under ``config``; from the file ``path``): play stops,
        the last stop goes, the cursor stays at the same frame (``keep_cursor``, if the
        pass has it) or goes to the first; ``end_training`` leaves training mode and clears
        the history. The parts call this; the events fire once the session is whole.
        When that is another run (its config or file changed) and there were breakpoints,
        ``breakpoints_carried`` says which stay and which went (``carry=False``: the caller
        brings breakpoints of its own, as a saved session does)."""
        with self.events.batch():
            self.player.pause()
            old_text = self.frame_text
            before = list(self.stops.list)
            another_run = config != self._config or path != self.runs.path
            self.layers.hold(trace, config)
            self.stops.set_stop(None)
            if end_training:
                self.live.end()
            self.events.trace_changed.emit(self.trace)
            if config != self._config:
                self._config = config
                self.events.config_changed.emit(config)
            self.stops.new_pass()
            cursor = 0
            if keep_cursor:
                try:
                    cursor = self.frames.index(old_text)
                except UserError:
                    pass
            self._cursor = self.frames.clamp(cursor)
            self.events.frame_changed.emit(self._cursor)
            self.layers.update()
            self.runs.set_path(path)
            if end_training:
                self.live.set_history(())
            if carry and before and another_run:
                kept = tuple(self.stops.list)
                self.events.breakpoints_carried.emit(
                    CarryOver(kept, tuple(bp for bp in before if bp not in kept)))

    # ---- the cursor -----------------------------------------------------------------------

    def seek(self, index: int) -> bool:
        """Move the cursor to ``index`` (clamped to the frames). True if it moved."""
        index = self.frames.clamp(index)
        if index == self._cursor:
            return False
        self._cursor = index
        self.layers.update()          # first: the frame's listeners read that layer's data
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
        return self.stops.continue_(+1)

    def reverse_continue(self) -> bool:
        """The previous frame where an enabled breakpoint holds, or the first frame."""
        return self.stops.continue_(-1)

    # ---- selection ------------------------------------------------------------------------

    def select(self, name: str | None) -> bool:
        """Choose the variable whose vector is plotted (None: none)."""
        if name is not None and name not in VARIABLES:
            raise UserError(f"there is no variable {name!r}; choose one of {', '.join(VARIABLES)}")
        if name == self._selected:
            return False
        self._selected = name
        self.events.selection_changed.emit(name)
        return True

    # ---- breakpoints (``stops``) ----------------------------------------------------------

    @property
    def breakpoints(self) -> tuple[Breakpoint, ...]:
        return tuple(self.stops.list)

    @property
    def stop(self) -> Stop | None:
        """The last stop on a breakpoint (cleared when the pass changes)."""
        return self.stops.stop

    def breakpoint_hits(self, bp: Breakpoint, trace=None) -> Hits:
        """Where ``bp`` holds in the shown pass (or ``trace``), evaluated once per pass."""
        return self.stops.hits(bp, trace)

    def breakpoint_indices(self) -> list[int]:
        """Frame indices of the breakpoints that sit at one frame (for the timeline)."""
        return self.stops.indices()

    def condition_indices(self) -> list[int]:
        """Frames where an enabled condition holds in this pass (for timeline marks)."""
        return self.stops.condition_indices()

    def add_breakpoint(self, bp: Breakpoint | Frame | str) -> bool:
        """Add a frame breakpoint (Frame or ``fwd:3``) or a condition (a Breakpoint or its
        spec, e.g. ``norm ds < 1e-6``). False if the same one is there already."""
        return self.stops.add(bp)

    def remove_breakpoint(self, bp: Breakpoint | Frame | str) -> bool:
        return self.stops.remove(bp)

    def set_breakpoint_enabled(self, bp: Breakpoint | Frame | str, enabled: bool) -> bool:
        return self.stops.set_enabled(bp, enabled)

    def reset_hit_counts(self) -> bool:
        return self.stops.reset_hit_counts()

    def toggle_breakpoint(self, frame: Frame | str | None = None) -> bool:
        """Add a breakpoint at ``frame`` (default: the cursor's), or remove it. Returns
        whether there is one now."""
        return self.stops.toggle(self.frame if frame is None else frame)

    def clear_breakpoints(self) -> bool:
        return self.stops.clear()

    # ---- play (``player``) ----------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self.player.playing

    @property
    def speed(self) -> float:
        return self.player.speed

    def play(self) -> bool:
        """Start playing (from the first frame if the cursor is at the last)."""
        return self.player.play()

    def pause(self) -> bool:
        return self.player.pause()

    def toggle_play(self) -> bool:
        return self.player.toggle()

    def tick(self) -> bool:
        """One frame of playback: advance, and pause at the end or at a breakpoint.
        Returns whether playback goes on."""
        return self.player.tick()

    def set_speed(self, frames_per_second: float) -> bool:
        return self.player.set_speed(frames_per_second)

    # ---- runs and files (``runs``) --------------------------------------------------------

    def configure(self, config: RunConfig) -> bool:
        """A new run when the configuration changes (nothing happens otherwise)."""
        return self.runs.configure(config)

    def open(self, path) -> None:
        """Read a trace file; on any problem UserError and the session is unchanged."""
        self.runs.open(path)

    def save(self, path) -> None:
        """Write the shown pass (atomically); UserError naming the file if that fails."""
        self.runs.save(path)

    def adopt(self, other: Session) -> None:
        """Take over everything ``other`` holds (a session read from a file or a text)."""
        self.runs.adopt(other)

    # ---- live training (``live``) ---------------------------------------------------------

    @property
    def training(self) -> TrainingRun | None:
        return self.live.run

    @property
    def iteration(self) -> int | None:
        """The training iteration whose pass is shown (None: not training)."""
        return self.live.iteration

    @property
    def training_running(self) -> bool:
        return self.live.running

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return self.live.history.entries()

    def iteration_text(self) -> str:
        """The shown iteration and how many there are (see ``LiveTraining``)."""
        return self.live.iteration_text()

    def iterations(self) -> list[int]:
        """The iterations whose passes can be shown (the ring)."""
        return self.live.iterations()

    def history_arrays(self):
        return self.live.history_arrays()         # the columns, read-only (history.py)

    def train_step(self) -> HistoryEntry:
        """One training iteration (live training's next, or the seed's SGD step)."""
        return self.live.train_step()

    def start_training(self, settings: TrainingSettings | None = None) -> None:
        """Start a training run; the views show the pass its first iteration computes."""
        self.live.start(settings)

    def stop_training(self) -> bool:
        """Leave training mode (the shown pass stays)."""
        if self.live.run is None:
            return False
        self.live.end()
        return True

    def reset_training(self) -> None:
        """The same settings from iteration 0 (a fresh Trainer)."""
        self.live.reset()

    def run_training(self) -> bool:
        """Mark training as running: the GUI's timer then asks for ``train_slice``s."""
        return self.live.resume()

    def pause_training(self) -> bool:
        return self.live.pause()

    def toggle_training(self) -> bool:
        return self.live.toggle()

    def train(self, iterations: int = 1, time_budget: float | None = None,
              stop_at_breakpoints: bool = True) -> TrainReport:
        """Up to ``iterations`` iterations, then the newest pass shown once (see
        ``LiveTraining.train``)."""
        return self.live.train(iterations, time_budget, stop_at_breakpoints)

    def train_slice(self, time_budget: float = 0.03,
                    until: int | None = None) -> TrainReport | None:
        """One slice of running training (see ``LiveTraining.train_slice``)."""
        return self.live.train_slice(time_budget, until)

    def seek_iteration(self, k: int) -> bool:
        """Show the pass of iteration ``k`` (clamped to the ring); the frame stays."""
        return self.live.seek_iteration(k)

    def previous_trace(self):
        """The pass of the iteration before the shown one, if the ring still has it."""
        return self.live.previous_trace()

    def set_ring_size(self, n: int) -> bool:
        return self.live.set_ring_size(n)

    # ---- gradient checks (``checks``) -----------------------------------------------------

    def set_gradcheck(self, result, trace=None) -> None:
        """Attach a full gradient check's result to a pass (default: the shown one)."""
        self.checks.set_result(result, trace)

    def gradcheck_result(self, trace=None):
        return self.checks.result(trace)

    def run_gradient_check(self, **options):
        """The engine's finite-difference check on the shown pass (can take seconds;
        the GUI runs ``checks.full_check`` in a worker and calls ``set_gradcheck``)."""
        return self.checks.run(**options)

    def gradcheck_errors(self, trace) -> dict[str, float]:
        """Max relative error per array of a pass: from a full check if one ran on it,
        else from the quick directional check (cached per pass)."""
        return self.checks.errors(trace)
