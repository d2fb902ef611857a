"""The training dock's loss curve: the loss per iteration (log scale by default, ticks at
1, 2 and 5 of each decade), a marker at the iteration shown, and the scrubber over the
iterations the ring keeps under it. Before the first iteration it shows no axes (they
showed a range made from nothing), only what to press."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSlider, QVBoxLayout, QWidget

from lstm_engine.errors import UserError

from ..model.training_run import loss_curve
from .plain import PlainLabel
from .plots import LogAxis, plain_axes


class LossCurve(QWidget):
    def __init__(self, session, report_error, parent=None):
        super().__init__(parent)
        self.session = session
        self.report_error = report_error
        self.plot = pg.PlotWidget(axisItems={"left": LogAxis("left")})
        self.plot.setMinimumHeight(90)
        self.plot.setLabel("bottom", "iteration")
        self.plot.setLabel("left", "loss")
        plain_axes(self.plot.getPlotItem())
        self.empty = pg.TextItem("no iterations yet: Run or Step", color=(120, 120, 120),
                                 anchor=(0.5, 0.5))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.getPlotItem().getAxis("left").setWidth(44)
        self.curve = self.plot.plot(pen=pg.mkPen((30, 90, 200), width=1.5))
        self.curve.setClipToView(True)
        self.curve.setDownsampling(auto=True)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 60, 40), width=1))
        self.plot.addItem(self.marker)
        self.log = QCheckBox("log scale")
        self.log.toggled.connect(self._on_log)
        self.scrub = QSlider(Qt.Orientation.Horizontal)
        self.scrub.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scrub.valueChanged.connect(self._scrubbed)
        self.scrub_label = PlainLabel()
        log_row = QHBoxLayout()
        log_row.addWidget(PlainLabel("Loss per iteration"))
        log_row.addStretch(1)
        log_row.addWidget(self.log)
        scrub_row = QHBoxLayout()
        scrub_row.addWidget(PlainLabel("Iteration"))
        scrub_row.addWidget(self.scrub, 1)
        scrub_row.addWidget(self.scrub_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(log_row)
        column.addWidget(self.plot, 1)
        column.addLayout(scrub_row)
        self.log.setChecked(True)

    def _on_log(self, on: bool):
        self.plot.setLogMode(False, on)
        self.show_history()                # the curve's gaps are those of this scale

    def show_history(self) -> None:
        h = self.session.history_arrays()
        if len(h["loss"]):
            self.curve.setData(*loss_curve(h, self.log.isChecked()), connect="finite")
        else:
            self.curve.setData([], [])
        self._show_axes(bool(len(h["loss"])))

    def _show_axes(self, on: bool) -> None:
        item = self.plot.getPlotItem()
        if on == item.getAxis("left").isVisible():
            return
        for side in ("left", "bottom"):
            item.showAxis(side, on)
        item.showGrid(x=on, y=on, alpha=0.25)
        self.marker.setVisible(on)
        self.empty.setVisible(not on)
        if not on:
            item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.empty.setPos(0.5, 0.5)
        else:
            item.enableAutoRange()

    def show_iteration(self, k) -> None:
        self.update_scrubber()
        if k is not None:
            self.marker.setValue(k)

    def update_scrubber(self) -> None:
        keys = self.session.iterations()
        with QSignalBlocker(self.scrub):
            if keys:
                self.scrub.setEnabled(True)
                self.scrub.setRange(keys[0], keys[-1])
                self.scrub.setValue(self.session.iteration)
                self.scrub_label.setText(f"{self.session.iteration}  (kept {keys[0]}…{keys[-1]})")
            else:
                self.scrub.setEnabled(False)
                self.scrub_label.setText("–")

    def _scrubbed(self, k: int):
        if self.session.training is not None:
            try:
                self.session.seek_iteration(k)
            except UserError as err:
                self.report_error(str(err))
