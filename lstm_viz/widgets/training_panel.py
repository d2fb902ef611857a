"""The training dock: settings, Run / Pause / Step / Reset, progress, iterations per
second, the loss curve, the iteration scrubber and a parameter-gradient heatmap with a
"difference from the previous iteration" mode (``gradient_map.py``).

Training runs in timer slices on the GUI thread: see ``live_driver.py``.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.cell import VARIANTS
from lstm_engine.errors import UserError
from lstm_engine.init import INITS
from lstm_engine.optim import OPTIMIZERS
from lstm_engine.textsafe import one_line

from ..model.config import MAX_HIDDEN, MAX_SEED, MAX_STEPS, format_bytes, task_info, trace_bytes
from ..model.training_run import (
    MAX_ITERATION,
    MAX_RING,
    TRAIN_TASKS,
    WATCH,
    TrainingSettings,
    _takes_length,
    loss_curve,
    optional_float,
    same_run,
)
from .gradient_map import GradientMap
from .live_driver import LiveDriver
from .plain import PlainLabel

DEFAULT = "default"                   # what a setting left to the task shows


def _combo(items) -> QComboBox:
    """A combo box of ``items``: texts, or (text, data) pairs."""
    box = QComboBox()
    for item in items:
        text, data = item if isinstance(item, tuple) else (item, None)
        box.addItem(text, data)
    return box


def _done_text(run) -> str:
    """The status line's end: how far the run is, and why it stopped if it did."""
    problem = f"  ·  STOPPED: {one_line(run.problem)}" if run.problem else ""
    return f"{run.iterations_done} iterations done{problem}"


def _spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


