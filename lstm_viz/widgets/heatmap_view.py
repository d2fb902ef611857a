"""Heatmaps: time x memory cell for one forward and one backward quantity. They render
what ``pictures/time_maps.py`` computes and forward clicks as seeks (the parameter
gradients' heatmaps: ``param_grads_view.py``).

Per trace and quantity the image is set once; a frame only moves the grey "not computed"
rectangle and the cursor line (and the levels when autoscale is on). NaN/±Inf are drawn
by an RGBA overlay in reserved colours and counted in the panel's caption.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..pictures.colors import (
    Special,
    anchors_for,
)
from ..pictures.model_views import ModelViews
from ..pictures.tables import csv_text, stack_tables
from ..pictures.time_maps import TIME_BACKWARD, TIME_FORWARD
from ..pictures.view_data import ViewData
from .plain import PlainLabel
from .plots import MAX_KEPT, MIN_PLOT_HEIGHT, Heatmap
from .steady import steady_box, steady_height
from .token_axis import use_token_axis
from .view_base import VisibleView, frame_for_step


def caption_warning(special: Special) -> str:
    """A caption's note of the NaN/±Inf entries shown, if any."""
    text = special.text()
    return f"  ⚠ {text}" if text else ""


class TimeHeatmapPanel(QWidget):
    """One time x unit heatmap with its quantity chooser."""

    def __init__(self, owner: TimeHeatmapsView, names, default: str, backward: bool):
        super().__init__(owner)
        self.owner = owner
        self.backward = backward
        self.choose = QComboBox(self)
        self.choose.addItems(names)
        self.choose.setCurrentText(default)
        self.choose.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.choose.currentTextChanged.connect(lambda _: self.owner.rebuild(self))
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(2)
        self.map = Heatmap(self.graphics.ci, 0, 0)
        self.map.keep_picture()
        self.time_axis = use_token_axis(self.map.plot)       # steps read as their tokens
        self.map.plot.setLabel("left", "unit")
        if backward:
            self.map.plot.setLabel("bottom", "time step t")
        self.built: tuple | None = None
        self.special_text = ""
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(PlainLabel("backward:" if backward else "forward:"))
        top.addWidget(self.choose)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        self.top = top
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(top)
        lay.addWidget(self.graphics, 1)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._click)

    @property
    def name(self) -> str:
        return self.choose.currentText()

    def refresh(self, vd: ViewData, index: int, autoscale: bool) -> None:
        name = self.name
        tm = vd.time_map(name)
        key = (id(vd), name)
        if key != self.built:
            self.built = key
            T, n = tm.image.shape
            self.map.set_image(tm.image, QRectF(-0.5, 0, T, n), anchors_for(name),
                               tm.levels((0, T), False), key=key)
            self.map.set_special(tm.special)
            label = "xc index" if name == "dxc" else "unit"
            if self.map.plot.getAxis("left").labelText != label:   # the same: no new HTML
                self.map.plot.setLabel("left", label)            # and repaint (a new layer)
            self._split(vd.data.trace.inputs if name == "dxc" else None)
        known = vd.known(name, index)
        T = tm.image.shape[0]
        lo, hi = known
        if hi <= lo:
            self.map.set_pending(-0.5, T - 0.5)
        elif lo > 0:
            self.map.set_pending(-0.5, lo - 0.5)
        else:
            self.map.set_pending(hi - 0.5, T - 0.5)
        self.map.set_levels(tm.levels(known, autoscale))
        frame = vd.data.model.frame(index)
        self.map.set_cursor(vd.data.focus_step(frame))
        special = tm.special_count(known)
        self.special_text = special.text()
        done = max(0, hi - lo)
        self.info.setText(f"{done}/{T} steps computed (grey: not yet){caption_warning(special)}")

    def _split(self, X: int | None) -> None:
        line = getattr(self, "_split_line", None)
        if X is None:
            if line is not None:
                line.hide()
            return
        if line is None:
            line = self._split_line = pg.InfiniteLine(
                angle=0, pen=pg.mkPen((60, 60, 60), style=Qt.PenStyle.DashLine))
            line.setZValue(15)
            self.map.plot.addItem(line)
        line.setValue(X)
        line.show()

    def _hover(self, pos) -> None:
        got = self.map.at(pos)
        tm_data = self.map.data
        if got is None or tm_data is None:
            return
        t, j = int(np.floor(got[0] + 0.5)), int(np.floor(got[1]))
        T, n = tm_data.shape
        if not (0 <= t < T and 0 <= j < n):
            return
        vd = self.owner.view_data
        lo, hi = vd.known(self.name, self.owner.session.view_index)
        if lo <= t < hi:
            value = vd.time_map(self.name).values[t, j]
            text = f"{self.name}: unit {j}, step {t} = {float(value):.6g}"
        else:
            text = f"{self.name}: unit {j}, step {t}: not computed yet"
        self.info.setText(text)

    def _click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        got = self.map.at(event.scenePos())
        if got is None:
            return
        self.owner.go_to_step(int(np.floor(got[0] + 0.5)), self.backward)


class TimeHeatmapsView(VisibleView):
    """A forward quantity over time (top) and a backward one (bottom)."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.autoscale = QCheckBox("autoscale per frame", self)
        self.autoscale.setToolTip("levels from the computed steps at this frame "
                                  "(default: fixed over the whole pass)")
        self.autoscale.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.autoscale.toggled.connect(lambda _: self.request())
        self.forward = TimeHeatmapPanel(self, TIME_FORWARD, "s", backward=False)
        self.backward = TimeHeatmapPanel(self, TIME_BACKWARD, "ds", backward=True)
        self.setToolTip("grey: not computed yet at this frame · click a column to go to "
                        "that step · hover for (unit, step, value)")
        self.forward.top.addWidget(self.autoscale)
        self.tools = self.forward.top
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.forward, 1)
        lay.addWidget(self.backward, 1)

    def panels(self):
        return (self.forward, self.backward)

    def trace_changed(self):
        for p in self.panels():
            p.built = None
            p.map.forget_images()               # keyed by the old pass's layers

    def layer_changed(self):
        for p in self.panels():                 # each layer's pictures are kept
            p.built = None

    def rebuild(self, panel):
        panel.built = None
        self.request()

    def refresh(self):
        vd = self.view_data
        tokens = ModelViews.of(self.session).tokens
        for p in self.panels():
            p.map.keep_images(min(self.session.num_layers, MAX_KEPT))   # one per layer
            p.time_axis.set_tokens(tokens)
            p.refresh(vd, self.session.view_index, self.autoscale.isChecked())

    def go_to_step(self, t: int, backward: bool) -> None:
        self.session.goto(frame_for_step(self.session, t, backward))

    def csv(self) -> str:
        vd = self.view_data
        at = self.session.view_index
        return csv_text(*stack_tables([vd.time_map(p.name).table(vd.known(p.name, at))
                                       for p in self.panels()]))
