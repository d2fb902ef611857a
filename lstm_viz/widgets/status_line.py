"""The status bar's fields: the frame, the loss, the gradient norms and the iteration.

Each field is a label whose changing text moves nothing (``steady.py``): the frame, the
loss and the iteration have fixed widths, wide enough for their longest text in the run
(a label that resized with its text would re-lay out the whole window every frame); the
gradient norms get the rest of the bar and elide, their whole text in the tool tip.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QSizePolicy

from ..model.frames import STATEMENTS
from .steady import ElidedLabel, steady_box, steady_height
from .view_base import drawn_key


class StatusLine:
    def __init__(self, window: QMainWindow, session):
        self.session = session
        self.metrics = window.fontMetrics()
        self.frame = ElidedLabel()
        self.loss = ElidedLabel()
        self.grads = ElidedLabel()
        self.iteration = ElidedLabel()
        for label in (self.frame, self.loss, self.grads, self.iteration):
            steady_height(label)
        advance = self.metrics.horizontalAdvance
        self.loss.setFixedWidth(advance("L = -0.000000e+00   l(0000) = -0.0000e+00"))
        self.iteration.setFixedWidth(advance("iteration 000000 · 000000 done"))
        self.grads.setMinimumWidth(advance("0" * 20))
        for label in (self.frame, self.loss, self.iteration):
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        # In boxes: a new text repaints its field, not the whole bar re-laid out (steady.py)
        self.boxes = {label: steady_box(label)
                      for label in (self.frame, self.loss, self.grads, self.iteration)}
        bar = window.statusBar()
        bar.addWidget(self.boxes[self.frame])
        bar.addWidget(self.boxes[self.loss])
        bar.addWidget(self.boxes[self.grads], 1)
        bar.addPermanentWidget(self.boxes[self.iteration])
        ev = session.events
        ev.trace_changed.connect(self._on_trace)
        ev.view_layer_changed.connect(self.update)
        ev.frame_changed.connect(self._on_frame)
        for event in (ev.history_changed, ev.iteration_changed):
            event.connect(self.update)
        self._drawn: tuple | None = None          # view_base.drawn_key of the last update
        self._on_trace()

    def _on_frame(self, *_) -> None:
        if self._drawn != drawn_key(self.session):
            self.update()

    def _on_trace(self, *_) -> None:
        """The frame field's width: its longest text for this trace."""
        s = self.session
        n = len(s.frames)
        name = max((*STATEMENTS["fwd"], *STATEMENTS["bwd"]), key=len)
        layer = f":L{s.num_layers - 1}" if s.num_layers > 1 else ""
        sample = f"frame bwd:{s.trace.steps - 1}{layer}:{name}  ({n}/{n})"
        width = self.metrics.horizontalAdvance(sample) + 12
        self.frame.setFixedWidth(width)
        self.boxes[self.frame].setFixedWidth(width)
        self.update()

    def update(self, *_) -> None:
        s = self.session
        frame = s.layers.local_frame()                     # the layer in view's, for its numbers
        self.frame.set_full_text(f"frame {s.frame_text}  ({s.cursor + 1}/{len(s.frames)})")
        tr = s.trace
        if frame.phase == "fwd":
            loss = "loss: not yet computed"
        else:
            t = s.data.focus_step(frame)
            loss = f"L = {tr.total_loss:.6g}   l({t}) = {float(tr.loss[t]):.4g}"
        self.loss.set_full_text(loss)
        norms = s.data.gradient_norms(s.view_index)
        self.grads.set_full_text("   ".join(f"‖{n}‖ = {v:.4g}" for n, v in norms)
                                 if norms else "gradients: not computed yet")
        self.iteration.set_full_text(s.iteration_text())
        self._drawn = drawn_key(s)
