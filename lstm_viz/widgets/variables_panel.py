"""The variables panel: every quantity at this frame with its shape and statistics, and
the selected one as a bar plot over the memory cells (values on hover).

Rows are fixed (``frame_data.VARIABLES``); a frame change writes the cells of the rows on
screen that read differently now, and a row scrolled into view is written before it is
painted, so only what is seen is computed. Qt paints the cells from its own item model.
Quantities not computed yet at this frame say so. A weight-gradient accumulator is a
matrix (H, X+H): its plot shows each memory cell's row norm.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRect, QSignalBlocker, Qt
from PySide6.QtGui import QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..model.frame_data import ACCUMULATORS, VARIABLES, computed_at
from ..model.levels import drawable_range, saturate
from ..model.readout_rows import readout_rows
from ..model.variable_rows import COLUMNS, VariableRow, VariableRows
from ..pictures.bars import bar_length, plot_title, plotted_vector
from ..pictures.view_data import ViewData
from .kept_axis import KeptAxis
from .plain import PlainLabel
from .plots import RoomyAxis, cached_axis, plain_axes
from .steady import steady_box, steady_height
from .view_base import drawn_key

GREY = QColor(150, 150, 150)
_ROOT = QModelIndex()
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
RED = QColor(200, 30, 30)
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_FONT = Qt.ItemDataRole.FontRole


class VariablesModel(QStandardItemModel):
    """The table's cells, kept in Qt's own item model so that the view paints them without
    calling Python: a Python ``data()`` was asked for every role of every visible cell on
    each repaint (~440 calls a seek). No method of Qt's is overridden here. The texts come
    formatted from the model layer (``VariableRows``); a line's cells are written when
    what they read changes (their frame, pass or layer), each cell only if it differs."""

    def __init__(self, session, parent=None):
        super().__init__(len(VARIABLES), len(COLUMNS), parent)
        self.session = session
        self._italic = QFont()
        self._italic.setItalic(True)
        self.rows = VariableRows()
        self.setHorizontalHeaderLabels(list(COLUMNS))
        # as a QAbstractTableModel's: selectable, enabled, not editable, no children
        flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | \
            Qt.ItemFlag.ItemNeverHasChildren
        self._cells: list[list[QStandardItem]] = []
        for r, name in enumerate(VARIABLES):
            line = []
            for c in range(len(COLUMNS)):
                item = QStandardItem(name if c == 0 else "")   # the names never change
                item.setFlags(flags)
                if c >= 3:
                    item.setTextAlignment(_RIGHT)
                self.setItem(r, c, item)
                line.append(item)
            self._cells.append(line)

    def write(self, rows: range, *, quiet: bool = False) -> list[int]:
        """Have ``rows`` hold the frame, pass and layer in view; says which were written.
        The view is told once per run of adjacent rows written (not once per cell), and
        repaints their values' columns (the names never change); ``quiet``: not told (it
        is painting them now)."""
        s = self.session
        changed = self.rows.move_to(s.data, s.view_index, rows)
        if not changed:
            return []
        with QSignalBlocker(self):
            for r, now, before in changed:
                self._write(self._cells[r], now, before)
        written = [r for r, _, _ in changed]
        if not quiet:
            last = len(COLUMNS) - 1
            todo = list(written)
            while todo:
                first = end = todo.pop(0)
                while todo and todo[0] == end + 1:
                    end = todo.pop(0)
                self.dataChanged.emit(self.index(first, 1), self.index(end, last))
        return written

    def _write(self, cells: list[QStandardItem], now: VariableRow,
               before: VariableRow | None) -> None:
        for c, text in enumerate(now.texts):
            if before is None or before.texts[c] != text:
                cells[c].setText(text)
        if before is None or (before.known, before.nonfinite) != (now.known, now.nonfinite):
            # not computed yet: grey, its shape in italics; a NaN or Inf in it: red
            colour = GREY if not now.known else RED if now.nonfinite else None
            for item in cells[1:]:
                item.setData(colour, _FOREGROUND)
            cells[2].setData(None if now.known else self._italic, _FONT)

    def refresh(self, shown: range | None = None):
        """The frame, the pass or the layer changed: the rows on screen (``shown``) hold
        the new one, and only those that read differently now are repainted. The others,
        or all while the table is hidden (``shown`` None), keep what they hold until
        they are painted (``VariablesTable``)."""
        if shown is not None:
            self.write(shown)


class VariablesTable(QTableView):
    """The variables table: before it paints lines that hold another frame's cells (lines
    scrolled into view, or the whole table shown again), it has them written; then Qt
    paints from its own items, without calling Python per cell."""

    def paintEvent(self, event):
        model = self.model()
        rect = event.rect()
        first = self.rowAt(rect.top())
        if isinstance(model, VariablesModel) and first >= 0:
            last = self.rowAt(rect.bottom())
            rows = range(first, (last if last >= 0 else model.rowCount() - 1) + 1)
            written = model.write(rows, quiet=True)  # painted now: no second paint queued
            viewport = self.viewport()
            region = event.region()
            for r in written:                    # a line partly outside this paint
                line = QRect(0, self.rowViewportPosition(r), viewport.width(),
                             self.rowHeight(r))
                if not region.contains(line):
                    viewport.update(line)
        super().paintEvent(event)

    def keyboardSearch(self, search: str) -> None:
        # typing finds a row by the current column's text: every line holds this frame's
        model = self.model()
        if isinstance(model, VariablesModel):
            model.write(range(model.rowCount()))
        super().keyboardSearch(search)


class QuantityAxis(RoomyAxis):
    """The bar plot's y axis: labels a label's height apart. The plot follows the
    statement, so nearly every seek shows another quantity with its own range (fixed per
    quantity, ``pictures/bars.py``): it keeps a picture for each (a pass has ~33)."""

    KEEP = 64


class CountAxis(KeptAxis):
    """The bar plot's x axis (entry j), a picture kept for each quantity's length."""

    KEEP = 64


class VectorPlot(QWidget):
    """The selected quantity as bars over its entries."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        # The y labels keep a label's height apart (in a short plot they crowded).
        # No pyqtgraph menu is made to be thrown away (a third of a plot's build).
        axes = {"left": QuantityAxis("left"), "bottom": CountAxis("bottom")}
        self.plot = pg.PlotWidget(self, axisItems=axes, enableMenu=False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=False, y=True, alpha=0.3)
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for side in ("left", "bottom"):                    # axes redraw from a pixmap
            cached_axis(self.plot.getAxis(side))
        plain_axes(self.plot.getPlotItem())
        # The tick labels' space only grows: a narrower label would otherwise re-lay out
        # the plot (and repaint it twice) whenever the range changes.
        self.plot.getAxis("left").setStyle(autoReduceTextSpace=False)
        self.bars = pg.BarGraphItem(x=np.zeros(1, np.float32), height=np.zeros(1, np.float32),
                                    width=0.8, brush=(70, 120, 200), pen=None)
        self.plot.addItem(self.bars)
        dash = pg.mkPen((160, 80, 80), style=Qt.PenStyle.DashLine)
        self.split = pg.InfiniteLine(angle=90, pen=dash)
        self.plot.addItem(self.split)
        self.split.hide()
        self.title = PlainLabel(self)
        self.hover = PlainLabel(" ", self)
        for label in (self.title, self.hover):
            steady_height(label)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.top = QHBoxLayout()
        self.top.setContentsMargins(0, 0, 0, 0)
        self.top.addWidget(steady_box(self.title), 1)   # a new frame's text moves nothing
        layout.addLayout(self.top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover)
        self.values = np.zeros(0, np.float32)
        self._key = None
        self._got = None                  # plotted_vector of ``_key``
        self._range = None
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        for ev in (session.events.frame_changed, session.events.trace_changed,
                   session.events.selection_changed, session.events.view_layer_changed):
            ev.connect(self.refresh)
        self.refresh()

    def refresh(self, *_):
        s = self.session
        name = s.selected
        frame, index = s.layers.local_frame(), s.view_index   # the layer in view (frames.md)
        if name is None:
            key = None
        elif name in ACCUMULATORS:
            key = (name, index, id(s.trace))
        elif not s.data.known(name, frame):
            key = (name, "unknown", str(frame), id(s.trace))
        else:
            key = (name, "t" if name != "loss" else "all", s.data.focus_step(frame), id(s.trace))
        same = key == self._key                 # the same vector (the key says what it is)
        # A seek that changes the selection refreshes twice (selection, then frame): the
        # second one keeps the vector the first computed (row norms of a matrix, say).
        got = self._got if same else None if name is None else \
            plotted_vector(s.data, name, index)
        title = plot_title(s.data, name, index, got)
        if s.num_layers > 1:
            title = f"layer {s.view_layer} · {title}"
        if title != self.title.text():          # the frame in it changes every frame
            self.title.setText(title)
        if same:
            return
        self._key, self._got = key, got
        if got is None:
            self._set(np.zeros(0, np.float32))
            if name is not None:          # the axes of this quantity, in this run
                self._set_range(name, bar_length(s.data, name), np.zeros(0, np.float32))
            self._settle()
            return
        self._set(np.asarray(got[0]), name)
        X = s.trace.inputs
        if name in ("xc", "dxc"):
            self.split.setValue(X - 0.5)
            self.split.show()
        else:
            self.split.hide()
        self._settle()

    def _settle(self) -> None:
        """New bars and range: lay the plot out now, not in the paint (pyqtgraph's
        prepareForPaint), where the change would queue a second paint of the plot."""
        if self.plot.isVisible():
            self.plot.getPlotItem().vb.prepareForPaint()

    def _set(self, values: np.ndarray, name: str | None = None) -> None:
        n = values.shape[0]
        if n == 0 and self.values.shape[0] == 0:
            return                      # still nothing to plot: leave the bars alone
        self.values = values            # the values themselves, for the hover text
        # drawn saturated (model/levels.py): a bar of 1e308 is as high as the plot goes
        heights = np.nan_to_num(saturate(values), nan=0.0, posinf=0.0, neginf=0.0)
        self.bars.setOpts(x=np.arange(n, dtype=np.float32), height=heights, width=0.8)
        if n:
            self._set_range(name, n, heights)

    def _set_range(self, name: str, n: int, heights: np.ndarray) -> None:
        # One range per quantity over the whole trace (pictures/bars.py, BarRanges): the axes
        # are drawn once and stay cached while the frames change.
        lo, hi = ViewData.of(self.session.data).bars.range(name, heights)
        rng = (n, lo, hi)
        if rng != self._range:
            self._range = rng
            self.plot.setRange(xRange=(-0.5, n - 0.5),
                               yRange=drawable_range(lo, hi, pad=0.04), padding=0)

    def _on_mouse(self, pos):
        vb = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos) or not self.values.size:
            return
        j = int(round(vb.mapSceneToView(pos).x()))
        if 0 <= j < self.values.size:
            self.hover.setText(f"{self.session.selected}[{j}] = {self.values[j]:.6g}")


