"""The training dock: settings, Run / Pause / Step / Reset, progress, iterations per
second, the loss curve, the iteration scrubber and a parameter-gradient heatmap with a
"difference from the previous iteration" mode (``gradient_map.py``).

Training runs in timer slices on the GUI thread: see ``live_driver.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.cell import VARIANTS
from lstm_engine.errors import UserError
from lstm_engine.init import INITS
from lstm_engine.optim import OPTIMIZERS
from lstm_engine.textsafe import one_line

from ..model.config import (
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_SEED,
    MAX_STEPS,
    format_bytes,
    task_info,
    trace_bytes,
)
from ..model.training_run import (
    MAX_ITERATION,
    MAX_RING,
    TRAIN_TASKS,
    WATCH,
    TrainingSettings,
    _takes_length,
    optional_float,
    same_run,
)
from .gradient_map import GradientMap
from .live_driver import LiveDriver
from .loss_curve import LossCurve
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
        ev.path_changed.connect(lambda *_: self._on_training())   # what Run trains, said
        ev.config_changed.connect(lambda *_: self._on_training())
        self.task.currentTextChanged.connect(lambda *_: self._name_buttons())
        self.sync_from_session()
        self._on_training()
        self._on_history()

    # ---- construction -------------------------------------------------------------------

    def _build(self):
        """Three columns for a wide, short bottom dock: the settings, the buttons, the
        progress and the status | the loss curve and the iteration scrubber | a parameter
        gradient (or its change). In a narrower dock (a tab beside the heatmaps at
        1366×768) the gradient goes under the other two (``_arrange``)."""
        self._make_settings()
        left = QVBoxLayout()
        for row in (self._settings_form(), self._control_buttons(), self._progress_row()):
            left.addLayout(row)
        left.addWidget(self.status)               # made with the progress row
        left.addStretch(1)
        self.gradient = GradientMap(self.session)
        self.loss = LossCurve(self.session, self.report_error)
        # the loss curve's parts, as the panel's own (tests and saved views use them)
        self.plot, self.curve, self.marker = self.loss.plot, self.loss.curve, self.loss.marker
        self.log, self.scrub, self.scrub_label = self.loss.log, self.loss.scrub, \
            self.loss.scrub_label
        self._columns = (left, self.loss, self.gradient)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(6, 4, 6, 4)
        self.wide: bool | None = None
        self._arrange(True)
        self.ring.valueChanged.connect(self._ring_changed)
        self.layers.valueChanged.connect(lambda *_: self._update_memory())
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
        self.layers = _spin(1, MAX_LAYERS, 1)
        self.layers.setToolTip("stacked cells of H each (the engine's Trainer over every "
                               "layer)")
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
        ring_row.addWidget(PlainLabel("Layers"))
        ring_row.addWidget(self.layers)
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
            "0000000 / 0000000 done · 00000 it/s "))
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.rate)
        return row

    WIDE = 1100                        # px from which the three columns sit side by side

    def _arrange(self, wide: bool) -> None:
        if wide == self.wide:
            return
        self.wide = wide
        left, loss, gradient = self._columns
        self.grid.removeItem(left)
        for widget in (loss, gradient):
            self.grid.removeWidget(widget)
        self.grid.addLayout(left, 0, 0)
        self.grid.addWidget(loss, 0, 1)
        if wide:
            self.grid.addWidget(gradient, 0, 2)
            stretches, rows = (6, 4, 3), (1, 0)
        else:
            self.grid.addWidget(gradient, 1, 0, 1, 2)
            stretches, rows = (3, 2, 0), (3, 2)
        for c, k in enumerate(stretches):
            self.grid.setColumnStretch(c, k)
        for r, k in enumerate(rows):
            self.grid.setRowStretch(r, k)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._arrange(event.size().width() >= self.WIDE)

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
            ring=self.ring.value(), layers=self.layers.value())

    def show_settings(self, s: TrainingSettings) -> None:
        """Set the controls from settings (from code: no echo)."""
        widgets = (self.task, self.length, self.variant, self.backward, self.hidden,
                   self.optimizer, self.lr, self.clip, self.seed, self.init, self.watch,
                   self.ring, self.layers)
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
        self.layers.setValue(s.layers)
        del blockers
        self._update_memory()

    def _update_memory(self):
        run = self.session.training
        if run is not None:
            text = run.memory_text(self.ring.value())
        else:
            inputs = task_info(self.task.currentText()).inputs or 8
            T, H, dt = self.length.value(), self.hidden.value(), self._base.dtype
            per_pass = (trace_bytes(T, inputs, H, dt)
                        + (self.layers.value() - 1) * trace_bytes(T, H, H, dt))
            text = "≈ " + format_bytes(self.ring.value() * per_pass)
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

    def untrainable(self) -> str | None:
        """What the shown run is when the dock cannot train it (a trace from a file, the
        random task) and no training is on; None when Run trains what is shown."""
        s = self.session
        if s.training is not None or s.config.task in TRAIN_TASKS:
            return None
        if s.path:
            return f"the trace {Path(s.path).name}"
        return f"the {s.config.task} run"

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
                          f"{run.iterations_done} / {self.progress.maximum()} done · – it/s")

    def _show_progress(self):
        run = self.session.training
        if run is None:
            return
        done, top = run.iterations_done, self.progress.maximum()
        if self.progress.value() != min(done, top):
            self.progress.setValue(min(done, top))
        rate = f"{self.driver.rate:,.0f} it/s" if self.driver.rate else "– it/s"
        self.rate.setText(f"{done} / {top} done · {rate}")   # as the status bar counts

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
            shown = self.untrainable()
            self.status.setText(
                "Not training. Run starts a run with these settings; the debugger then "
                "shows each iteration's pass." if shown is None else
                f"Not training. {shown[0].upper()}{shown[1:]} cannot be trained here: Run "
                f"trains the task set here ({self.task.currentText()}), not the run shown.")
        else:
            if not running:
                self.show_settings(run.settings)
            c = run.resolved
            sizes = "".join(f" {k} {v}" for k, v in c.task_options.items() if k != "length")
            layers = f", {c.layers} layers" if c.layers > 1 else ""
            self.status.setText(f"{c.task}{sizes}{layers}, {c.optimizer} lr {c.lr:g}, "
                                f"init {c.init}"
                                f"{', clip ' + format(c.clip, 'g') if c.clip else ''}"
                                f"  ·  {_done_text(run)}")
            self.progress.setMaximum(max(self.driver.target or self.iterations.value(), 1))
            self._show_progress()
        self.loss.update_scrubber()
        self._update_memory()
        self._name_buttons()

    def _name_buttons(self) -> None:
        """Run and Step name the task they would train when that is not the run shown (a
        trace from a file, the random task): after File ▸ Open Trace the dock's old task
        trained without a word."""
        other = self.untrainable() is not None
        task = self.task.currentText()
        self.run_button.setText(f"Run {task}" if other else "Run")
        self.step_button.setText(f"Step {task}" if other else "Step")

    def _on_history(self, *_):
        self.loss.show_history()
        run = self.session.training
        if run is not None:
            text = self.status.text().split("  ·  ")
            if len(text) >= 2:                     # the run's settings, then this
                self.status.setText(f"{text[0]}  ·  {_done_text(run)}")

    def _on_iteration(self, k):
        self.loss.show_iteration(k)
