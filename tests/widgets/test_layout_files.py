"""Issue 14, class 2: window layouts read from files. Qt's restoreState/restoreGeometry
are never given bytes from the settings file or a saved session (one damaged byte can
crash them); a damaged or wrongly typed settings value costs one warning line and a
reset of that key, a damaged layout in a saved session one warning, and the app starts
and keeps working either way."""

import json
import logging
import math

import pytest
from PySide6.QtCore import QByteArray, QPoint, QSettings, QSize
from PySide6.QtWidgets import QMainWindow
from session_files import meta_of, rewrite_meta

from lstm_viz.model.saved_session import save_session
from lstm_viz.model.session import Session
from lstm_viz.widgets.main_window import MainWindow


@pytest.fixture(autouse=True)
def no_binary_restore(monkeypatch):
    """restoreState/restoreGeometry raise if anything calls them."""
    def refuse(self, *args):
        raise AssertionError("Qt's binary restore was called")
    monkeypatch.setattr(QMainWindow, "restoreState", refuse)
    monkeypatch.setattr(QMainWindow, "restoreGeometry", refuse)


def _warnings(caplog, word):
    return [r for r in caplog.records if r.levelno == logging.WARNING and word in r.getMessage()]




BAD_VALUES = {
    "layout": [
        "", "{", "[]", "NaN", '{"version": 1, "docks": {"source": {"visible": "yes"}}}',
        '{"version": 1, "window": {"x": NaN, "y": 0, "width": 800, "height": 600, '
        '"maximized": false}}',
        '{"version": 1, "window": {"x": 0, "y": 0, "width": 1e999, "height": 600, '
        '"maximized": false}}',
        '{"version": 1, "window": {"x": 0, "y": 0, "width": 99999999999, "height": 600, '
        '"maximized": false}}',
        '{"version": 1, "docks": {"source": {"visible": true, "floating": false, '
        '"area": "middle"}}}',
        '{"version": 1, "docks": {"x": {"visible": true, "floating": false, "area": "left", '
        '"tab": "nowhere"}}}',
        '{"version": true}', "[" * 10_000, "x" * 100_000,
        QPoint(1, 2), QSize(3, 4), QByteArray(b"\x00\xff\xfe"), float("nan"), 12, [1, 2],
        True,
    ],
    "recent_files": [
        QPoint(1, 2), [QPoint(1, 2)], QByteArray(b"\x00\xff"), float("nan"), 7,
        [1.5, "a.npz"], ["ok.npz", ""], ["x" * 5000], [{"a": 1}], True,
    ],
}


def _settings_with(path, key, value, old_binary=True):
    s = QSettings(str(path), QSettings.Format.IniFormat)
    s.clear()
    s.setValue(key, value)
    if old_binary:                           # what earlier versions wrote: removed unread
        s.setValue("geometry", QByteArray(b"\x01\xd9\xd0\xcb garbage"))
        s.setValue("window_state", QByteArray(b"\x00\x00\x00\xff\x00 damaged"))
    s.sync()
    return QSettings(str(path), QSettings.Format.IniFormat)


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in BAD_VALUES.items() for v in vs],
                         ids=lambda v: type(v).__name__)
def test_a_damaged_settings_value_is_reset_with_one_warning(qapp, tmp_path, caplog, key,
                                                          value):
    from lstm_viz.widgets.app_settings import AppSettings

    q = _settings_with(tmp_path / "s.ini", key, value)
    with caplog.at_level(logging.WARNING):
        settings = AppSettings(q)
        for _ in range(2):
            assert settings.recent_files() == [] and settings.layout() is None
    said = _warnings(caplog, repr(key))
    assert len(said) == 1, [r.getMessage() for r in caplog.records]
    assert "\n" not in said[0].getMessage() and "s.ini" in said[0].getMessage()
    assert not q.contains(key)                              # reset: the default from now on
    assert not q.contains("geometry") and not q.contains("window_state")


@pytest.mark.parametrize("key,value", [("layout", float("nan")), ("layout", "{"),
                                       ("recent_files", QPoint(1, 2))])
def test_the_window_starts_on_a_damaged_value_and_keeps_working(qtbot, tmp_path, caplog,
                                                               key, value):
    settings = _settings_with(tmp_path / "s.ini", key, value)
    with caplog.at_level(logging.WARNING):
        w = MainWindow(Session(), settings=settings)
        qtbot.addWidget(w)
        w.show()
    assert len(_warnings(caplog, repr(key))) == 1
    assert w.recent_files() == []
    assert w.session.step_over()
    w.save_settings()                                        # and writes a valid layout
    from lstm_viz.model.layout import layout_from_text
    layout_from_text(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
                     .value("layout"))
    w.close()


