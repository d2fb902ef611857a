"""Issue 14, class 1: text from a file, the settings, an error or the user is shown as
plain text everywhere: labels, message boxes, tool tips, menus, the status bar, titles.

Markup is fed in through every path that carries outside text into the window (a file's
name, a trace's ``meta``, a saved session's ``problem``, an error, the crash log's folder,
the recent files of the settings), with every dock and dialog open; then every widget of
every window is walked. A label must be plain text (Qt would otherwise guess rich text
and, for ``<img src="/dev/zero">``, read that device until memory runs out), and every
text holding the marker must show the markup itself. The marker's image points at a file
that is not there, so a failure is a failed assertion, not a hang.
"""

import re

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QTextDocument
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMenu, QMessageBox, QWidget
from session_files import rewrite_meta

from lstm_engine.io import save_trace
from lstm_viz.model import crashlog
from lstm_viz.model.saved_session import save_session
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings
from lstm_viz.widgets.main_window import MainWindow

MARK = '<b>bold<i>x&amp;<img src="missing-lstm-viz.png">[*]'   # no "/": a file name too
WORD = "bold"


def rendered(text: str, fmt=Qt.TextFormat.AutoText) -> str:
    """What Qt draws for ``text`` in a widget of format ``fmt``."""
    rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText
                                             and GuiQt.mightBeRichText(text))
    if not rich:
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def shown_menu_text(text: str) -> str:
    """A menu entry as drawn: "&&" is "&", "&x" underlines x."""
    return re.sub(r"&(.)", r"\1", text)


def shown_title(text: str) -> str:
    """A window title as drawn: "[*][*]" is "[*]", a lone "[*]" the (hidden) modified mark."""
    return text.replace("[*][*]", "\0").replace("[*]", "").replace("\0", "[*]")


def walk(problems: list, seen: list):  # noqa: C901, PLR0912 - one branch per kind of widget whose text is read
    """Check every widget and action of every top-level window (see the docstring)."""
    for top in QApplication.topLevelWidgets():
        for w in [top, *top.findChildren(QWidget)]:
            # pyqtgraph's context menus hold labels of their own ("Opacity", "Link Axis:"):
            # the library's fixed words, never outside text.
            if isinstance(w, QLabel) and not isinstance(top, QMenu):
                if w.textFormat() != Qt.TextFormat.PlainText and w.text():
                    problems.append(f"label {w.objectName()!r} {w.text()[:60]!r} "
                                    f"of {type(top).__name__} is not plain text")
                if WORD in w.text():
                    seen.append("label")
                    if MARK not in rendered(w.text(), w.textFormat()):
                        problems.append(f"label shows {rendered(w.text(), w.textFormat())!r}")
            if WORD in w.toolTip():
                seen.append("tooltip")
                if MARK not in rendered(w.toolTip()):
                    problems.append(f"tool tip shows {rendered(w.toolTip())!r}")
            if w.isWindow() and WORD in w.windowTitle():
                seen.append("title")
                if MARK not in shown_title(w.windowTitle()):
                    problems.append(f"title shows {shown_title(w.windowTitle())!r}")
        for a in top.findChildren(QAction):
            if WORD in a.text():
                seen.append("menu")
                if MARK not in shown_menu_text(a.text()):
                    problems.append(f"menu entry shows {shown_menu_text(a.text())!r}")
            if WORD in a.toolTip() and MARK not in rendered(a.toolTip()):
                problems.append(f"action tool tip shows {rendered(a.toolTip())!r}")


def test_markup_from_files_errors_and_settings_is_shown_as_text(qtbot, qapp, tmp_path,
                                                                monkeypatch):
    folder = tmp_path / MARK
    folder.mkdir()
    crashlog.setup(folder)                                 # the dialog names the log's path
    try:
        _walk_the_window(qtbot, qapp, folder, monkeypatch)
    finally:
        crashlog.shutdown()


