"""The workbench: live training, condition breakpoints, the gradient check, variant
comparison and saved sessions, added to the main window in one place.

The window builds one (``Workbench(window)``, which needs nothing from
the window's module): it creates the Training and Breakpoints docks (bottom area, tabbed,
hidden until asked for), a status-bar label for the reason a breakpoint stopped
execution, and the object behind the menu commands of ``model/shortcuts.py`` that
call ``w.workbench.<method>()`` (``WorkbenchCommands`` lists them). Widgets forward
intent to the session; nothing here owns state of the run.
"""

from __future__ import annotations

import logging
from typing import cast

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QFrame, QScrollArea

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line

from ..model import crashlog
from ..model.layout import LayoutProblem
from .breakpoints_panel import BreakpointsPanel
from .lazy_dock import LazyDock
from .plain import ask_text, set_plain_tooltip
from .progress import run_job
from .steady import ElidedLabel
from .training_panel import TrainingPanel
from .window_layout import apply as apply_layout
from .window_layout import describe as describe_layout

log = logging.getLogger(crashlog.LOGGER)

SESSION_FILTER = "lstm-viz sessions (*.npz);;All files (*)"


BOTTOM_MIN = 220          # the least height a panel docked under the pictures is usable at


class _ResizeFilter(QObject):
    """Forwards the bottom panels' resize events to the workbench."""

    def __init__(self, workbench):
        super().__init__(workbench.window)
        self.workbench = workbench

    def eventFilter(self, obj, event):
        return self.workbench.eventFilter(obj, event)


def _scrolling(panel):
    """The panel in a scroll area: a small window scrolls it instead of growing (None: a
    panel put in later, with ``setWidget``)."""
    area = QScrollArea()
    if panel is not None:
        area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setMinimumSize(120, 60)
    return area


