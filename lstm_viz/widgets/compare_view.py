"""Run ▸ Compare Runs: any two runs side by side, frame-synchronised with the debugger —
two files, before and after training, two seeds, two variants of the run shown — with
the difference of any recorded quantity.

Each side is chosen from ``compare.SOURCES`` (``run_for`` builds it from the debugger's
session). Three time × unit heatmaps: left and right share one colour scale, drawn once
beside them as a colour bar for both, and right − left has its own. A line marks the
cursor's step; the difference at the cursor's frame is written under them. The debugger's
cursor drives the left run, the right one follows (``compare.Comparison``).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line
from lstm_engine.trace import STEP_NAMES

from ..model.compare import PRESETS, SOURCES, Comparison, run_for
from ..pictures.colors import DIVERGING
from .plain import PlainLabel
from .plots import Heatmap

QUANTITIES = tuple(n for n in STEP_NAMES if n != "loss")
TRACE_FILTER = "lstm-viz traces (*.npz);;All files (*)"


class Side:
    """The controls choosing one side: a source, a seed (for "another seed") and a file
    (for "a trace file", asked for when chosen)."""

    def __init__(self, view, name: str, source: str):
        self.view = view
        self.name = name
        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.source.setCurrentText(source)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setPrefix("seed ")
        self.seed.setValue(1)
        self.file = QPushButton("File…")
        self.file.setToolTip(f"the trace file for the {name} side")
        self.path: str | None = None
        self.source.currentTextChanged.connect(self._changed)
        self.seed.valueChanged.connect(lambda *_: view.build())
        self.file.clicked.connect(self.choose_file)
        self._show()

    def widgets(self):
        return (PlainLabel(self.name.capitalize()), self.source, self.seed, self.file)

    def _show(self):
        self.seed.setVisible(self.source.currentText() == "another seed")
        self.file.setVisible(self.source.currentText() == "a trace file")

    def _changed(self, text: str):
        self._show()
        if text == "a trace file" and self.path is None:
            self.choose_file()
        else:
            self.view.build()

    def choose_file(self):
        path, _ = QFileDialog.getOpenFileName(self.view, f"Trace for the {self.name} side",
                                              "", TRACE_FILTER)
        if path:
            self.path = path
            self.file.setText(one_line(path.rsplit("/", 1)[-1]))
        self.view.build()

    def set(self, source: str, seed: int | None = None, path=None) -> None:
        """Choose from code (no dialog): the source and its seed or file."""
        with QSignalBlocker(self.source), QSignalBlocker(self.seed):
            self.source.setCurrentText(source)
            if seed is not None:
                self.seed.setValue(int(seed))
        if path is not None:
            self.path = str(path)
            self.file.setText(one_line(str(path).rsplit("/", 1)[-1]))
        self._show()

    def run(self, session):
        return run_for(session, self.source.currentText(), seed=self.seed.value(),
                       path=self.path)


class CompareView(QDialog):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Compare runs")
        self.comparison: Comparison | None = None
        self._building = False
        self.preset = QComboBox()
        self.preset.addItem("pick a pair…")
        self.preset.addItems(list(PRESETS))
        self.preset.activated.connect(lambda i: i and self.choose(self.preset.itemText(i)))
        self.left = Side(self, "left", "seed cell")
        self.right = Side(self, "right", "standard cell")
        self.quantity = QComboBox()
        self.quantity.addItems(QUANTITIES)
        self.quantity.setCurrentText("ds")
        self.quantity.currentTextChanged.connect(lambda *_: self.refresh())
        self.summary = PlainLabel()
        self.summary.setWordWrap(True)
        self.at_frame = PlainLabel()
        top = QHBoxLayout()
        for side in (self.left, self.right):
            for w in side.widgets():
                top.addWidget(w)
            top.addSpacing(12)
        top.addWidget(PlainLabel("Quantity"))
        top.addWidget(self.quantity)
        top.addWidget(self.preset)
        top.addStretch(1)
        grid = self._make_maps()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)
        layout.addWidget(self.at_frame)
        self.resize(1280, 520)
        self._stale = True
        session.events.frame_changed.connect(self._follow)
        session.events.trace_changed.connect(self._run_changed)
        session.events.view_layer_changed.connect(self._run_changed)
        session.events.whatif_changed.connect(self._run_changed)   # what if's two passes
        self.build()

    def _make_maps(self) -> QGridLayout:
        grid = QGridLayout()
        # The debugger's heatmaps (its colour map and bar, cursor line), zoomed together
        # with the mouse. Left and right share one scale: the left map's bar is hidden and
        # the right one's says it is both's.
        self.maps: list[Heatmap] = []
        self.titles: list[PlainLabel] = []
        for c in range(3):
            title = PlainLabel()
            canvas = pg.GraphicsLayoutWidget()
            heat = Heatmap(canvas.ci, 0, 0)
            heat.plot.setLabel("bottom", "time step t")
            heat.plot.setLabel("left", "unit")
            heat.plot.setMouseEnabled(x=True, y=True)
            heat.plot.showButtons()
            grid.addWidget(title, 0, c)
            grid.addWidget(canvas, 1, c)
            self.maps.append(heat)
            self.titles.append(title)
        self.maps[0].bar.hide()
        self.shared_bar = self.maps[1].bar
        self.shared_bar.getAxis("right").setLabel("left and right")
        self.maps[2].bar.getAxis("right").setLabel("right − left")
        for heat in self.maps[1:]:
            heat.plot.setXLink(self.maps[0].plot)
            heat.plot.setYLink(self.maps[0].plot)
        return grid

    def _run_changed(self, *_):
        self._stale = True
        if self.isVisible():
            self.build()

    def showEvent(self, event):
        super().showEvent(event)
        if self._stale:
            self.build()
        else:
            self.refresh()

    def build(self, *_):
        """The two sides from their sources, tied frame by frame to the debugger."""
        if self._building:
            return
        self._stale = False
        if self.comparison is not None:
            self.comparison.close()
            self.comparison = None
        try:
            left, la = self.left.run(self.session)
            right, lb = self.right.run(self.session)
            self.comparison = Comparison(left, right, (la, lb))
        except UserError as err:
            self.summary.setText(one_line(err))
            for heat in self.maps:
                heat.clear()
            return
        self.comparison.left.seek(self.session.view_index)
        self.refresh()

    def _follow(self, index: int):
        if self.comparison is not None and self.isVisible():
            self.comparison.left.seek(self.session.view_index)   # a layer's own frames
            self._update_cursor()

    def refresh(self):
        c = self.comparison
        if c is None:
            return
        name = self.quantity.currentText()
        im = c.images(name)
        la, lb = c.labels()
        T = c.left.trace.steps
        pictures = [(self.maps[0], im.left, im.levels, f"left: {la}"),
                    (self.maps[1], im.right, im.levels, f"right: {lb}")]
        if im.diff is not None:
            pictures.append((self.maps[2], im.diff, im.diff_levels,
                             f"right − left   max |Δ| = {im.max_diff:.3g}"))
            self.maps[2].bar.show()
        else:
            self.maps[2].clear()
            self.maps[2].bar.hide()
            self.titles[2].setText(f"right − left: {name} has another shape on each side")
        for heat, data, levels, text in pictures:
            heat.set_values(data, QRectF(-0.5, 0, *data.shape), DIVERGING, levels)
            self.titles[self.maps.index(heat)].setText(text)
        self.maps[0].plot.setRange(QRectF(-0.5, 0, T, im.left.shape[1]), padding=0)
        data = "" if c.same_data else "  The two runs see different inputs and targets."
        self.summary.setText(c.summary()
                             + f"  Left and right share the colour scale ±{im.levels[1]:.3g}."
                             + data)
        self._update_cursor()

    def _update_cursor(self):
        c = self.comparison
        if c is None:
            return
        frame = c.left.frame
        t = c.left.data.focus_step(frame)
        for heat in self.maps:
            heat.set_cursor(t)
        name = self.quantity.currentText()
        where = c.left.frame_text
        try:
            d = c.max_difference_at(name)
        except UserError:
            self.at_frame.setText(f"at {where}: {name} has another shape on each side")
            return
        if d is None:
            self.at_frame.setText(f"at {where}: {name} is not computed yet")
        else:
            self.at_frame.setText(f"at {where}: max |Δ{name}(t={t})| = {d:.4g}")

    def choose(self, preset: str, quantity: str | None = None) -> None:
        """A pair of ``PRESETS`` (e.g. "seed against standard"), optionally a quantity."""
        with QSignalBlocker(self.quantity):
            if quantity is not None:
                self.quantity.setCurrentText(quantity)
        left, right = PRESETS[preset]
        self.left.set(left)
        self.right.set(right)
        self.build()

    def compare(self, left: tuple, right: tuple, quantity: str | None = None) -> None:
        """Choose both sides from code: ``(source, seed or None, path or None)`` each."""
        self._building = True
        try:
            self.left.set(*left)
            self.right.set(*right)
            if quantity is not None:
                self.quantity.setCurrentText(quantity)
        finally:
            self._building = False
        self.build()

    def closeEvent(self, event):
        if self.comparison is not None:
            self.comparison.close()
        super().closeEvent(event)
