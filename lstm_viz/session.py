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
from lstm_engine.io import load_trace, save_trace
from lstm_engine.recorder import record

from .breakpoints import Breakpoint, FrameBreakpoint
from .config import RunConfig, build_run, check_config, config_from_trace, default_config, sgd_step
from .events import SessionEvents
from .frame_data import VARIABLES, FrameData
from .frames import Frame

SPEEDS = (1, 2, 5, 10, 25, 60, 120, 500)      # frames per second offered by the GUI
MIN_SPEED, MAX_SPEED = 0.1, 5000.0


@dataclass(frozen=True)
class HistoryEntry:
    iteration: int          # the update's number, 0 first
    loss: float             # L of the pass the update was computed from
    grad_norm: float        # global norm of that pass's gradient


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
        if trace is None:
            config = check_config(config or default_config())
            trace = self._record(config)
        else:
            config = config or config_from_trace(trace)
        self._config = config
        self._trace = trace
        self._data = FrameData(trace)

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
        """The next breakpoint after the cursor, or the last frame."""
        hit = self._next_hit(self._cursor, +1)
        return self.seek(self.frames.last if hit is None else hit)

    def reverse_continue(self) -> bool:
        """The previous breakpoint before the cursor, or the first frame."""
        hit = self._next_hit(self._cursor, -1)
        return self.seek(0 if hit is None else hit)

    def _next_hit(self, start: int, direction: int) -> int | None:
        found = []
        others = []
        for bp in self._breakpoints:
            if isinstance(bp, FrameBreakpoint):
                i = self._index_of(bp)
                if i is not None and (i - start) * direction > 0:
                    found.append(i)
            else:
                others.append(bp)
        if others:
            stop = self.frames.count if direction > 0 else -1
            for i in range(start + direction, stop, direction):
                frame = self.frames.frame(i)
                if any(bp.hits(frame, self._trace) for bp in others):
                    found.append(i)
                    break
        if not found:
            return None
        return min(found) if direction > 0 else max(found)

    def _hits(self, index: int) -> bool:
        frame = self.frames.frame(index)
        return any(bp.hits(frame, self._trace) for bp in self._breakpoints)

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
        if self._cursor == self.frames.last or self._hits(self._cursor):
            self._set_playing(False)
        return self._playing

    def _set_playing(self, value: bool) -> None:
        self._playing = value
        self.events.playing_changed.emit(value)

    def set_speed(self, frames_per_second: float) -> bool:
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

    def add_breakpoint(self, bp: Breakpoint | Frame | str) -> bool:
        if not isinstance(bp, Breakpoint):
            bp = FrameBreakpoint(bp)
        if isinstance(bp, FrameBreakpoint):
            self.frames.index(bp.frame)                   # UserError if it is not in this run
        if bp in self._breakpoints:
            return False
        self._breakpoints.append(bp)
        self.events.breakpoints_changed.emit()
        return True

    def remove_breakpoint(self, bp: Breakpoint | Frame | str) -> bool:
        if not isinstance(bp, Breakpoint):
            bp = FrameBreakpoint(bp)
        if bp not in self._breakpoints:
            return False
        self._breakpoints.remove(bp)
        self.events.breakpoints_changed.emit()
        return True

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
            with np.errstate(all="ignore"):
                return record(run.params, run.x, run.y, config.variant, run.loss, config.dtype)
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
        """One training iteration: the seed's SGD step on the current pass's gradient,
        then the same sequence recorded again with the new parameters. The cursor stays."""
        tr = self._trace
        grad_norm = float(np.sqrt(sum(_squared(tr[n]) for n in _GRADS)))
        params, loss = sgd_step(tr, self._config.lr)
        with np.errstate(all="ignore"):
            trace = record(params, tr.x, tr.y, tr.variant, loss, tr.dtype)
        entry = HistoryEntry(len(self._history), tr.total_loss, grad_norm)
        self._commit(trace, self._config, path=self._path, keep_cursor=True, clear_history=False)
        self._history.append(entry)
        self.events.history_changed.emit(self.history)
        return entry

    def open(self, path) -> None:
        """Read a trace file; on any problem UserError and the session is unchanged."""
        trace = load_trace(path)
        self._commit(trace, config_from_trace(trace, self._config.lr), path=str(path),
                     keep_cursor=False, clear_history=True)

    def save(self, path) -> None:
        """Write the current trace (atomically)."""
        try:
            save_trace(path, self._trace)
        except OSError as err:
            raise UserError(f"{path}: cannot write ({err.strerror or err})") from None
        if str(path) != self._path:
            self._path = str(path)
            self.events.path_changed.emit(self._path)

    def _commit(self, trace, config: RunConfig, path, keep_cursor: bool,
                clear_history: bool) -> None:
        self.pause()
        old_text = self.frame_text
        self._trace = trace
        self._data = FrameData(trace)
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


def _squared(a) -> float:
    flat = np.ascontiguousarray(a).reshape(-1)
    return float(np.dot(flat, flat))


_GRADS = ("wg_diff", "wi_diff", "wf_diff", "wo_diff", "bg_diff", "bi_diff", "bf_diff", "bo_diff")
