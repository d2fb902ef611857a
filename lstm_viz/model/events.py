"""A tiny observer: plain-Python events for the Qt-free session (no Qt here).

``session.events.frame_changed.connect(callback)``; the session calls ``emit`` only
when a value really changed, so a view that echoes a value back ends the round trip.

A change of several fields (a new pass: its trace, config, cursor, breakpoints, …) is
made inside ``with events.batch():``. Emits inside a batch are held; when the outermost
batch ends, each event that was emitted fires once, with the arguments of its last
emit, in the order the events were first emitted. So a listener never sees a half-made
change (a new trace with the old cursor), and a change of several fields is one update
per event. While the held events fire, a listener may change the session again: an event
it emits then supersedes the held emit of the same event (whose arguments are stale).

``SessionEvents.on_error``: None (the default), a callback that raises stops the emit and
the exception reaches the session's caller (at the end of a batch: after every held event
has fired). The app sets it (to its excepthook: a dialog and the log), and then, as with
a Qt slot, a failing callback neither stops the others nor the session's action: the
session's state stays whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Event:
    """A list of callbacks called in connection order with the emitted arguments."""

    def __init__(self, name: str = "", owner: SessionEvents | None = None):
        self.name = name
        self._callbacks: list[Callable] = []
        self._owner = owner                    # holds ``on_error`` and the batch

    def connect(self, callback: Callable) -> Callable:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        owner = self._owner
        if owner is not None and owner._held is not None:
            if owner._depth:
                owner._held[self] = args       # a dict keeps the first emit's place
                return
            owner._held.pop(self, None)        # fired now: the held emit is stale
        self._call(args)

    def _call(self, args: tuple) -> None:
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
        self._depth = 0               # nesting of ``batch``
        self._held: dict[Event, tuple] | None = None   # emits held by a batch
        self.frame_changed = Event("frame_changed", self)  # (index: int)
        self.trace_changed = Event("trace_changed", self)  # (trace)
        self.config_changed = Event("config_changed", self)  # (config: RunConfig)
        self.breakpoints_changed = Event("breakpoints_changed", self)  # ()
        self.playing_changed = Event("playing_changed", self)  # (playing: bool)
        self.speed_changed = Event("speed_changed", self)  # (frames_per_second)
        self.selection_changed = Event("selection_changed", self)  # (name: str | None)
        self.history_changed = Event("history_changed", self)  # (entries: int)
        self.path_changed = Event("path_changed", self)  # (path: str | None)
        self.stopped = Event("stopped", self)  # (stop: Stop | None)
        self.iteration_changed = Event("iteration_changed", self)  # (iteration: int | None)
        self.training_changed = Event("training_changed", self)  # () run, state or settings
        self.gradcheck_changed = Event("gradcheck_changed", self)  # (result | None)
        self.no_hit = Event("no_hit", self)  # (text: str) F5 ran out
        self.breakpoints_carried = Event("breakpoints_carried", self)  # (CarryOver) new run
        # (layer: int) the layer the per-step views show (``Session.view_layer``): then
        # ``session.trace`` and ``session.data`` are that layer's
        self.view_layer_changed = Event("view_layer_changed", self)
        # () the interventions, the intervened pass or the pass stepped (``whatif.py``)
        self.whatif_changed = Event("whatif_changed", self)

    def all(self) -> dict[str, Event]:
        return {k: v for k, v in vars(self).items() if isinstance(v, Event)}

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold every emit until the outermost batch ends, then fire each event once (see
        the module docstring). The held events fire even when the block raises: the state
        they describe is the session's, whatever the block changed before it failed."""
        if self._held is None:
            self._held = {}
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._fire_held()

    def _fire_held(self) -> None:
        first: Exception | None = None
        held = self._held
        while held:                      # a listener's own emits may remove or add entries
            event = next(iter(held))
            args = held.pop(event)
            try:
                event._call(args)
            except Exception as err:     # (on_error is None) the others still fire
                first = first or err
        if self._depth == 0:
            self._held = None
        if first is not None:
            raise first
