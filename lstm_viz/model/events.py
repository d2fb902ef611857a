"""A tiny observer: plain-Python events for the Qt-free session (no Qt here).

``session.events.frame_changed.connect(callback)``; the session calls ``emit`` only
when a value really changed, so a view that echoes a value back ends the round trip.

``SessionEvents.on_error``: None (the default), a callback that raises stops the emit and
the exception reaches the session's caller. The app sets it (to its excepthook: a dialog
and the log), and then, as with a Qt slot, a failing callback neither stops the others nor
the session's action: the session's state stays whole.
"""

from __future__ import annotations

from collections.abc import Callable


class Event:
    """A list of callbacks called in connection order with the emitted arguments."""

    def __init__(self, name: str = "", owner=None):
        self.name = name
        self._callbacks: list[Callable] = []
        self._owner = owner                    # has ``on_error`` (SessionEvents)

    def connect(self, callback: Callable) -> Callable:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception as err:
                handler = getattr(self._owner, "on_error", None)
                if handler is None:
                    raise
                handler(err)

    def __len__(self) -> int:
        return len(self._callbacks)


class SessionEvents:
    """Every event a Session emits, with the arguments each passes."""

    def __init__(self):
        self.on_error = None          # see the module docstring
        self.frame_changed = Event("frame_changed", self)  # (index: int)
        self.trace_changed = Event("trace_changed", self)  # (trace)
        self.config_changed = Event("config_changed", self)  # (config: RunConfig)
        self.breakpoints_changed = Event("breakpoints_changed", self)  # ()
        self.playing_changed = Event("playing_changed", self)  # (playing: bool)
        self.speed_changed = Event("speed_changed", self)  # (frames_per_second)
        self.selection_changed = Event("selection_changed", self)  # (name: str | None)
        self.history_changed = Event("history_changed", self)  # (history: list)
        self.path_changed = Event("path_changed", self)  # (path: str | None)
        self.stopped = Event("stopped", self)  # (stop: Stop | None)
        self.iteration_changed = Event("iteration_changed", self)  # (iteration: int | None)
        self.training_changed = Event("training_changed", self)  # () run, state or settings
        self.gradcheck_changed = Event("gradcheck_changed", self)  # (result | None)
        self.no_hit = Event("no_hit", self)  # (text: str) F5 ran out
        self.breakpoints_carried = Event("breakpoints_carried", self)  # (CarryOver) new run

    def all(self) -> dict[str, Event]:
        return {k: v for k, v in vars(self).items() if isinstance(v, Event)}
