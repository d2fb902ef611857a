"""The base of every picture view: it refreshes on session events only while it is
visible (and catches up when shown), lays out its tool row over its graphics, and offers
its picture and table for export; ``frame_for_step`` is where a click on a step goes."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from ..model.frames import Frame
from ..pictures.view_data import ViewData


def frame_for_step(session, t: int, backward: bool) -> Frame:
    """The frame a click on step t of a picture of the forward (``backward`` False) or
    the backward pass goes to: in that pass, the same statement at step t; from the other
    pass or the loss frame, step t's end in the clicked picture's pass (a click on the
    forward heatmap in the backward pass went to bwd:t:ds, not to forward step t)."""
    frame = session.frame
    t = min(max(int(t), 0), session.trace.steps - 1)
    phase = "bwd" if backward else "fwd"
    # with layers, the picture is of the layer in view: its cell at step t
    layer = session.view_layer if session.num_layers > 1 else None
    if frame.phase != phase:
        return Frame(phase, t, None, layer)
    return Frame(phase, t, frame.stmt, layer)


def drawn_key(session) -> tuple:
    """What a panel that follows the cursor is drawn from: the pass in view and the
    cursor. A seek into another layer of a stacked model fires ``view_layer_changed``,
    whose refresh is of the new frame already, then ``frame_changed``: a panel that keeps
    this key from its last refresh skips the second (a new pass fires ``trace_changed``,
    which always refreshes)."""
    return id(session.data), session.cursor


class VisibleView(QWidget):
    """A view that refreshes on session events only while visible; when hidden it
    remembers that it is stale and refreshes when shown again."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._stale = True
        self.refreshes = 0
        # (pass in view, cursor) of the last refresh: a frame event for what is already
        # drawn (a seek into another layer fires view_layer_changed, whose refresh is of
        # the new frame, then frame_changed; a new pass fires trace_changed, then
        # frame_changed) does not draw it twice
        self._drawn: tuple | None = None
        session.events.frame_changed.connect(self._on_frame)
        session.events.trace_changed.connect(self._on_trace)
        session.events.view_layer_changed.connect(self._on_layer)   # another layer's trace

    def _on_frame(self, *_):
        if self._drawn == self._now():
            return
        self.request()

    def _now(self) -> tuple:
        return drawn_key(self.session)

    def _on_trace(self, *_):
        self.trace_changed()
        self.request()

    def _on_layer(self, *_):
        self.layer_changed()
        self.request()

    def trace_changed(self):
        """Drop whatever was built for the old trace."""

    def layer_changed(self):
        """Another layer of the same pass is in view: by default, as for a new trace; a
        view that keeps what it built for each layer drops only what it shows."""
        self.trace_changed()

    def request(self):
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._redraw()
        else:
            self._stale = True
            self._drawn = None

    def showEvent(self, event):
        super().showEvent(event)
        # A tab behind another is "shown" too, out of sight: it catches up when brought
        # to the front (its dock's visibilityChanged) or grown into view (resizeEvent),
        # not here (opening a T=10,000 trace drew the flow and paths tabs for nobody).
        if not self.visibleRegion().isEmpty():
            self._in_event(self.catch_up)

    def resizeEvent(self, event):
        super().resizeEvent(event)          # e.g. a dock dragged open from zero height
        if self._stale and not self.visibleRegion().isEmpty():
            self._in_event(self.catch_up)

    @staticmethod
    def _in_event(fn) -> None:
        """Call ``fn`` from a Qt event handler: an exception goes to the excepthook (the
        app's: a dialog and the log) instead of out of the handler, which PySide6 does not
        survive when the event came from a ``show()`` called in Python (a crash, measured
        with a refresh that raises)."""
        try:
            fn()
        except Exception as err:                    # noqa: BLE001 - reported, not lost
            sys.excepthook(type(err), err, err.__traceback__)

    def catch_up(self):
        """Refresh now if a frame or trace changed while the view was not drawn (hidden,
        closed, or a tab behind another: its dock's ``visibilityChanged`` calls this)."""
        if self._stale:
            self._redraw()

    def _redraw(self) -> None:
        self._stale = False
        self.refreshes += 1
        self._drawn = None                  # until the refresh has drawn it all
        self.refresh()
        self._drawn = self._now()

    def refresh(self):
        raise NotImplementedError

    def stack(self, tools: QHBoxLayout, *rows: QWidget) -> None:
        """The view's layout: its tool row over ``rows``, the last of which takes the room."""
        self.tools = tools
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addLayout(tools)
        for row in rows[:-1]:
            lay.addWidget(row)
        lay.addWidget(rows[-1], 1)

    @property
    def view_data(self) -> ViewData:
        return ViewData.of(self.session.data)

    # export hooks (see export.py): the widget to draw, and the CSV table
    def export_widget(self) -> QWidget:
        return self

    def csv(self) -> str:
        raise NotImplementedError
