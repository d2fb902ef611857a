"""The run-configuration dialog: task, variant, sizes (every size the task has: the copy
task's symbols, pattern and delay too), the number of layers, the read-out the task
scores (shown), seed, init, dtype, learning rate, the backward pass (the cell's own or
another variant's) and the forget-gate bias.

It validates as you type (``config.check_config``) and shows the memory the recording
will need; OK is only enabled for a config that can run. It returns a RunConfig; the
window hands it to ``session.configure``.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QSpinBox,
    QVBoxLayout,
)

from lstm_engine.cell import VARIANTS
from lstm_engine.errors import UserError

from ..model import config as cfgmod
from .plain import PlainLabel, set_plain_tooltip


class ConfigDialog(QDialog):
    def __init__(self, current: cfgmod.RunConfig, parent=None):  # noqa: PLR0915 - builds the dialog's fields top to bottom, as they appear
        super().__init__(parent)
        self.setWindowTitle("Configure run")
        self.task = QComboBox()
        names = list(cfgmod.task_names())
        if current.task not in names:                     # a run read from a file
            names.insert(0, current.task)
        self.task.addItems(names)
        self.variant = QComboBox()
        self.variant.addItems(VARIANTS)
        self.hidden = self._spin(1, 100_000)
        self.steps = self._spin(1, 10_000_000)
        self.inputs = self._spin(1, 100_000)
        self.seed = self._spin(0, cfgmod.MAX_SEED)
        self.layers = self._spin(1, cfgmod.MAX_LAYERS)
        self.layers.setToolTip("Stacked cells of H each: layer l reads layer l-1's h(t)")
        self.sizes = {k: self._spin(1, 10_000) for k in cfgmod.TASK_SIZES}
        self.readout = PlainLabel()
        self.init = QComboBox()
        self.init.addItems(cfgmod.INITS)
        self.dtype = QComboBox()
        self.dtype.addItems(cfgmod.DTYPES)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1e6)          # large ones too: blowing a run up is a use
        self.lr.setSingleStep(0.01)
        self.lr.setKeyboardTracking(True)
        self.lr.setToolTip("The step size of Run ▸ Train One Iteration (Ctrl+T): one plain "
                           "SGD step on this pass's summed gradient. Live training (the "
                           "Training panel) has its own settings.")
        self.backward = QComboBox()
        self.backward.addItem("the cell's own", "")
        for v in VARIANTS:
            self.backward.addItem(f"{v} variant's backward", v)
        self.backward.setToolTip("Run another variant's backward pass: the standard cell with "
                                 "the seed's backward is the classic mistake the gradient "
                                 "check must catch")
        self.use_forget_bias = QCheckBox("set")
        self.use_forget_bias.setToolTip("Unchecked: the initialisation's own forget-gate bias")
        self.forget_bias = QDoubleSpinBox()
        self.forget_bias.setRange(-cfgmod.MAX_FORGET_BIAS, cfgmod.MAX_FORGET_BIAS)
        self.forget_bias.setSingleStep(0.5)
        forget_row = QHBoxLayout()
        forget_row.addWidget(self.use_forget_bias)
        forget_row.addWidget(self.forget_bias, 1)
        self.about = PlainLabel()
        self.about.setWordWrap(True)
        # Room for three lines from the start (the longest description, the adding
        # problem's, was clipped when the task changed in an open dialog); more if needed.
        self.about.setMinimumHeight(self.about.fontMetrics().lineSpacing() * 3 + 4)
        self.memory = PlainLabel()
        self.problem = PlainLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b01010;")
        self.problem.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Room for three lines whether or not there is a problem: the form never jumps.
        self.problem.setFixedHeight(self.problem.fontMetrics().lineSpacing() * 3 + 4)
        form = QFormLayout()
        form.addRow(PlainLabel("Task"), self.task)
        form.addRow(PlainLabel(""), self.about)
        form.addRow(PlainLabel("Variant"), self.variant)
        form.addRow(PlainLabel("Hidden size H"), self.hidden)
        form.addRow(PlainLabel("Sequence length T"), self.steps)
        form.addRow(PlainLabel("Inputs X"), self.inputs)
        for k, w in self.sizes.items():
            form.addRow(PlainLabel(f"{k.capitalize()} (copy)"), w)
        form.addRow(PlainLabel("Layers"), self.layers)
        form.addRow(PlainLabel("Read-out"), self.readout)
        form.addRow(PlainLabel("Seed"), self.seed)
        form.addRow(PlainLabel("Initialisation"), self.init)
        form.addRow(PlainLabel("dtype"), self.dtype)
        form.addRow(PlainLabel("SGD rate (Train One Iteration)"), self.lr)
        form.addRow(PlainLabel("Backward pass"), self.backward)
        form.addRow(PlainLabel("Forget-gate bias"), forget_row)
        form.addRow(PlainLabel("Recording needs"), self.memory)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.set_config(current)
        self.task.currentTextChanged.connect(self._task_changed)
        for w in (self.hidden, self.steps, self.inputs, self.seed, self.lr, self.layers,
                  *self.sizes.values()):
            w.valueChanged.connect(self.validate)
        for w in (self.variant, self.init, self.dtype, self.backward):
            w.currentTextChanged.connect(self.validate)
        self.forget_bias.valueChanged.connect(self.validate)
        self.use_forget_bias.toggled.connect(self.forget_bias.setEnabled)
        self.use_forget_bias.toggled.connect(self.validate)
        self.validate()

    @staticmethod
    def _spin(low, high) -> QSpinBox:
        s = QSpinBox()
        s.setRange(low, high)
        s.setKeyboardTracking(True)              # validate on every keystroke, not on Tab
        return s

    def set_config(self, c: cfgmod.RunConfig) -> None:
        self.task.setCurrentText(c.task)
        self.variant.setCurrentText(c.variant)
        self.hidden.setValue(c.hidden)
        self.steps.setValue(c.steps)
        self.inputs.setValue(c.inputs)
        self.seed.setValue(c.seed)
        self.layers.setValue(c.layers)
        defaults = cfgmod.task_sizes(c.task)
        for k, w in self.sizes.items():
            value = getattr(c, k)
            w.setValue(value if value is not None else defaults.get(k, 1))
        if c.init not in cfgmod.INITS:
            self.init.addItem(c.init)
        self.init.setCurrentText(c.init)
        self.dtype.setCurrentText(c.dtype)
        self.lr.setValue(c.lr)
        self.backward.setCurrentIndex(max(0, self.backward.findData(c.backward)))
        self.use_forget_bias.setChecked(c.forget_bias is not None)
        self.forget_bias.setEnabled(c.forget_bias is not None)
        self.forget_bias.setValue(0.0 if c.forget_bias is None else c.forget_bias)
        self._enable()

    def _task_changed(self, name: str) -> None:
        if name in cfgmod.task_names():
            # The task's defaults whole (variant, seed and dtype too): keeping the variant
            # made "published" record L = 0.751802 (standard) instead of its 0.753484.
            self.set_config(cfgmod.default_config(name))
        self.validate()

    def _enable(self) -> None:
        name = self.task.currentText()
        fixed_file = name not in cfgmod.task_names()
        info = None if fixed_file else cfgmod.task_info(name)
        self.about.setText("the trace read from a file" if fixed_file else info.description)
        need = self.about.heightForWidth(max(self.about.width(), 200))
        if need > self.about.minimumHeight():
            self.about.setMinimumHeight(need)
        for w in (self.hidden, self.seed, self.init):
            w.setEnabled(not fixed_file)
        sizes = {} if fixed_file else cfgmod.task_sizes(name)
        self.steps.setEnabled(info is not None and info.steps is None and not sizes)
        self.inputs.setEnabled(info is not None and info.inputs is None)
        for k, w in self.sizes.items():
            used = k in sizes
            w.setEnabled(used)
            # A size the task does not have shows a dash, not a number it would ignore.
            with QSignalBlocker(w):
                w.setSpecialValueText("" if used else "—")
                w.setMinimum(1 if used else 0)
                if not used:
                    w.setValue(0)
        self.layers.setEnabled(not fixed_file)

    def config(self) -> cfgmod.RunConfig:
        return cfgmod.RunConfig(
            task=self.task.currentText(), variant=self.variant.currentText(),
            hidden=self.hidden.value(), steps=self.steps.value(), inputs=self.inputs.value(),
            seed=self.seed.value(), init=self.init.currentText(), dtype=self.dtype.currentText(),
            lr=float(self.lr.value()), backward=self.backward.currentData() or "",
            forget_bias=(float(self.forget_bias.value()) if self.use_forget_bias.isChecked()
                         else None), layers=self.layers.value(),
            **{k: w.value() for k, w in self.sizes.items() if w.isEnabled()})

    def validate(self, *_) -> bool:
        """Check the config; show the memory estimate or the reason it is refused."""
        c = self.config()
        ok = True
        try:
            if c.task in cfgmod.task_names():
                c = cfgmod.check_config(c)
            self.problem.setText("")
        except UserError as err:
            self.problem.setText(str(err))
            ok = False
        set_plain_tooltip(self.problem, self.problem.text())
        if c.task in cfgmod.task_names():
            try:
                c = cfgmod.resolved(c)
            except UserError:
                pass                                 # said above
            with QSignalBlocker(self.steps), QSignalBlocker(self.inputs):
                self.steps.setValue(c.steps)         # the copy task's T and X follow
                self.inputs.setValue(c.inputs)
            self.readout.setText(cfgmod.readout_text(c) if ok else "")
        else:
            self.readout.setText("the file's")
        need = cfgmod.trace_bytes(c.steps, c.inputs, c.hidden, c.dtype)
        peak = cfgmod.peak_bytes(c.steps, c.inputs, c.hidden, c.dtype)
        self.memory.setText(f"{cfgmod.format_bytes(need)} (peak while recording "
                            f"{cfgmod.format_bytes(peak)})")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        return ok

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.validate():
            return
        super().keyPressEvent(event)