class VariablesPanel(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        # Opaque, as the source panel is: a child repainted on a seek (the plot's title,
        # the table's scroll bar) does not repaint the dock's title bar under it.
        self.setAutoFillBackground(True)
        # The selection follows the statement: at each frame the quantity it computed is
        # selected and plotted (at the first frame "h" was selected: an empty plot). A row
        # clicked turns this off; the box turns it on again. Connected before the plot's
        # own refresh, so a frame draws the new selection once.
        self.follow = QCheckBox("follow the statement")
        self.follow.setChecked(True)
        self.follow.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.follow.setToolTip("select what each statement computed (a row clicked: that "
                               "quantity stays selected)")
        self.follow.toggled.connect(lambda on: on and self._follow())
        session.events.frame_changed.connect(self._follow)
        self.model = VariablesModel(session, self)
        self.table = VariablesTable(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, chars in enumerate((14, 9, 15, 10, 10, 10, 4)):
            self.table.setColumnWidth(col, self.fontMetrics().horizontalAdvance("0" * chars))
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        # One line per cell: a wrapping cell is laid out as a text block on every repaint,
        # and every seek repaints the table.
        self.table.setWordWrap(False)
        self.plot = VectorPlot(session, self)
        self.plot.top.addWidget(self.follow)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self._table_and_readout())
        split.addWidget(self.plot)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split)
        self._shown_row: int | None = None          # the row highlighted (VARIABLES)
        self._drawn: tuple | None = None            # view_base.drawn_key of the last refresh
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        session.events.frame_changed.connect(self._on_frame)
        session.events.trace_changed.connect(self._on_trace)
        session.events.view_layer_changed.connect(self._on_trace)
        session.events.selection_changed.connect(self._show_selection)
        self._show_selection(session.selected)
        self._follow()
        self._show_readout()

    def _table_and_readout(self) -> QWidget:
        """The table over the read-out's lines: ŷ and dl/dŷ of a stacked model's top layer
        (``readout_rows.py``), hidden when there are none."""
        self.readout = PlainLabel(self)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.readout.hide()
        upper = QWidget(self)
        column = QVBoxLayout(upper)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.table, 1)
        column.addWidget(self.readout)
        return upper

    def row_text(self, name: str) -> list[str]:
        """The cells of ``name``'s row as displayed (for tests and checks); a row off
        screen is written first, as it would be when painted."""
        row = VARIABLES.index(name)
        self.model.write(range(row, row + 1))
        return [self.model.item(row, c).text() for c in range(len(COLUMNS))]

    def _on_frame(self, index):
        if self._drawn != drawn_key(self.session):
            self._on_trace(None)

    def _on_trace(self, trace):
        self.model.refresh(self._rows_shown())
        self._show_readout()
        self._drawn = drawn_key(self.session)

    def _rows_shown(self) -> range | None:
        """The rows in the table's viewport (after any scroll to the followed row), or None
        while the table is not on screen."""
        if not self.table.isVisible():
            return None
        viewport = self.table.viewport()
        first = self.table.rowAt(0)
        last = self.table.rowAt(viewport.height() - 1)
        if first < 0:
            return range(0)
        return range(first, (last if last >= 0 else len(VARIABLES) - 1) + 1)

    def _show_readout(self) -> None:
        rows = readout_rows(self.session)
        if not rows:
            self.readout.hide()
            return
        self.readout.setText("\n".join(row.text() for row in rows))
        self.readout.show()

    def _follow(self, *_):
        if self.follow.isChecked():
            self.session.select(computed_at(self.session.frame))

    def _on_row(self, current, previous):
        if current.isValid():
            name = VARIABLES[current.row()]
            if name != computed_at(self.session.frame):
                self.follow.setChecked(False)        # the user chose: keep their choice
            self.session.select(name)

    def showEvent(self, event):
        super().showEvent(event)
        self._show_selection(self.session.selected, scroll=True)   # the selected row in sight

    def _show_selection(self, name, scroll=False):
        row = None if name is None else VARIABLES.index(name)
        previous, self._shown_row = self._shown_row, row
        sm = self.table.selectionModel()
        shown = not sm.hasSelection() if row is None else sm.isRowSelected(row, _ROOT)
        if row == previous and shown and not scroll:
            return                   # the same row: the frame's new values repaint it
        with QSignalBlocker(sm):
            if row is None:
                sm.clearSelection()
            else:
                idx = self.model.index(row, 0)
                sm.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                   | QItemSelectionModel.SelectionFlag.Rows)
                if self.table.isVisible():           # the followed row stays in sight
                    self.table.scrollTo(idx)
        # Its signals blocked, the view does not repaint the highlight: the two rows whose
        # highlight changed are repainted, not every row's first column with them.
        viewport = self.table.viewport()
        for r in {previous, row} - {None}:
            viewport.update(0, self.table.rowViewportPosition(r), viewport.width(),
                            self.table.rowHeight(r))