def _walk_the_window(qtbot, qapp, folder, monkeypatch):  # noqa: PLR0915 - one scripted tour of every dock and dialog
    trace_file = folder / f"{MARK}.npz"
    save_trace(trace_file, Session().trace)
    bad_variant = folder / "variant.npz"
    save_trace(bad_variant, Session().trace)
    rewrite_meta(bad_variant, lambda m: m.update(variant=MARK))
    run = Session()
    run.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=2))
    run.train(2, stop_at_breakpoints=False)
    stopped = folder / "stopped.npz"
    save_session(stopped, run)
    rewrite_meta(stopped, lambda m: m["training"].update(problem=MARK))

    settings = QSettings(str(folder.parent / "plain.ini"), QSettings.Format.IniFormat)
    settings.setValue("recent_files", [str(folder / f"recent {MARK}.npz")])
    w = MainWindow(Session(), settings=settings)
    qtbot.addWidget(w)
    w.show()
    for dock in w.view_docks.values():
        dock.show()
    w.workbench.show_training()
    w.workbench.show_breakpoints()

    problems, seen = [], []
    assert w.workbench.open_session_from(stopped)               # training status: problem
    assert MARK in w.workbench.training_panel.status.text()
    assert w.workbench.training_panel.status.textFormat() == Qt.TextFormat.PlainText
    qapp.processEvents()
    walk(problems, seen)
    assert w.open_path(trace_file)                              # the title names it
    assert not w.open_path(bad_variant)                         # the error names it
    assert MARK in w.errors.messages[-1]
    w.errors.report(RuntimeError(f"a bug with {MARK} in its message"))  # + the log's path
    box = w.errors.box
    assert box.textFormat() == Qt.TextFormat.PlainText and MARK in box.text()
    assert MARK in box.informativeText()
    w.workbench.gradient_check()
    w.workbench.compare()
    w.show_shortcuts()
    w.show_about()
    qapp.processEvents()
    walk(problems, seen)

    def in_the_modal():                                 # walked while it is open
        walk(problems, seen)
        modal = QApplication.activeModalWidget()
        if isinstance(modal, QDialog):
            modal.reject()
    for command in (w.configure_run, w.goto_frame_dialog, w.workbench.paste_state):
        QTimer.singleShot(50, in_the_modal)
        command()

    assert not problems, problems[:5]
    assert {"label", "title", "menu"} <= set(seen), seen       # the marker got through
    for b in w.findChildren(QMessageBox):
        b.close()
    gc = w.workbench.gradcheck_dialog
    if gc is not None:
        gc.close()


def test_every_tooltip_with_outside_text_is_escaped(make_window, qapp):
    """The tool tips that carry outside text: the elided status fields, the breakpoint
    stop note, the heatmap caption; set from a text with markup, each shows the markup."""
    w = make_window()
    w.status_line.frame.setFixedWidth(40)
    w.status_line.frame.set_full_text(MARK * 3)
    w.workbench.show_note(MARK)
    qapp.processEvents()
    for widget in (w.status_line.frame, w.workbench.stop_label):
        assert MARK in rendered(widget.toolTip()), widget.toolTip()
        assert widget.textFormat() == Qt.TextFormat.PlainText


CONTROL = "a\nb\rc\x1b[31md\u202ee\x85f"


def test_control_characters_in_paths_and_texts_stay_one_line(make_window, tmp_path, qapp):
    """Issue 14, class 20: a newline, an escape sequence or a bidi override in a file name
    or a file's text is escaped in every message, title, menu entry and status text."""
    w = make_window()
    missing = tmp_path / f"missing {CONTROL}.npz"
    assert not w.open_path(missing)
    named = tmp_path / f"saved {CONTROL}.npz"
    assert w.save_path(named)
    assert "\n" not in w.windowTitle() and "\\x1b" in w.windowTitle()
    run = Session()
    run.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=2))
    run.train(1, stop_at_breakpoints=False)
    stopped = tmp_path / "stopped.npz"
    save_session(stopped, run)
    rewrite_meta(stopped, lambda m: m["training"].update(problem=f"NaN in ds {CONTROL}"))
    w.workbench.show_training()
    assert w.workbench.open_session_from(stopped)
    w.workbench.show_note(f"stopped {CONTROL}")
    qapp.processEvents()
    texts = [*w.errors.messages, w.windowTitle(), w.workbench.training_panel.status.text(),
             w.workbench.stop_label.text(), *(a.text() for a in w.recent_menu.actions())]
    for text in texts:
        assert not any(c in text for c in "\n\r\x1b\u202e\x85"), repr(text)
    assert any("\\n" in t for t in w.errors.messages)             # escaped, not dropped
    assert "\\x1b" in w.workbench.training_panel.status.text()
    w.errors.box.close()