def test_every_key_damaged_at_once_warns_once_per_key(qtbot, tmp_path, caplog):
    s = QSettings(str(tmp_path / "all.ini"), QSettings.Format.IniFormat)
    s.setValue("layout", float("nan"))
    s.setValue("recent_files", QPoint(1, 2))
    s.setValue("geometry", "")
    s.setValue("window_state", QByteArray(b"\xff" * 7))
    s.sync()
    with caplog.at_level(logging.WARNING):
        w = MainWindow(Session(), settings=QSettings(str(tmp_path / "all.ini"),
                                                     QSettings.Format.IniFormat))
        qtbot.addWidget(w)
        for _ in range(3):
            w.recent_files()
            w._rebuild_recent()
    assert len(_warnings(caplog, "'layout'")) == 1
    assert len(_warnings(caplog, "'recent_files'")) == 1
    assert w.app_settings.warned == ["recent_files", "layout"] or \
        sorted(w.app_settings.warned) == ["layout", "recent_files"]


def test_the_layout_round_trips_through_the_settings(qtbot, qapp, tmp_path):
    path = tmp_path / "round.ini"
    w = MainWindow(Session(), settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.view_docks["flow"].close()
    w.workbench.show_breakpoints()
    w.view_docks["carousel"].setFloating(True)
    qapp.processEvents()
    w.close()
    text = QSettings(str(path), QSettings.Format.IniFormat).value("layout")
    layout = json.loads(text)
    assert layout["docks"]["carousel"]["floating"] is True
    w2 = MainWindow(Session(), settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(w2)
    w2.show()
    qapp.processEvents()
    assert not w2.view_docks["flow"].isVisible()
    assert w2.workbench.breakpoints_dock.isVisible()
    # a floated panel comes back docked at the next start (issue 15): the description
    # keeps where it floated, the window puts it back into its area
    assert not w2.view_docks["carousel"].isFloating() and w2.view_docks["carousel"].isVisible()
    w2.close()


# ---- a saved session's layout ------------------------------------------------------------

@pytest.mark.parametrize("view", [
    {"window_state": "AAAA/wAAAAH9AAAAAwAAAAAAAAEX" + "A" * 40, "state_version": 1},
    {"layout": {"version": 1, "docks": {"source": {"visible": 1, "floating": False,
                                                   "area": "left"}}}},
    {"layout": {"version": 1, "window": {"x": 0, "y": 0, "width": -5, "height": 10,
                                         "maximized": False}}},
    {"layout": "not a layout", "loss_log_scale": "yes", "grad_diff": 3,
     "grad_array": "<b>x</b>"},
    {"layout": {"version": 1, "docks": {"a" * 300: {}}}},
])
def test_a_session_with_a_damaged_layout_opens_with_a_warning(make_window, tmp_path, caplog,
                                                             view):
    s = Session()
    s.goto("bwd:2:ds")
    path = tmp_path / "session.npz"
    save_session(path, s, {})
    rewrite_meta(path, lambda m: m.update(view=view))
    w = make_window()
    with caplog.at_level(logging.WARNING):
        assert w.workbench.open_session_from(path)
    assert w.session.frame_text == "bwd:2:ds"
    bad = [k for k in view if k not in ("window_state", "state_version")]
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == len(bad), said
    assert all("\n" not in m for m in said)
    if bad:
        assert "ignored" in w.statusBar().currentMessage()
    assert w.session.step_over()
    assert w.workbench.save_session_to(tmp_path / "again.npz")


def test_a_saved_session_keeps_its_layout_in_the_checked_form(make_window, tmp_path, qapp):
    w = make_window()
    w.view_docks["flow"].close()
    w.workbench.show_training()
    qapp.processEvents()
    path = tmp_path / "with-layout.npz"
    assert w.workbench.save_session_to(path)
    view = meta_of(path)["view"]
    assert "window_state" not in view and view["layout"]["docks"]["flow"]["visible"] is False
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in view.values())
    w2 = make_window()
    assert w2.workbench.open_session_from(path)
    qapp.processEvents()
    assert not w2.view_docks["flow"].isVisible()
    assert w2.workbench.training_dock.isVisible()
