"""The breakpoints dock: every breakpoint with its enabled box, what it tests, how many
times it stopped execution and at how many frames it holds in this pass; a form to add
a condition; Remove and Reset counts. The widget only forwards intent to the session."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.errors import UserError
from lstm_engine.trace import BACKWARD_NAMES, GRAD_NAMES, STEP_NAMES

from ..model.breakpoints import GATES, NORM_QUANTITIES, parse_breakpoint
from .plain import PlainLabel, set_plain_tooltip

KIND_TEXT = {
    "nan": "NaN or Inf",
    "norm": "norm of a quantity",
    "vanish": "vanishing ratio ‖q(t)‖/‖q(t+1)‖",
    "saturation": "gate saturation",
    "gradcheck": "gradient-check error",
    "frame": "frame",
}
COLUMNS = ("On", "Condition", "Hits", "Frames here")


class BreakpointsPanel(QWidget):
    def __init__(self, session, parent=None, report_error=None, done_editing=None):  # noqa: PLR0915 - builds the panel's widgets top to bottom, as they appear
        super().__init__(parent)
        self.session = session
        self.report_error = report_error or (lambda msg: None)
        # Escape in a text field gives the keyboard back to the window, so the stepping
        # keys (Home, End, F5, Space …) step again instead of editing the line. Return adds
        # the breakpoint and the focus stays where the user is typing (once it left, the
        # next spaces typed started Play).
        self.done_editing = done_editing or (lambda: None)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in (0, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(self._go_to_first)

        self.kind = QComboBox()
        for k in ("nan", "norm", "vanish", "saturation", "gradcheck", "frame"):
            self.kind.addItem(KIND_TEXT[k], k)
        self.quantity = QComboBox()
        # A stacked model's condition holds on any layer, or on the one chosen here
        # (the text form's ``L1: …``); hidden for one layer and for a frame, which names
        # its layer in its own text.
        self.layer = QComboBox()
        set_plain_tooltip(self.layer, "the layer the condition is checked on")
        self.op = QComboBox()
        self.op.addItems(["<", ">"])
        self.threshold = QLineEdit()
        self.threshold.setPlaceholderText("threshold")
        self.eps = QLineEdit("0.01")
        self.eps.setToolTip("ε: a unit is saturated within ε of 0 or 1")
        self.eps.setMaximumWidth(60)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_from_form)
        self.threshold.returnPressed.connect(self.add_from_form)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.spec = QLineEdit()
        self.spec.returnPressed.connect(self.add_from_text)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.reset_button = QPushButton("Reset counts")
        self.reset_button.clicked.connect(lambda: self.session.reset_hit_counts())
        self.hint = PlainLabel("F5 stops at the first frame where an enabled breakpoint holds; "
                           "while training, at the first iteration. Double-click a row to "
                           "go to its first frame. Esc in a field: the keys step again.")
        self.hint.setWordWrap(True)
        # After a new run replaced the shown one: which breakpoints it kept, and a button
        # to drop them (a condition meant for one task would stop another's training).
        self.carried = PlainLabel()
        self.carried.setWordWrap(True)
        self.carried.setStyleSheet("color: #8a5a00")
        self.drop_carried = QPushButton("Remove them")
        self.drop_carried.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.drop_carried.clicked.connect(self._remove_carried)
        self._carried: tuple = ()

        form = QHBoxLayout()
        form.addWidget(self.kind, 2)
        form.addWidget(self.layer)
        form.addWidget(self.quantity, 1)
        form.addWidget(self.op)
        form.addWidget(self.threshold, 1)
        self.eps_label = PlainLabel("ε")
        form.addWidget(self.eps_label)
        form.addWidget(self.eps)
        form.addWidget(self.add_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.spec, 1)
        bottom.addWidget(self.remove_button)
        bottom.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(form)
        layout.addLayout(bottom)
        carried = QHBoxLayout()
        carried.addWidget(self.carried, 1)
        carried.addWidget(self.drop_carried)
        layout.addLayout(carried)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        for w in (self.kind, self.layer, self.quantity, self.op, self.add_button,
                  self.remove_button,
                  self.reset_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for field in (self.spec, self.threshold, self.eps):
            escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), field)
            escape.setContext(Qt.ShortcutContext.WidgetShortcut)
            escape.activated.connect(lambda: self.done_editing())
        self._kind_changed()
        ev = session.events
        ev.breakpoints_changed.connect(self.refresh)
        ev.breakpoints_changed.connect(self._forget_carried)
        ev.trace_changed.connect(self.refresh)
        ev.trace_changed.connect(self._show_syntax)
        ev.trace_changed.connect(self._fill_layers)
        self._show_syntax()
        self._fill_layers()
        ev.breakpoints_carried.connect(self._on_carried)
        self._show_carried(())
        self.refresh()

    def _show_syntax(self, *_) -> None:
        """The typed form's examples; with stacked layers, the layer part too (a condition
        holds for any layer unless it starts with one: ``L1: norm ds < 1e-3``)."""
        examples = ("norm ds < 1e-6 · vanish ds < 0.1 · saturation f > 0.9 eps 0.01 · nan · "
                    "gradcheck > 1e-3")
        layers = self.session.num_layers
        if layers > 1:
            examples = f"L{layers - 1}: norm ds < 1e-3 (layer {layers - 1} only) · " + examples
        self.spec.setPlaceholderText("or type one: " + examples)
        set_plain_tooltip(self.spec, "a condition as text, Return adds it: " + examples)

    def _fill_layers(self, *_) -> None:
        """"any layer", then each layer of the pass; the choice stays if that layer still
        exists."""
        layers = self.session.num_layers
        chosen = self.layer.currentData()
        with QSignalBlocker(self.layer):
            self.layer.clear()
            self.layer.addItem("any layer", None)
            for n in range(layers):
                self.layer.addItem(f"layer {n}", n)
            self.layer.setCurrentIndex(max(0, self.layer.findData(chosen)))
        self._kind_changed()

    # ---- what a new run kept ----------------------------------------------------------------

    def _on_carried(self, carry) -> None:
        self._show_carried(carry.kept, carry.text())

    def _show_carried(self, kept: tuple, text: str = "") -> None:
        self._carried = tuple(kept)
        self.carried.setText(text)
        self.carried.setVisible(bool(text))
        self.drop_carried.setVisible(bool(self._carried))

    def _forget_carried(self) -> None:
        """The line stays while a breakpoint it names is still there (hits counted by a
        stop are no reason to go: that stop is when it matters)."""
        if self.carried.text() and not any(bp in self.session.breakpoints
                                           for bp in self._carried):
            self._show_carried(())

    def _remove_carried(self) -> None:
        for bp in self._carried:
            self.session.remove_breakpoint(bp)
        self._show_carried(())

    # ---- the form -------------------------------------------------------------------------

    def _kind_changed(self, *_):
        kind = self.kind.currentData()
        choices = {"nan": ("any", *STEP_NAMES, *GRAD_NAMES), "norm": NORM_QUANTITIES,
                   "vanish": BACKWARD_NAMES, "saturation": GATES, "gradcheck": (),
                   "frame": ()}[kind]
        with QSignalBlocker(self.quantity):
            self.quantity.clear()
            self.quantity.addItems(choices)
            if kind in ("norm", "vanish"):
                self.quantity.setCurrentText("ds")
            elif kind == "saturation":
                self.quantity.setCurrentText("f")
        self.quantity.setVisible(bool(choices))
        self.layer.setVisible(self.layer.count() > 2 and kind != "frame")
        self.op.setVisible(kind == "norm")
        self.threshold.setVisible(kind != "nan")
        self.eps.setVisible(kind == "saturation")
        self.eps_label.setVisible(kind == "saturation")
        self.threshold.setPlaceholderText({"frame": "frame, e.g. bwd:2:ds",
                                           "saturation": "fraction, e.g. 0.9",
                                           "vanish": "ratio, e.g. 0.1",
                                           "gradcheck": "error, e.g. 0.001"}.get(kind,
                                                                                "threshold"))

    def form_spec(self) -> str:
        spec = self._condition_spec()
        layer = self.layer.currentData()
        if layer is None or self.kind.currentData() == "frame":
            return spec
        return f"L{layer}: {spec}"

    def _condition_spec(self) -> str:
        kind = self.kind.currentData()
        q = self.quantity.currentText()
        value = self.threshold.text().strip()
        if kind == "nan":
            return "nan" if q == "any" else f"nan {q}"
        if kind == "frame":
            return f"frame {value or self.session.frame_text}"
        if not value:
            raise UserError("enter a threshold")
        if kind == "norm":
            return f"norm {q} {self.op.currentText()} {value}"
        if kind == "vanish":
            return f"vanish {q} < {value}"
        if kind == "saturation":
            return f"saturation {q} > {value} eps {self.eps.text().strip() or '0.01'}"
        return f"gradcheck > {value}"

    def add_from_form(self):
        try:
            self.add(self.form_spec())
        except UserError as err:
            self.report_error(str(err))

    def add_from_text(self):
        try:
            self.add(self.spec.text())
            self.spec.clear()
        except UserError as err:
            self.report_error(str(err))

    def add(self, spec: str) -> bool:
        bp = parse_breakpoint(spec)
        if not self.session.add_breakpoint(bp):
            raise UserError(f"there is already a breakpoint {bp.label()}")
        return True

    def remove_selected(self):
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        bps = self.session.breakpoints
        for r in rows:
            if r < len(bps):
                self.session.remove_breakpoint(bps[r])

    # ---- the table --------------------------------------------------------------------------

    def refresh(self, *_):
        bps = self.session.breakpoints
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(bps))
            for r, bp in enumerate(bps):
                on = self.table.item(r, 0)
                if on is None:
                    on = QTableWidgetItem()
                    self.table.setItem(r, 0, on)
                on.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                            | Qt.ItemFlag.ItemIsSelectable)
                on.setCheckState(Qt.CheckState.Checked if bp.enabled
                                 else Qt.CheckState.Unchecked)
                cells = (bp.label(), str(bp.hit_count), self._frames_here(bp))
                for c, text in enumerate(cells, start=1):
                    item = self.table.item(r, c)
                    if item is None:
                        item = QTableWidgetItem()
                        self.table.setItem(r, c, item)
                    item.setText(text)
                    if c == 1:
                        set_plain_tooltip(item, bp.spec())
        self.remove_button.setEnabled(bool(bps))

    def _frames_here(self, bp) -> str:
        if not bp.enabled:
            return "–"
        if bp.kind == "gradcheck" and self.session.gradcheck_result() is None:
            return "on F5"              # computed when first needed (a quick check)
        return str(len(self.session.breakpoint_hits(bp)))

    def _item_changed(self, item: QTableWidgetItem):
        if item.column() != 0:
            return
        bps = self.session.breakpoints
        if item.row() < len(bps):
            on = item.checkState() == Qt.CheckState.Checked
            self.session.set_breakpoint_enabled(bps[item.row()], on)

    def _go_to_first(self, row: int, column: int):
        bps = self.session.breakpoints
        if row < len(bps) and column != 0:
            hits = self.session.breakpoint_hits(bps[row])
            if len(hits):
                self.session.seek(int(hits.indices[0]))
