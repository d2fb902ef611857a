"""Run ▸ Gradient Check: the engine's finite-difference check on the current pass, in a
worker thread (it takes seconds), then per parameter array the largest relative error,
a heatmap of the per-entry error and the verdict with its thresholds."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..model.checks import (
    CheckCancelled,
    CheckProgress,
    error_image,
    full_check,
    thresholds_text,
    verdict,
    worst_first,
)
from .errors import message_of
from .plain import PlainLabel

VERDICT_COLOR = {"correct": QColor(30, 140, 60), "suspect": QColor(200, 130, 0),
                 "wrong": QColor(200, 30, 30)}
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradcheck")


class IntegerAxis(pg.AxisItem):
    """An axis of entry indices: ticks only at whole numbers."""

    def tickValues(self, minVal, maxVal, size):
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing < 1:
                continue
            out.append((spacing, [v for v in values if float(v).is_integer()]))
        if not out:                                   # zoomed in: every integer in view
            out = [(1.0, [float(v) for v in range(int(np.ceil(minVal)),
                                                  int(np.floor(maxVal)) + 1)])]
        return out


STACKED = ("this check is of one cell on the loss; check a stacked model with "
           "lstm-engine gradcheck (every layer, the read-out and the embedding)")


class GradCheckDialog(QDialog):
    def __init__(self, session, parent=None):  # noqa: PLR0915 - builds the dialog's widgets top to bottom, as they appear
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Gradient check")
        self.result = None
        self.arrays: list = []
        self._future: Future | None = None
        self._trace = None
        self.verdict = PlainLabel()
        font = self.verdict.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.verdict.setFont(font)
        self.what = PlainLabel()
        self.what.setWordWrap(True)
        self.thresholds = PlainLabel(thresholds_text())
        self.thresholds.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(True)
        self.progress_state: CheckProgress | None = None
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_check)
        self.cancel.hide()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["array", "entries checked", "max rel. error",
                                              "verdict"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.currentCellChanged.connect(lambda r, *_: self._show_array(r))
        self.plot = pg.PlotWidget(axisItems={"left": IntegerAxis("left"),
                                             "bottom": IntegerAxis("bottom")})
        self.plot.invertY(True)
        self.plot.setLabel("left", "row (unit)")
        self.plot.setLabel("bottom", "column")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-16, 0), colorMap=pg.colormap.get("viridis"),
                                   label="log10 relative error", interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.heat_label = PlainLabel()
        self.again = QPushButton("Check again")
        self.again.clicked.connect(self.start)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.again)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.what)
        layout.addWidget(self.thresholds)
        body = QHBoxLayout()
        body.addWidget(self.table, 1)
        right = QVBoxLayout()
        right.addWidget(self.heat_label)
        right.addWidget(self.plot, 1)
        body.addLayout(right, 1)
        layout.addLayout(body, 1)
        layout.addLayout(buttons)
        self.resize(980, 520)
        self.poll = QTimer(self)
        self.poll.setInterval(50)
        self.poll.timeout.connect(self._poll)

    def start(self):
        """Check the current pass in the worker thread."""
        if self._future is not None and not self._future.done():
            return
        s = self.session
        if s.num_layers > 1:          # one cell's check on a layer's Trace would be wrong
            self._clear_result()
            self.what.setText(f"a stacked model ({s.num_layers} layers)")
            self.verdict.setText(STACKED)
            return
        self._trace = s.trace
        fwd = s.forward_variant
        back = self._trace.variant
        mix = "" if fwd == back else f" — {fwd} forward with {back}'s backward"
        self.what.setText(f"{s.config.task}: {fwd} cell{mix}, T={self._trace.steps}, "
                          f"X={self._trace.inputs}, H={self._trace.hidden}"
                          + (f", iteration {s.iteration}" if s.iteration is not None else ""))
        self.verdict.setText("checking…")
        self.verdict.setStyleSheet("")
        self._clear_result()                    # the last pass's rows are not this one's
        self.progress_state = progress = CheckProgress()
        self.progress.setRange(0, 0)
        self.progress.setFormat(progress.text())
        self.progress.show()
        self.cancel.show()
        self.cancel.setEnabled(True)
        self.again.setEnabled(False)
        self._future = _POOL.submit(full_check, self._trace, fwd, progress=progress)
        self.poll.start()

    def cancel_check(self):
        """Stop the running check (the worker stops at its next entry)."""
        if self.progress_state is not None and self._future is not None:
            self.progress_state.cancel()
            self.cancel.setEnabled(False)
            self.verdict.setText("cancelling…")

    def _show_progress(self):
        p = self.progress_state
        if p is None or not p.total:
            return
        if self.progress.maximum() != p.total:
            self.progress.setRange(0, p.total)
        self.progress.setValue(p.done)
        self.progress.setFormat(p.text())

    def _poll(self):
        if self._future is None:
            return
        if not self._future.done():
            self._show_progress()
            return
        self.poll.stop()
        self.progress.hide()
        self.cancel.hide()
        self.again.setEnabled(True)
        future, self._future = self._future, None
        try:
            result = future.result()
        except CheckCancelled:
            p = self.progress_state
            self.verdict.setText(f"cancelled after {p.done:,} of {p.total:,} entries")
            self.verdict.setStyleSheet("")
            return
        except Exception as err:                       # noqa: BLE001 - shown to the user
            self.verdict.setText(f"the check failed: {message_of(err)}")
            return
        self.show_result(result)
        self.session.set_gradcheck(result, self._trace)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the running check is done (tests, scripts)."""
        if self._future is not None:
            try:
                self._future.result(timeout)
            except Exception:                             # noqa: BLE001 - _poll shows it
                pass
            self._poll()

    def show_result(self, result):
        self.result = result
        v = result.verdict
        self.verdict.setText(f"{v.upper()}: largest relative error {result.max_error:.3g}")
        self.verdict.setStyleSheet(f"color: {VERDICT_COLOR[v].name()}")
        self.arrays = arrays = worst_first(result)      # the worst array first, selected
        self.table.setRowCount(len(arrays))
        for r, a in enumerate(arrays):
            e = a.max_error
            cells = (a.name, f"{a.checked} / {a.errors.size}", f"{e:.3g}", verdict(e))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 3:
                    item.setForeground(VERDICT_COLOR[verdict(e)])
                self.table.setItem(r, c, item)
        self.table.setCurrentCell(0, 0)
        self._show_array(0)

    def _clear_result(self) -> None:
        self.result = None
        self.arrays = []
        self.table.setRowCount(0)
        self.image.clear()
        self.heat_label.setText("")

    def _show_array(self, row: int):
        if self.result is None or row < 0 or row >= len(self.arrays):
            return
        a = self.arrays[row]
        img, unchecked = error_image(a.errors)
        rows, cols = img.shape
        self.image.setImage(img, levels=(-16, 0), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, cols, rows))   # entry j centred on tick j
        one_row = a.errors.ndim == 1
        left = self.plot.getAxis("left")
        left.setTicks([[(0, "")]] if one_row else None)
        self.plot.setLabel("left", "" if one_row else "row (unit)")
        self.plot.setLabel("bottom", "unit" if one_row else "column")
        note = f", {unchecked} entries not checked (blank)" if unchecked else ""
        self.heat_label.setText(f"{a.name}: per-entry relative error, shape "
                                f"{a.errors.shape}{note}")
        self.plot.getPlotItem().autoRange()

    def closeEvent(self, event):
        if self._future is not None and self.progress_state is not None:
            self.progress_state.cancel()                   # closing stops the worker too
        self.poll.stop()
        super().closeEvent(event)