class Workbench:
    def __init__(self, window):
        self.window = window
        self.session = window.session
        report = window.errors.report
        self.breakpoints_panel = BreakpointsPanel(self.session, report_error=report,
                                                  done_editing=window.focus_home)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        # The training panel (its loss curve, gradient map, live driver) is built when the
        # dock is first shown or the panel asked for (``lazy_dock.py``): most sessions
        # never train.
        area = _scrolling(None)
        self.training_dock = cast(LazyDock, window.add_dock(
            "Training", "training", area, bottom,
            build=lambda: TrainingPanel(self.session, report_error=report),
            place=area.setWidget))
        self.breakpoints_dock = window.add_dock("Breakpoints", "breakpoints",
                                             _scrolling(self.breakpoints_panel), bottom)
        self._share: float | None = None            # the bottom panel's share of the height
        self._window_size = None
        self._filter = _ResizeFilter(self)
        for dock in (self.training_dock, self.breakpoints_dock):
            dock.hide()
            dock.installEventFilter(self._filter)
            dock.visibilityChanged.connect(lambda on, d=dock: on or self._closed(d))
        menu = window.menus["View"]
        menu.addSeparator()
        menu.addAction(self.training_dock.toggleViewAction())
        # Opening the dock: its settings start from the loaded run (unless training is on).
        self.training_dock.toggleViewAction().triggered.connect(
            lambda on: on and self.training_panel.sync_from_session())
        menu.addAction(self.breakpoints_dock.toggleViewAction())
        # The status bar's note: why execution stopped (or did not), what a new run kept.
        # While it shows it takes the gradient norms' room; a text too long for it ends in
        # "…" and its tool tip holds all of it.
        self.stop_label = ElidedLabel()
        self.stop_label.setStyleSheet("color: #b01010")
        self.stop_label.setMinimumWidth(40)
        self.stop_label.hide()                  # takes room only while there is a note
        window.statusBar().addWidget(self.stop_label, 1)
        self.gradcheck_dialog = None
        self.compare_view = None
        ev = self.session.events
        self._note_at: int | None = None           # where a "no breakpoint hit" note holds
        ev.stopped.connect(self._on_stop)
        ev.frame_changed.connect(self._on_frame)
        ev.no_hit.connect(self._on_no_hit)
        ev.breakpoints_carried.connect(self._on_carried)

    @property
    def training_panel(self) -> TrainingPanel:
        """The Training dock's panel, built on first use."""
        return cast(TrainingPanel, self.training_dock.content())

    # ---- status ---------------------------------------------------------------------------

    def _on_stop(self, stop):
        self._note_at = None
        self.show_note("" if stop is None else "■ " + stop.text())

    def show_note(self, text: str) -> None:
        """The status bar's note, whole in its tool tip (empty: no note): why execution
        stopped (or did not), what a new run kept."""
        text = one_line(text)
        line = getattr(self.window, "status_line", None)
        if line is not None:
            line.grads.setVisible(not text)
        self.stop_label.setVisible(bool(text))
        bar = self.window.statusBar()
        if bar.layout() is not None:
            bar.layout().activate()            # its width now, so the text is cut only if
        self.stop_label.set_full_text(text)    # it does not fit the room it will have
        set_plain_tooltip(self.stop_label, text)

    def note(self) -> str:
        """The note's whole text ("" when none shows)."""
        return self.stop_label.full_text() if self.stop_label.isVisible() else ""

    def _on_no_hit(self, text: str):
        self.show_note(text)
        self._note_at = self.session.cursor

    def _on_carried(self, carry) -> None:
        text = carry.text()
        if text:
            self.show_note(text + " (Ctrl+B to review)")
            self._note_at = self.session.cursor

    def _on_frame(self, index: int):
        """A note is about where it was given: elsewhere it goes (a stop's reason, too)."""
        if self._note_at is not None and index != self._note_at:
            self._note_at = None
            self.show_note("")
        stop = self.session.stop
        if stop is not None and index != stop.index and self.note().startswith("■"):
            self.show_note("")

    # ---- docks ----------------------------------------------------------------------------

    def open_panel(self, dock) -> None:
        """Show the Training or Breakpoints panel (Training: from the loaded run)."""
        if dock is self.training_dock:
            self.show_training()
        else:
            self.show_breakpoints()

    def _raise(self, dock):
        if dock.isHidden():
            self._place(dock)
        dock.show()
        dock.raise_()

    def _place(self, dock) -> None:
        """Where a bottom panel opens. Beside the other one if that is open (tabified only
        once both are shown: a tab bar of hidden docks still takes room). Else under the
        pictures, a third of the window high, when the window is tall enough for that
        while every picture keeps its minimum height (plots.MIN_PLOT_HEIGHT …); in a
        shorter window (1366×768) it becomes a tab beside the heatmaps instead, so the
        pictures keep their room. A panel the user moved elsewhere stays where it is."""
        w = self.window
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        other = self.breakpoints_dock if dock is self.training_dock else self.training_dock
        if other.isVisible() and not other.isFloating():
            if dock not in w.tabifiedDockWidgets(other):
                w.tabifyDockWidget(other, dock)
            return
        if dock.isFloating() or w.dockWidgetArea(dock) != bottom:
            return
        dock.show()
        self._resize_bottom(dock, max(BOTTOM_MIN, w.height() // 3))
        heatmaps = w.view_docks["heatmaps"]
        if dock.height() < BOTTOM_MIN and heatmaps.isVisible() and not heatmaps.isFloating():
            w.tabifyDockWidget(heatmaps, dock)
        else:
            self._remember_share(dock)

    def _closed(self, dock) -> None:
        """A panel that was a tab beside the heatmaps closed: the heatmaps come to the
        front again (Qt would bring up whichever tab was next to it)."""
        heatmaps = self.window.view_docks["heatmaps"]
        if dock.isHidden() and dock in self.window.tabifiedDockWidgets(heatmaps):
            heatmaps.raise_()

    # The bottom panel keeps its share of the window's height when the window is resized
    # (Qt gave all new room to it and none to the pictures); dragging its edge sets it.

    def _bottom_panel(self):
        w = self.window
        for dock in (self.training_dock, self.breakpoints_dock):
            if dock.isVisible() and not dock.isFloating() \
                    and w.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea:
                return dock
        return None

    def _remember_share(self, dock) -> None:
        self._window_size = self.window.size()
        self._share = dock.height() / max(1, self.window.height())

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Resize and obj is self._bottom_panel() \
                and self.window.size() == self._window_size:
            self._remember_share(obj)                # the user dragged its edge
        return False

    def window_resized(self) -> None:
        """The main window's size changed: give the bottom panel its share again."""
        dock = self._bottom_panel()
        self._window_size = self.window.size()
        if dock is not None and self._share is not None:
            self._resize_bottom(dock, round(self._share * self.window.height()))
            self._window_size = self.window.size()

    def _resize_bottom(self, dock, height: int) -> None:
        """Make a bottom panel ``height`` high, or as high as the pictures' minimums allow.
        Qt's resizeDocks moves only part of the way each time: a few rounds converge."""
        w = self.window
        for _ in range(4):
            w.resizeDocks([dock], [height], Qt.Orientation.Vertical)
            w.layout().activate()                   # the heights the minimums allow, now
            if abs(dock.height() - height) <= 2:
                break

    def show_training(self):
        if self.training_dock.isHidden():
            self.training_panel.sync_from_session()
        self._raise(self.training_dock)

    def show_breakpoints(self):
        self._raise(self.breakpoints_dock)

    # ---- training -------------------------------------------------------------------------

    def toggle_training(self):
        if self.session.training_running:
            self.session.pause_training()
        else:
            self.show_training()
            self.training_panel.run()

    def reset_training(self):
        self.show_training()
        self.training_panel.reset()

    def next_iteration(self):
        if self.session.iteration is None:
            raise UserError("not training: start a run in the Training panel")
        keys = self.session.iterations()
        later = [k for k in keys if k > self.session.iteration]
        if later:
            self.session.seek_iteration(later[0])

    def prev_iteration(self):
        if self.session.iteration is None:
            raise UserError("not training: start a run in the Training panel")
        keys = self.session.iterations()
        earlier = [k for k in keys if k < self.session.iteration]
        if earlier:
            self.session.seek_iteration(earlier[-1])

    # ---- gradient check, wrong backward, comparison -------------------------------------------

    def gradient_check(self):
        from .gradcheck_dialog import GradCheckDialog

        if self.gradcheck_dialog is None:
            self.gradcheck_dialog = GradCheckDialog(self.session, self.window)
        self.gradcheck_dialog.show()
        self.gradcheck_dialog.raise_()
        self.gradcheck_dialog.start()
        return self.gradcheck_dialog

    def wrong_backward(self):
        """The standard cell with the seed's backward (the common mistake), as a run."""
        s = self.session
        if s.training is not None:
            self.training_panel.show_settings(s.training.settings.with_(
                variant="standard", backward="seed"))
            self.training_panel.reset()
            return
        base = s.config
        if base.task == "file":
            raise UserError("a run read from a file cannot be re-run; configure a task first")
        s.configure(base.with_(variant="standard", backward="seed"))

    def compare(self, preset: str | None = None):
        from .compare_view import CompareView

        if self.compare_view is None:
            self.compare_view = CompareView(self.session, self.window)
        if preset is not None:
            self.compare_view.choose(preset)
        self.compare_view.show()
        self.compare_view.raise_()
        return self.compare_view

    # ---- saved sessions -------------------------------------------------------------------------

    def view_state(self) -> dict:
        """What a saved session keeps of the window: the layout in ``model/layout.py``'s
        checked form (never Qt's state bytes) and the training dock's choices."""
        p = self.training_panel
        return {"layout": describe_layout(self.window),
                "loss_log_scale": p.log.isChecked(), "grad_diff": p.gradient.diff.isChecked(),
                "grad_array": p.gradient.grad_name.currentText()}

    def apply_view(self, view: dict) -> list[str]:
        """Apply a saved session's view: each entry checked, one that is not what was
        written is skipped with a one-line warning (the session itself is fine).
        Returns the warnings."""
        warnings = []

        def skip(key: str, why: str) -> None:
            warnings.append(one_line(f"the session's view {key!r} {why}; ignored"))

        if not isinstance(view, dict):
            view = {}
        if "layout" in view:
            try:
                apply_layout(self.window, view["layout"])
            except LayoutProblem as err:
                skip("layout", f"is not a window layout ({err})")
        p = self.training_panel
        for key, box in (("loss_log_scale", p.log), ("grad_diff", p.gradient.diff)):
            if key in view:
                if isinstance(view[key], bool):
                    box.setChecked(view[key])
                else:
                    skip(key, "is not true or false")
        if "grad_array" in view:
            name = view["grad_array"]
            if isinstance(name, str) and p.gradient.grad_name.findText(name) >= 0:
                p.gradient.grad_name.setCurrentText(name)
            else:
                skip("grad_array", "is not a gradient array")
        for text in warnings:
            log.warning("%s", text)
        if warnings:
            self.window.statusBar().showMessage(warnings[0], 8000)
        return warnings

    def save_session_to(self, path) -> bool:
        from ..model.saved_session import save_session

        try:
            save_session(path, self.session, self.view_state())
        except UserError as err:
            self.window.errors.report(err)
            return False
        return True

    def open_session_from(self, path) -> bool:
        """Open a saved session (or a training run file: ``open_run_from``); a bad file
        shows one line and keeps the current one. The passes it records again run with
        progress and Cancel (``progress.py``)."""
        from ..model.model_files import is_run_file
        from ..model.saved_session import load_session_job

        if is_run_file(path):
            return self.open_run_from(path)

        try:
            got = run_job(self.window, "Opening the session", load_session_job(path))
        except UserError as err:
            self.window.errors.report(err)
            return False
        if got is None:
            self.window.statusBar().showMessage("cancelled: nothing changed", 4000)
            return False
        loaded, view = got
        self.session.adopt(loaded)
        self.apply_view(view)
        return True

    def open_model(self) -> bool:
        """File ▸ Open Model… (``open_model_dialog.py``)."""
        from .open_model_dialog import open_model_in

        return open_model_in(self.window)

    def open_run_from(self, path) -> bool:
        """A training run file, trained again with progress and Cancel."""
        from .open_model_dialog import open_run_in

        return open_run_in(self.window, path)

    def save_session(self):
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session",
                                              self.window.last_dir(), SESSION_FILTER)
        if path:
            self.save_session_to(path if path.endswith(".npz") else path + ".npz")

    def open_session(self):
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session",
                                              self.window.last_dir(), SESSION_FILTER)
        if path:
            self.open_session_from(path)

    def copy_state(self) -> str:
        from ..model.session_text import state_text

        text = state_text(self.session)
        QGuiApplication.clipboard().setText(text)
        self.window.statusBar().showMessage(one_line("copied: " + text), 4000)
        return text

    def open_text(self, text: str) -> bool:
        """Open a session text; a training run's is trained again up to its iteration,
        with progress and Cancel (``progress.py``)."""
        from ..model.session_text import session_from_text_job

        try:
            loaded = run_job(self.window, "Opening the session text",
                             session_from_text_job(text))
        except UserError as err:
            self.window.errors.report(err)
            return False
        if loaded is None:
            self.window.statusBar().showMessage("cancelled: nothing changed", 4000)
            return False
        self.session.adopt(loaded)
        if loaded.training is not None:
            self.training_panel.show_settings(loaded.training.settings)
        return True

    def paste_state(self):
        current = QGuiApplication.clipboard().text().strip()
        text, ok = ask_text(self.window, "Open session from text", "Session text (lstm-viz:1 …):",
                            text=current if current.startswith("lstm-viz:") else "")
        if ok and text.strip():
            self.open_text(text)
