"""Files in the window: open/save, a bad file, recent files, PNG export, settings."""

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from lstm_viz.config import default_config
from lstm_viz.main_window import MainWindow
from lstm_viz.session import Session


def test_save_then_open_round_trip(make_window, tmp_path):
    w = make_window()
    w.session.train_step()
    path = tmp_path / "trained.npz"
    assert w.save_path(path)
    saved = w.session.trace
    w.session.configure(default_config("random", steps=5, inputs=2, hidden=3))
    assert w.open_path(path)
    assert w.session.path == str(path)
    for name in ("h", "ds", "dxc", "wi_diff", "loss"):
        np.testing.assert_array_equal(w.session.trace[name], saved[name])
    assert "trained.npz" in w.windowTitle()
    assert w.timeline.bar.maximum() == len(w.session.frames) - 1


def test_a_bad_file_shows_the_error_and_keeps_the_session(make_window, tmp_path):
    w = make_window()
    w.session.goto("bwd:1:dg")
    before = w.session.trace
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert w.open_path(bad) is False
    assert "broken.npz" in w.errors.messages[-1] and "\n" not in w.errors.messages[-1]
    assert w.errors.box.isVisible()
    assert w.session.trace is before and w.session.frame_text == "bwd:1:dg"
    assert w.timeline.bar.value() == w.session.cursor
    assert w.open_path(tmp_path / "missing.npz") is False
    assert "no such file" in w.errors.messages[-1]
    w.errors.box.close()


def test_recent_files_and_layout_persist_between_windows(make_window, qtbot, tmp_path):
    w = make_window()
    path = tmp_path / "a.npz"
    w.save_path(path)
    w.resize(700, 500)                     # the offscreen screen is 800x600
    w.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = MainWindow(Session(), settings=settings)
    qtbot.addWidget(again)
    assert again.recent_files()[0].endswith("a.npz")
    assert [a.text() for a in again.recent_menu.actions()][0].endswith("a.npz")
    assert (again.size().width(), again.size().height()) == (700, 500)


def test_export_png(make_window, tmp_path):
    w = make_window()
    out = tmp_path / "view.png"
    assert w.export_png(out)
    image = QImage(str(out))
    assert not image.isNull() and image.width() == w.width() and image.height() == w.height()
