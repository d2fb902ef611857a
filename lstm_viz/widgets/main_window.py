"""The main window: toolbar, timeline, dock panels, menus, status bar. It composes the
panels and forwards intent to the session; it owns no state of the run."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QStyle,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line

from ..model.session import SPEEDS, Session
from ..model.shortcuts import BINDINGS, BY_ID, MENUS, Command, help_html, plain
from .app_settings import AppSettings
from .busy import busy
from .errors import ErrorReporter
from .export import write_png
from .lazy_dock import LazyDock, LazyViews
from .plain import (
    PlainLabel,
    ask_text,
    menu_text,
    plain_message_box,
    set_plain_tooltip,
    title_text,
)
from .source_panel import SourcePanel
from .status_line import StatusLine
from .timeline import Timeline
from .variables_panel import VariablesPanel
from .view_docks import add_panel_keys, add_view_docks, settle_docks
from .window_layout import apply as apply_layout
from .window_layout import describe as describe_layout
from .workbench import Workbench

DEFAULT_SIZE = (1366, 768)
TRACE_FILTER = "lstm-viz traces (*.npz);;All files (*)"
ICONS = {
    "first": QStyle.StandardPixmap.SP_MediaSkipBackward,
    "prev_frame": QStyle.StandardPixmap.SP_MediaSeekBackward,
    "play": QStyle.StandardPixmap.SP_MediaPlay,
    "next_frame": QStyle.StandardPixmap.SP_MediaSeekForward,
    "last": QStyle.StandardPixmap.SP_MediaSkipForward,
}
TOOLBAR_TEXT = {
    "step_back_over": "◀ Over", "step_over": "Over ▶",
    "step_back_into": "◀ Into", "step_into": "Into ▶",
    "step_back_out": "◀ Out", "step_out": "Out ▶",
    "reverse_continue": "◀◀ Cont", "continue": "Cont ▶▶",
    "toggle_breakpoint": "● Break", "train": "Train step", "configure": "Configure…",
}


class MainWindow(QMainWindow):
    """The window's parts are built in ``__init__`` (or by the ``_make_*`` builders it
    calls, which set the parts declared here): the actions, the menus, the toolbars, the
    source and variables docks, the picture views (``view_docks.py``), the status bar and
    the workbench (``workbench.py``)."""

    menus: dict[str, QMenu]
    recent_menu: QMenu
    transport: QToolBar
    speed: QComboBox
    timeline_bar: QToolBar
    timeline: Timeline
    view_docks: dict[str, QDockWidget]
    views: LazyViews
    workbench: Workbench

    def __init__(self, session: Session, settings: QSettings | None = None):
        super().__init__()
        self.session = session
        self.settings = settings
        self.app_settings = None if settings is None else AppSettings(settings)
        self.errors = ErrorReporter(self)
        self.errors.on_close = self.focus_home            # a message read: keys step again
        session.events.on_error = self._subscriber_failed
        self.first_paint_callback = None
        self.setWindowTitle("lstm-viz")
        self.resize(*DEFAULT_SIZE)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        # Panels are docks; the central area is empty and zero wide, but present: with no
        # central widget Qt gave every pixel a growing window gained to a panel docked
        # under the pictures.
        placeholder = QWidget(self)
        placeholder.setMaximumWidth(0)
        placeholder.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setCentralWidget(placeholder)

        self.shortcuts_dialog: QDialog | None = None
        self.actions_by_id: dict[str, QAction] = self._make_actions()
        self._make_toolbars()
        self.source_panel = SourcePanel(session)
        self.variables_panel = VariablesPanel(session)
        self.source_dock = self.add_dock("Source", "source", self.source_panel,
                                         Qt.DockWidgetArea.LeftDockWidgetArea)
        self.variables_dock = self.add_dock("Variables", "variables", self.variables_panel,
                                            Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.source_dock, self.variables_dock], [700, 640],
                         Qt.Orientation.Horizontal)
        self._make_menus()
        self.view_docks, self.views = add_view_docks(self)
        self.status_line = StatusLine(self, session)      # the frame, loss, norms, iteration
        # Live training, the breakpoints panel, gradient check, comparison, saved sessions.
        self.workbench = Workbench(self)
        add_panel_keys(self)                              # View ▸ each panel on Alt+1 … 9

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        ev = session.events
        ev.trace_changed.connect(self._update_title)
        ev.playing_changed.connect(self._on_playing)
        ev.speed_changed.connect(self._on_speed)
        ev.path_changed.connect(self._update_title)
        self._update_title()
        self._on_speed(session.speed)
        self._restore()

    # ---- construction ---------------------------------------------------------------------

    def _make_actions(self) -> dict[str, QAction]:
        """One QAction per binding (``model/shortcuts.py``), running its command."""
        actions = {}
        for b in BINDINGS:
            a = QAction(b.text, self)
            if b.keys:
                a.setShortcut(QKeySequence(b.keys))
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip = plain(b.text) + (f" ({b.keys})" if b.keys else "")
            tip += f": {b.tip}" if b.tip else ""
            set_plain_tooltip(a, tip)
            a.setStatusTip(tip)
            if b.id in ICONS:
                a.setIcon(self.style().standardIcon(ICONS[b.id]))
            a.triggered.connect(lambda _=False, command=b.command: self.run_command(command))
            self.addAction(a)                  # shortcuts work even with the menu bar hidden
            actions[b.id] = a
        return actions

    def run_command(self, command: Command) -> None:
        """Run a binding's command on this window; an error is shown, not raised."""
        self.errors.guard(command, self)

    def _make_toolbars(self):
        tb = QToolBar("Transport", self)
        tb.setObjectName("transport")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for key in ("first", "prev_frame", "play", "next_frame", "last"):
            tb.addAction(self.actions_by_id[key])
        tb.addSeparator()
        for key in ("step_back_over", "step_over", "step_back_into", "step_into",
                    "step_back_out", "step_out", "reverse_continue", "continue"):
            tb.addAction(self.actions_by_id[key])
        tb.addSeparator()
        tb.addWidget(PlainLabel(" Speed "))
        self.speed = QComboBox(self)
        for v in SPEEDS:
            self.speed.addItem(f"{v} frames/s", v)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.currentIndexChanged.connect(
            lambda i: self.errors.guard(self.session.set_speed, self.speed.itemData(i)))
        tb.addWidget(self.speed)
        self._make_layer_selector(tb)
        tb.addSeparator()
        for key in ("toggle_breakpoint", "train", "configure"):
            tb.addAction(self.actions_by_id[key])
        for key in ("first", "prev_frame", "play", "next_frame", "last"):
            tb.widgetForAction(self.actions_by_id[key]).setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonIconOnly)
        for key, text in TOOLBAR_TEXT.items():
            button = tb.widgetForAction(self.actions_by_id[key])
            if button is not None:
                button.setText(text)
        for child in tb.findChildren(QWidget):
            child.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.transport = tb
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        line = QToolBar("Timeline", self)
        line.setObjectName("timeline")
        line.setMovable(False)
        self.timeline = Timeline(self.session, line)
        line.addWidget(self.timeline)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, line)
        self.timeline_bar = line

    def _make_layer_selector(self, tb: QToolBar) -> None:
        """Layer: follows cursor / 0 / 1 …, the layer the per-step views show (stacked
        models only: hidden with one layer)."""
        label = PlainLabel(" Layer ")
        self.layer_combo = QComboBox(self)
        self.layer_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        keys = BY_ID["cycle_view_layer"].keys
        tip = ("The layer the per-step views show: the cursor's layer, or pinned to one "
               f"({keys} picks the next)")
        for widget in (label, self.layer_combo):
            set_plain_tooltip(widget, tip)
        self._layer_actions = (tb.addWidget(label), tb.addWidget(self.layer_combo))
        self.layer_combo.activated.connect(lambda i: self.errors.guard(
            self.session.set_view_layer, self.layer_combo.itemData(i)))
        ev = self.session.events
        ev.trace_changed.connect(self._update_layer_selector)
        ev.view_layer_changed.connect(self._update_layer_selector)
        self._update_layer_selector()

    def cycle_view_layer(self) -> bool:
        return self.session.layers.cycle()          # the selector follows (its event)

    def _update_layer_selector(self, *_) -> None:
        s, combo = self.session, self.layer_combo
        for action in self._layer_actions:
            action.setVisible(s.num_layers > 1)
        if combo.count() != s.num_layers + 1:
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("follows cursor", None)
            for layer in range(s.num_layers):
                combo.addItem(str(layer), layer)
            combo.blockSignals(False)
        pinned = s.layers.pinned
        combo.setCurrentIndex(0 if pinned is None else pinned + 1)

    def add_dock(self, title: str, name: str, widget: QWidget | None, area: Qt.DockWidgetArea,
                 build=None, place=None, waiting=False) -> QDockWidget:
        """A movable, floatable, closable dock (``name``: its key in the saved layout) around
        ``widget``, or with ``build`` a ``LazyDock`` that builds what it holds."""
        dock = LazyDock(title, self, build, place, waiting) if build else QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)                           # None: the LazyDock's, built later
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _make_menus(self):
        menus = {name: self.menuBar().addMenu(f"&{name}") for name in MENUS}
        for b in BINDINGS:
            if b.id == "about":
                continue
            menus[b.menu].addAction(self.actions_by_id[b.id])
            if b.id == "save_as":
                self.recent_menu = menus["File"].addMenu("Open &Recent")
            if b.id in ("export", "train", "clear_breakpoints", "play", "prev_frame"):
                menus[b.menu].addSeparator()
        if "Debug" in menus and self.actions_by_id["play"] not in menus["Debug"].actions():
            menus["Debug"].addSeparator()                  # Play/Pause is debugging too
            menus["Debug"].addAction(self.actions_by_id["play"])
        menus["Help"].addAction(self.actions_by_id["about"])
        menus["View"].addAction(self.source_dock.toggleViewAction())
        menus["View"].addAction(self.variables_dock.toggleViewAction())
        menus["View"].addAction(self.transport.toggleViewAction())
        menus["View"].addAction(self.timeline_bar.toggleViewAction())
        self.menus = menus
        self._rebuild_recent()

    # ---- reacting to the session ----------------------------------------------------------

    def _update_title(self, *_):
        s = self.session
        c = s.config
        name = Path(s.path).name if s.path else f"{c.task} example"
        cell = (s.trace.variant if not c.backward
                else f"{c.variant} forward, {c.backward} backward")
        sizes = f"X={s.trace.inputs}, H={s.trace.hidden}"
        if s.num_layers > 1:
            m = s.model_trace
            assert m is not None                   # layers come from a ModelTrace
            sizes = f"{s.num_layers} layers, X={m.model.inputs}, " + \
                "H=" + "/".join(str(h) for h in m.model.hiddens)
        self.setWindowTitle(title_text(f"lstm-viz — {name} ({cell}, T={s.trace.steps}, "
                                       f"{sizes}, {s.trace.dtype.name})"))

    def _on_playing(self, playing: bool):
        a = self.actions_by_id["play"]
        pixmap = QStyle.StandardPixmap
        icon = pixmap.SP_MediaPause if playing else pixmap.SP_MediaPlay
        a.setIcon(self.style().standardIcon(icon))
        if playing:
            self.timer.start(max(1, round(1000 / self.session.speed)))
        else:
            self.timer.stop()

    def _on_speed(self, speed: float):
        with QSignalBlocker(self.speed):
            i = self.speed.findData(int(speed)) if float(speed).is_integer() else -1
            if i < 0:
                self.speed.addItem(f"{speed:g} frames/s", speed)
                i = self.speed.count() - 1
            self.speed.setCurrentIndex(i)
        self.timer.setInterval(max(1, round(1000 / speed)))

    def _tick(self):
        try:
            self.session.tick()
        except Exception as err:                          # noqa: BLE001 - shown to the user
            self.session.pause()                          # not once per frame
            self.errors.report(err)

    @staticmethod
    def _subscriber_failed(err: Exception) -> None:
        """A view's reaction to a session event raised: like a failing Qt slot, it goes to
        the excepthook (the app's: a dialog and the log) and the session goes on."""
        sys.excepthook(type(err), err, err.__traceback__)

    # ---- commands (the window's own; the session's are bound directly) --------------------

    def focus_home(self) -> None:
        """Give the keyboard back to the window (from a line edit in a dock), so Home, End,
        F5 and the other stepping keys step instead of editing text."""
        focused = self.focusWidget()
        if focused is not None and focused is not self:
            focused.clearFocus()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def open_file(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open trace", self.last_dir(), TRACE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path) -> bool:
        """Open a trace (or a saved session or training run, as ``lstm-viz FILE`` does); a
        bad file shows its error and keeps the current session."""
        from ..model.model_files import is_run_file
        from ..model.saved_session import is_saved_session

        if is_saved_session(path) or is_run_file(path):
            if not self.workbench.open_session_from(path):
                return False
            self._add_recent(str(path))
            return True
        try:
            with busy():
                self.session.open(path)
        except Exception as err:                          # noqa: BLE001 - shown to the user
            self.errors.report(err)
            return False
        self._add_recent(str(path))
        return True

    def save_file(self):
        if self.session.path and self.session.config.task == "file":
            self.save_path(self.session.path)
        else:
            self.save_file_as()

    def save_file_as(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save trace", self.last_dir(), TRACE_FILTER)
        if path:
            if not path.endswith(".npz"):
                path += ".npz"
            self.save_path(path)

    def save_path(self, path) -> bool:
        try:
            self.session.save(path)
        except Exception as err:                          # noqa: BLE001
            self.errors.report(err)
            return False
        self._add_recent(str(path))
        return True

    def export_png_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export view", self.last_dir(),
                                              "PNG images (*.png)")
        if path:
            self.export_png(path if path.lower().endswith(".png") else path + ".png")

    def export_png(self, path) -> bool:
        try:
            write_png(self, path)
        except UserError as err:
            self.errors.report(err)
            return False
        return True

    def goto_frame_dialog(self):
        s = self.session
        forms = ("fwd:3, fwd:3:s, loss, bwd:2, bwd:2:ds" if s.num_layers == 1 else
                 f"fwd:3:L1:s, fwd:3:L1, loss, bwd:2:L0:ds, bwd:2; layers 0 … {s.num_layers - 1}")
        text, ok = ask_text(
            self, "Go to frame", f"Frame ({forms}), steps 0 … {s.trace.steps - 1}:",
            text=s.frame_text)
        if ok:
            self.goto_text(text)

    def goto_text(self, text: str) -> bool:
        """Move to the frame ``text`` names; a bad one is reported in one line."""
        try:
            self.session.goto(text.strip())
        except UserError as err:
            self.errors.report(err)
            return False
        return True

    def configure_run(self):
        from .config_dialog import ConfigDialog

        dialog = ConfigDialog(self.session.config, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            with busy():                                  # records the new pass
                self.errors.guard(self.session.configure, dialog.config())

    def show_shortcuts(self):
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        text = QTextBrowser(dialog)
        text.setHtml(help_html())
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        dialog.resize(760, 560)
        dialog.open()
        self.shortcuts_dialog = dialog

    def show_about(self):
        box = plain_message_box(QMessageBox.Icon.Information, "About lstm-viz",
                                "lstm-viz: step through an LSTM's forward pass and "
                                "backpropagation through time, statement by statement, "
                                "forwards and backwards.", self)
        box.open()
        self.about_box = box

    # ---- settings -------------------------------------------------------------------------

    def last_dir(self) -> str:
        """Where the file dialogs start: the folder of the last file opened or saved."""
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else ""

    def recent_files(self) -> list[str]:
        return [] if self.app_settings is None else self.app_settings.recent_files()

    def _add_recent(self, path: str):
        if self.app_settings is None:
            return
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.app_settings.set_recent_files(files)
        self._rebuild_recent()

    def _rebuild_recent(self):
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            a = self.recent_menu.addAction(menu_text(f))
            set_plain_tooltip(a, one_line(f))
            a.triggered.connect(lambda checked=False, f=f: self.open_path(f))
        self.recent_menu.setEnabled(bool(files))

    def _restore(self):
        """The last session's layout (with settings), from their checked description (a
        damaged one was reset with a warning: the default stays); the lazy panels fitted."""
        if self.app_settings is not None and (layout := self.app_settings.layout()) is not None:
            apply_layout(self, layout)
        settle_docks(self, restored=self.app_settings is not None)

    def save_settings(self):
        if self.app_settings is not None:
            self.app_settings.set_layout(describe_layout(self))
            self.app_settings.sync()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        workbench = getattr(self, "workbench", None)
        if workbench is not None:              # once Qt has laid the docks out at this size
            QTimer.singleShot(0, workbench.window_resized)

    def closeEvent(self, event):
        self.session.pause()
        self.save_settings()
        super().closeEvent(event)

    def paintEvent(self, event):
        super().paintEvent(event)
        if self.first_paint_callback is not None:
            callback, self.first_paint_callback = self.first_paint_callback, None
            QTimer.singleShot(0, callback)
