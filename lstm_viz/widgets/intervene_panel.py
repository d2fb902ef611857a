"""The Intervene panel (issue 17, "what if"): the interventions as text, Apply, the pass
the debugger steps, and both passes' curves (‖ds(t)‖ of the layer in view, loss per step).

The interventions are the session's (``model/whatif.py``); the text is the engine's
grammar (``--clamp f=1@0:10#3``, docs/equations.md §10). A right-click on a heatmap unit,
a carousel gate or a timeline step offers interventions from there (``intervene_menu.py``)
and lands here. A text that does not parse stays in the editor with its one-line message
under it; the session keeps what it had. Apply records the intervened pass and opens Run
▸ Compare Runs on original | intervened | difference (``compare_view.py``).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line

from ..model.compare import PRESETS
from ..model.whatif import PASSES
from ..pictures.whatif import PassCurves
from .busy import busy
from .plain import PlainLabel, set_plain_tooltip
from .plots import MIN_PLOT_HEIGHT, CursorLine, LogAxis, RoomyAxis, StepAxis, quiet_plot

PRESET = next(k for k in PRESETS if k.startswith("original against intervened"))
PENS = {"original": pg.mkPen((40, 90, 200), width=1),
        "intervened": pg.mkPen((200, 40, 40), width=1, style=Qt.PenStyle.DashLine)}
HELP = ("One intervention a line, in the command line's grammar:\n"
        "--clamp GATE=VALUE[@STEPS][#UNITS][/L<layer>]   gate i, f, o or g held at VALUE\n"
        "--knockout UNITS[@STEPS][/L<layer>]   h_j := 0 and s_j := 0\n"
        "--edit-input zero|set=V|add=V[@STEPS][#INPUTS]   x(t) edited\n"
        "--scale GATE.PART=FACTOR[#UNITS][/L<layer>]   a weight block (x or h) scaled\n"
        "--cut h|s[@STEPS][#UNITS][/L<layer>]   bottom_diff_h or bottom_diff_s := 0\n"
        "--truncate K   both paths cut every K steps\n"
        "STEPS and UNITS are slices: 3, 0:10, 5:, 0:4,7.  Right-click a heatmap unit, a "
        "carousel gate or a timeline step to add one.")


class IntervenePanel(QWidget):
    def __init__(self, session, compare=None, parent=None):
        """``compare()`` opens the comparison (the workbench's Compare Runs)."""
        super().__init__(parent)
        self.session = session
        self.whatif = session.whatif
        self._compare = compare
        self.editor = QPlainTextEdit(self)
        self.editor.setPlaceholderText("--cut h\n--clamp f=1")
        self.editor.setMaximumHeight(52)
        set_plain_tooltip(self.editor, HELP)
        self.error = PlainLabel(self)
        self.error.setStyleSheet("color: #b01010")
        self.error.setWordWrap(True)
        self.apply_button = QPushButton("Apply", self)
        set_plain_tooltip(self.apply_button, "record the pass with these interventions and "
                          "show it beside the original (Compare Runs)")
        self.apply_button.clicked.connect(lambda: self.apply())
        self.clear_button = QPushButton("Clear", self)
        set_plain_tooltip(self.clear_button, "no interventions: the debugger steps the "
                          "original pass")
        self.clear_button.clicked.connect(self.clear)
        self.compare_button = QPushButton("Compare…", self)
        set_plain_tooltip(self.compare_button, "original | intervened | difference on one "
                          "colour scale, frame by frame (Run ▸ Compare Runs)")
        self.compare_button.clicked.connect(self.show_comparison)
        self.stepping = QComboBox(self)
        self.stepping.addItems(PASSES)
        set_plain_tooltip(self.stepping, "the pass the debugger steps: breakpoints, F5, F10 "
                          "and every view work on it")
        self.stepping.activated.connect(lambda i: self.step(PASSES[i]))
        self.summary = PlainLabel(self)
        self.summary.setWordWrap(True)
        buttons = QHBoxLayout()
        for w in (self.apply_button, self.clear_button, self.compare_button):
            buttons.addWidget(w)
        buttons.addSpacing(12)
        buttons.addWidget(PlainLabel("Debugger steps"))
        buttons.addWidget(self.stepping)
        buttons.addStretch(1)
        self._make_plots()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.editor)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        lay.addWidget(self.summary)
        lay.addWidget(self.graphics, 1)
        ev = session.events
        ev.whatif_changed.connect(self._sync)
        ev.frame_changed.connect(self._cursor)
        ev.view_layer_changed.connect(lambda *_: self._sync())
        ev.trace_changed.connect(lambda *_: self._set_ranges())   # another length T?
        self._sync()

    def _make_plots(self) -> None:
        """‖ds(t)‖ over the loss per step, a curve per pass, with the cursor's step."""
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(2 * MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.legend = pg.LegendItem(colCount=2, labelTextSize="8pt", frame=False)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.graphics.ci.layout.setRowFixedHeight(0, 20)
        self.flow = self.graphics.addPlot(row=1, col=0, axisItems={
            "bottom": StepAxis("bottom"), "left": LogAxis("left")})
        self.flow.setLogMode(y=True)               # how far ds reaches: decades
        self.loss = self.graphics.addPlot(row=2, col=0, axisItems={      # short: roomy labels
            "bottom": StepAxis("bottom"), "left": RoomyAxis("left")})
        self.flow.setLabel("left", "‖ds(t)‖")
        self.loss.setLabel("left", "loss l(t)")
        self.loss.setLabel("bottom", "time step t")
        self.loss.setXLink(self.flow)
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        self.graphics.ci.layout.setRowStretchFactor(2, 1)
        self.curves: dict = {}
        self._drawn: dict = {}                    # per curve: the values it was set to
        self.pass_curves = PassCurves(self.whatif)
        self._both = None                         # the curves shown (BothPasses)
        self._ranges: tuple | None = None         # (x, ds, loss) ranges on the axes
        self.cursors = []
        for plot, key in ((self.flow, "ds"), (self.loss, "loss")):
            quiet_plot(plot)
            for which in PASSES:
                c = plot.plot([], [], pen=PENS[which])
                # drawn once into a pixmap: a seek moves the cursor across it, which then
                # costs a copy of the strips it left and entered, not a redraw of the path
                c.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                self.curves[key, which] = c
                if key == "ds":
                    self.legend.addItem(c, which)
            line = CursorLine()
            plot.addItem(line)
            self.cursors.append(line)

    # ---- intent ----

    def text(self) -> str:
        return self.editor.toPlainText()

    def add(self, line: str, apply: bool = True) -> bool:
        """Add one option line (from a right-click) and, by default, apply at once."""
        kept = self.text().strip()
        self.editor.setPlainText(f"{kept}\n{line}" if kept else line)
        return self.apply() if apply else True

    def apply(self) -> bool:
        """Record the intervened pass from the editor's text; False (the message under it,
        the text kept, the session unchanged) when that fails."""
        try:
            with busy():
                self.whatif.apply(self.text())
        except UserError as err:
            self.error.setText(one_line(err))
            return False
        self.error.setText("")
        self.show_comparison()
        return True

    def clear(self) -> None:
        self.whatif.clear()
        self.editor.setPlainText("")
        self.error.setText("")

    def step(self, which: str) -> bool:
        try:
            with busy():
                self.whatif.step(which)
        except UserError as err:
            self.error.setText(one_line(err))
            self._sync()
            return False
        return True

    def show_comparison(self):
        if self._compare is not None and self.whatif.has_pass:
            return self._compare(PRESET)
        return None

    # ---- what it shows ----

    def _sync(self, *_):
        w = self.whatif
        if w.text != self.text().strip() and not self.error.text():
            self.editor.setPlainText(w.text)
        with QSignalBlocker(self.stepping):
            self.stepping.setCurrentText(w.stepping)
        self.stepping.setEnabled(w.has_pass)
        self.compare_button.setEnabled(w.has_pass)
        both = self.pass_curves.get(self.session.view_layer)
        for (key, which), c in self.curves.items():
            v = None if both is None else (both.ds_log if key == "ds" else both.loss)[which]
            if v is self._drawn.get((key, which)):
                continue            # as it is (no pass still; the loss in another layer)
            self._drawn[key, which] = v
            if v is None:
                c.setData([], [])
            else:
                c.setData(both.t, v, connect="finite")
        self._both = both
        self._set_ranges()
        if both is None:
            self.summary.setText("No intervened pass. " + (w.note or "Right-click a unit, "
                                 "a gate or a step, or write interventions and Apply."))
        else:
            o, i = both.total["original"], both.total["intervened"]
            self.summary.setText(f"Intervened with {w.applied.describe()}.  L original "
                                 f"{o:.6g}, intervened {i:.6g} (Δ {i - o:+.3g}).  "
                                 f"The debugger steps the {w.stepping} pass.")
        self._cursor()

    def _set_ranges(self) -> None:
        """The axes' ranges, set (not auto-ranged) once per pass, layer and length: the
        steps of the whole pass with 1% room, as the paths and flow views show them, and
        the curves' ranges over both passes (``pictures/whatif.py``); without a pass,
        pyqtgraph's empty view. The cursor line moves across them: a frame re-ranges and
        re-ticks no axis (a range that followed the cursor, the line alone bounding it
        while there was no pass, had its axes laid out again every seek)."""
        both, T = self._both, self.session.trace.steps
        room = 0.01 * T
        x = (-0.5 - room, T - 0.5 + room)
        ranges = (x, (0.0, 1.0), (0.0, 1.0)) if both is None else \
            (x, both.ds_range, both.loss_range)
        if ranges == self._ranges:
            return
        self._ranges = ranges
        x, ds, loss = ranges
        self.flow.setRange(xRange=x, yRange=ds, padding=0)      # the loss's x is linked
        self.loss.setYRange(*loss, padding=0)
        if self.graphics.isVisible():
            # settle the new ranges and axes now, not in the paint (pyqtgraph's
            # prepareForPaint), where the change would queue a second paint of the plots
            for plot in (self.flow, self.loss):
                plot.vb.prepareForPaint()

    def _cursor(self, *_):
        s = self.session
        t = s.data.focus_step(s.data.model.frame(s.view_index))
        for line in self.cursors:
            line.setValue(t)