class TrainingPanel(QWidget):
    def __init__(self, session, parent=None, report_error=None):
        super().__init__(parent)
        self.session = session
        self.report_error = report_error or (lambda msg: None)
        self.driver = LiveDriver(session, self, self._on_report)
        self._base = TrainingSettings()      # what no control shows (forget bias, dtype)
        self._run_shown = None               # the run whose progress the bar shows
        self._build()
        ev = session.events
        ev.training_changed.connect(self._on_training)
        ev.history_changed.connect(self._on_history)
        ev.iteration_changed.connect(self._on_iteration)
        ev.config_changed.connect(lambda *_: self.sync_from_session())
        self.sync_from_session()
        self._on_training()
        self._on_history()

    # ---- construction -------------------------------------------------------------------

    def _build(self):
        """Three columns for a wide, short bottom dock: the settings, the buttons, the
        progress and the status | the loss curve and the iteration scrubber | a parameter
        gradient (or its change)."""
        self._make_settings()
        left = QVBoxLayout()
        for row in (self._settings_form(), self._control_buttons(), self._progress_row()):
            left.addLayout(row)
        left.addWidget(self.status)               # made with the progress row
        left.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(left, 6)
        layout.addLayout(self._loss_column(), 4)
        self.gradient = GradientMap(self.session)
        layout.addWidget(self.gradient, 3)
        self.ring.valueChanged.connect(self._ring_changed)
        self.task.currentTextChanged.connect(self._task_changed)
        self._task_changed(self.task.currentText())

    def _make_settings(self) -> None:
        """The controls of the training settings, at their defaults."""
        self.task = _combo(TRAIN_TASKS)
        self.task.setCurrentText("adding")
        self.length = _spin(1, MAX_STEPS, 100)
        self.variant = _combo(VARIANTS)
        self.backward = _combo([("its own", ""), *((f"{v}'s", v) for v in VARIANTS)])
        self.backward.setToolTip("the backward pass: the cell's own, or another variant's "
                                 "(standard cell + seed's backward = the wrong backward)")
        self.hidden = _spin(1, MAX_HIDDEN, 64)
        self.optimizer = _combo([(DEFAULT, None), *((o, o) for o in OPTIMIZERS)])
        self.init = _combo([(DEFAULT, None), *((i, i) for i in INITS)])
        self.lr = QLineEdit()
        self.lr.setPlaceholderText(DEFAULT)
        self.clip = QLineEdit()
        self.clip.setPlaceholderText("none")
        self.seed = _spin(0, MAX_SEED, 0)
        self.watch = _combo(WATCH)
        self.watch.setToolTip("the pass shown: the sequence each iteration trains on, or the "
                              "fixed example (sequence 0, one more pass per iteration)")
        self.ring = _spin(1, MAX_RING, 32)
        self.ring_memory = PlainLabel()
        self.iterations = _spin(1, MAX_ITERATION, 1000)
        self.iterations.setToolTip("Run stops after this many iterations in total")

    def _settings_form(self) -> QGridLayout:
        """The settings in a grid of label-control pairs, three to a row, and the ring of
        recent passes with the memory it takes."""
        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(3)
        rows = [(("Task", self.task), ("Length", self.length), ("Cell", self.variant)),
                (("Backward", self.backward), ("Hidden", self.hidden), ("Init", self.init)),
                (("Optimiser", self.optimizer), ("LR", self.lr), ("Clip", self.clip)),
                (("Watch", self.watch), ("Seed", self.seed), ("Run to", self.iterations))]
        for r, row in enumerate(rows):
            for c, (text, widget) in enumerate(row):
                form.addWidget(PlainLabel(text), r, 2 * c)
                form.addWidget(widget, r, 2 * c + 1)
                form.setColumnStretch(2 * c + 1, 1)
        ring_row = QHBoxLayout()
        ring_row.addWidget(self.ring)
        ring_row.addWidget(self.ring_memory, 1)
        form.addWidget(PlainLabel("Ring"), len(rows), 0)
        form.addLayout(ring_row, len(rows), 1, 1, 5)
        for w in (self.task, self.variant, self.backward, self.optimizer, self.init,
                  self.watch):                    # narrow: the dock shares the width
            w.setMinimumContentsLength(6)
            w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        return form

    def _control_buttons(self) -> QHBoxLayout:
        """Run, Pause, Step, Reset (no keyboard focus: the keys stay with the debugger)."""
        self.run_button = QPushButton("Run")
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("start again from iteration 0 with these settings")
        buttons = QHBoxLayout()
        for b in (self.run_button, self.pause_button, self.step_button, self.reset_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b)
        self.run_button.clicked.connect(self.run)
        self.pause_button.clicked.connect(lambda: self.session.pause_training())
        self.step_button.clicked.connect(self.step)
        self.reset_button.clicked.connect(self.reset)
        return buttons

    def _progress_row(self) -> QHBoxLayout:
        """The progress bar with the count and the rate beside it; makes the status line."""
        self.progress = QProgressBar()
        # No text in the bar: QProgressBar repaints synchronously when its text changes
        # (8 ms a call here); the count goes into the label beside it.
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(self.fontMetrics().height() + 6)
        self.rate = PlainLabel("– it/s")
        self.rate.setMinimumWidth(self.fontMetrics().horizontalAdvance(
            "0000000 / 0000000 · 00000 it/s "))
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.rate)
        return row

    def _loss_column(self) -> QVBoxLayout:
        """The loss per iteration (log scale by default) with a marker at the iteration
        shown, and the scrubber over the kept iterations under it."""
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(90)
        self.plot.setLabel("bottom", "iteration")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.getPlotItem().getAxis("left").setWidth(44)
        self.curve = self.plot.plot(pen=pg.mkPen((30, 90, 200), width=1.5))
        self.curve.setClipToView(True)
        self.curve.setDownsampling(auto=True)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 60, 40), width=1))
        self.plot.addItem(self.marker)
        self.log = QCheckBox("log scale")
        self.log.toggled.connect(self._on_log)
        self.log.setChecked(True)
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
        column = QVBoxLayout()
        column.addLayout(log_row)
        column.addWidget(self.plot, 1)
        column.addLayout(scrub_row)
        return column

    # ---- settings -----------------------------------------------------------------------

    def _task_changed(self, task: str):
        self._show_length(task, None)
        self._update_memory()

    def _show_length(self, task: str, length: int | None) -> None:
        """The sequence length: the setting, or the one the task fixes (greyed out)."""
        fixed = not _takes_length(task)
        length = task_info(task).steps if fixed else length
        if length:
            with QSignalBlocker(self.length):
                self.length.setValue(length)
        self.length.setEnabled(not fixed)

    def sync_from_session(self) -> None:
        """With no training run on, the controls start from the session's configuration
        (``TrainingSettings.from_config``); what no RunConfig says stays as chosen."""
        if self.session.training is not None:
            return
        try:
            base = self.settings()
        except UserError:
            base = self._base
        self.show_settings(TrainingSettings.from_config(self.session.config, base))

    def settings(self) -> TrainingSettings:
        task = self.task.currentText()
        base = self._base
        if task != base.task:                # a forget bias chosen for another task
            base = base.with_(forget_bias=None)
        return base.with_(
            task=task, length=self.length.value() if _takes_length(task) else None,
            variant=self.variant.currentText(), backward=self.backward.currentData(),
            hidden=self.hidden.value(), optimizer=self.optimizer.currentData(),
            lr=optional_float(self.lr.text(), "learning rate"),
            clip=optional_float(self.clip.text(), "clipping norm"), seed=self.seed.value(),
            init=self.init.currentData(), watch=self.watch.currentText(),
            ring=self.ring.value())

    def show_settings(self, s: TrainingSettings) -> None:
        """Set the controls from settings (from code: no echo)."""
        widgets = (self.task, self.length, self.variant, self.backward, self.hidden,
                   self.optimizer, self.lr, self.clip, self.seed, self.init, self.watch,
                   self.ring)
        blockers = [QSignalBlocker(w) for w in widgets]
        self._base = s
        self.task.setCurrentText(s.task)
        self._show_length(s.task, s.length)
        self.variant.setCurrentText(s.variant)
        self.backward.setCurrentIndex(max(0, self.backward.findData(s.backward)))
        run = self.session.training
        hidden = s.hidden or (run.resolved.hidden if run is not None else None) \
            or task_info(s.task).hidden
        if hidden:
            self.hidden.setValue(hidden)
        self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(s.optimizer)))
        self.init.setCurrentIndex(max(0, self.init.findData(s.init)))
        self.lr.setText("" if s.lr is None else repr(s.lr))
        self.clip.setText("" if s.clip is None else repr(s.clip))
        self.seed.setValue(s.seed)
        self.watch.setCurrentText(s.watch)
        self.ring.setValue(s.ring)
        del blockers
        self._update_memory()

    def _update_memory(self):
        run = self.session.training
        if run is not None:
            text = run.memory_text(self.ring.value())
        else:
            inputs = task_info(self.task.currentText()).inputs or 8
            text = "≈ " + format_bytes(self.ring.value() * trace_bytes(
                self.length.value(), inputs, self.hidden.value(), self._base.dtype))
        self.ring_memory.setText(f"recent passes kept: {text}")

    def _ring_changed(self, n: int):
        if self.session.training is not None:
            self._guard(self.session.set_ring_size, n)
        self._update_memory()

    # ---- commands -----------------------------------------------------------------------

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except UserError as err:
            self.report_error(str(err))
            return None

    def _ensure_run(self) -> bool:
        """Start a run with the panel's settings unless one with these settings is on."""
        settings = self._guard(self.settings)
        if settings is None:
            return False
        run = self.session.training
        if run is not None and same_run(run, settings):
            return True
        try:
            self.session.start_training(settings)
        except UserError as err:
            self.report_error(str(err))
            return False
        return True

    def run(self):
        if not self._ensure_run():
            return
        self.driver.target = self.iterations.value()
        self.progress.setMaximum(self.driver.target)
        run = self.session.training
        if run.stopped:
            self.report_error(f"training stopped: {run.problem}; Reset starts again"
                              if run.problem else "training stopped; Reset starts again")
            return
        if run.iterations_done >= self.driver.target:
            self.report_error(f"already {run.iterations_done} iterations; "
                              "raise 'Run to' to go on")
            return
        self.session.run_training()

    def step(self):
        if not self._ensure_run():
            return
        self.session.pause_training()
        t = time.perf_counter()
        self._guard(self.session.train, 1)
        self.driver.rate = 1 / max(time.perf_counter() - t, 1e-9)
        self._on_report(None, None)

    def reset(self):
        settings = self._guard(self.settings)
        if settings is not None:
            self._guard(self.session.start_training, settings)

    # ---- reacting to the session ----------------------------------------------------------

    def _on_report(self, report, error):
        if error:                                  # the slice's problem, in one line
            self.report_error(error)
        self._show_progress()

    def _reset_progress(self, run) -> None:
        """A new run (or none): the bar, the count and the rate start again."""
        self._run_shown = run
        self.driver.rate = 0.0
        self.progress.setValue(0)
        self.rate.setText("– it/s" if run is None else
                          f"{run.iterations_done} / {self.progress.maximum()} · – it/s")

    def _show_progress(self):
        run = self.session.training
        if run is None:
            return
        done, top = run.iterations_done, self.progress.maximum()
        if self.progress.value() != min(done, top):
            self.progress.setValue(min(done, top))
        rate = f"{self.driver.rate:,.0f} it/s" if self.driver.rate else "– it/s"
        self.rate.setText(f"{done} / {top} · {rate}")

    def _on_training(self):
        s = self.session
        run = s.training
        running = s.training_running
        self.run_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.step_button.setEnabled(not running)
        if run is not self._run_shown:
            self._reset_progress(run)
        if run is None:
            self.status.setText("Not training. Run starts a run with these settings; the "
                                "debugger then shows each iteration's pass.")
        else:
            if not running:
                self.show_settings(run.settings)
            c = run.resolved
            self.status.setText(f"{c.task}, {c.optimizer} lr {c.lr:g}, init {c.init}"
                                f"{', clip ' + format(c.clip, 'g') if c.clip else ''}"
                                f"  ·  {_done_text(run)}")
            self.progress.setMaximum(max(self.driver.target or self.iterations.value(), 1))
            self._show_progress()
        self._update_scrubber()
        self._update_memory()

    def _on_log(self, on: bool):
        self.plot.setLogMode(False, on)
        self._on_history()                 # the curve's gaps are those of this scale

    def _on_history(self, *_):
        h = self.session.history_arrays()
        if len(h["loss"]):
            self.curve.setData(*loss_curve(h, self.log.isChecked()), connect="finite")
        else:
            self.curve.setData([], [])
        run = self.session.training
        if run is not None:
            text = self.status.text().split("  ·  ")
            if len(text) >= 2:                     # the run's settings, then this
                self.status.setText(f"{text[0]}  ·  {_done_text(run)}")

    def _on_iteration(self, k):
        self._update_scrubber()
        if k is not None:
            self.marker.setValue(k)

    def _update_scrubber(self):
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
            self._guard(self.session.seek_iteration, k)
