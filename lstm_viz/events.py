"""A tiny observer: plain-Python events for the Qt-free session (no Qt here).

``session.events.frame_changed.connect(callback)``; the session calls ``emit`` only
when a value really changed, so a view that echoes a value back ends the round trip.
"""

from __future__ import annotations

from collections.abc import Callable


class Event:
    """A list of callbacks called in connection order with the emitted arguments."""

    def __init__(self, name: str = ""):
        self.name = name
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)


class SessionEvents:
    """Every event a Session emits, with the arguments each passes."""

    def __init__(self):
        self.frame_changed = Event("frame_changed")              # (index: int)
        self.trace_changed = Event("trace_changed")              # (trace)
        self.config_changed = Event("config_changed")            # (config: RunConfig)
        self.breakpoints_changed = Event("breakpoints_changed")  # ()
        self.playing_changed = Event("playing_changed")          # (playing: bool)
        self.speed_changed = Event("speed_changed")              # (frames_per_second)
        self.selection_changed = Event("selection_changed")      # (name: str | None)
        self.history_changed = Event("history_changed")          # (history: list)
        self.path_changed = Event("path_changed")                # (path: str | None)
        self.stopped = Event("stopped")                          # (stop: Stop | None)
        self.iteration_changed = Event("iteration_changed")      # (iteration: int | None)
        self.training_changed = Event("training_changed")        # () run, state or settings
        self.gradcheck_changed = Event("gradcheck_changed")      # (result | None)
        self.no_hit = Event("no_hit")                            # (text: str) F5 ran out

    def all(self) -> dict[str, Event]:
        return {k: v for k, v in vars(self).items() if isinstance(v, Event)}
