"""Files in the window: open/save, a bad file, recent files, PNG export, settings."""

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.main_window import MainWindow


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
    saved = (w.width(), w.height())        # as high as the pictures' minimums allow
    assert saved[0] == 700
    w.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = MainWindow(Session(), settings=settings)
    qtbot.addWidget(again)
    assert again.recent_files()[0].endswith("a.npz")
    assert [a.text() for a in again.recent_menu.actions()][0].endswith("a.npz")
    assert (again.size().width(), again.size().height()) == saved


def test_export_png(make_window, tmp_path):
    w = make_window()
    out = tmp_path / "view.png"
    assert w.export_png(out)
    image = QImage(str(out))
    assert not image.isNull() and image.width() == w.width() and image.height() == w.height()


def _hostile_copies(valid, folder):
    """Hostile versions of the valid .npz ``valid``: (what is wrong, path)."""
    import io as _io
    import json
    import os
    import zipfile

    raw = valid.read_bytes()
    with zipfile.ZipFile(valid) as zf:
        members = {m.filename: zf.read(m) for m in zf.infolist()}

    def npy(a, pickle=False):
        buf = _io.BytesIO()
        np.save(buf, a, allow_pickle=pickle)
        return buf.getvalue()

    def archive(**changes):
        buf = _io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in {**members, **changes}.items():
                zf.writestr(name, data)
        return buf.getvalue()

    weights = next(n for n in sorted(members) if n.endswith("wg.npy"))
    wg = np.load(_io.BytesIO(members[weights]))
    meta = json.loads(str(np.load(_io.BytesIO(members["meta.npy"]))[()]))
    header = _io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**7, 10**7)})
    contents = {
        "truncated": raw[: len(raw) // 3],
        "random bytes": bytes(range(256)) * 4,
        "pickled": archive(**{weights: npy(np.array([{"x": 1}], dtype=object), True)}),
        "complex": archive(**{weights: npy(wg.astype(complex))}),
        "strings": archive(**{weights: npy(np.full(wg.shape, "w"))}),
        "wrong shape": archive(**{weights: npy(wg[:, :-1])}),
        "nan": archive(**{weights: npy(np.where(wg == wg.flat[0], np.nan, wg))}),
        "huge": archive(**{weights: header.getvalue() + b"\0" * 64}),
        "meta not json": archive(**{"meta.npy": npy(np.array("{oops"))}),
        "meta a list": archive(**{"meta.npy": npy(np.array("[1, 2]"))}),
        "future version": archive(**{"meta.npy": npy(np.array(json.dumps(
            {**meta, "version": 99})))}),
        "meta nested": archive(**{"meta.npy": npy(np.array("[" * 100_000))}),
    }
    out = []
    for kind, data in contents.items():
        path = folder / f"{kind.replace(' ', '-')}.npz"
        path.write_bytes(data)
        out.append((kind, path))
    (folder / "folder.npz").mkdir()
    os.mkfifo(folder / "fifo.npz")
    out += [("directory", folder / "folder.npz"), ("fifo", folder / "fifo.npz"),
            ("missing", folder / "missing.npz")]
    return out


@pytest.mark.parametrize("kind", ["trace", "session", "training session"])
def test_hostile_files_show_one_line_and_keep_the_session(make_window, tmp_path, kind):
    """File > Open (a trace) and Open Session: every hostile file is one line in the
    error dialog, and the session, its trace, cursor and breakpoints stay as they were.
    ``lstm-viz FILE`` refuses it in one line too (the app then starts on the default)."""
    from lstm_engine.errors import UserError
    from lstm_engine.io import save_trace
    from lstm_viz.model.saved_session import save_session
    from lstm_viz.model.training_run import TrainingSettings
    from lstm_viz.widgets.app import build_session, parse_args

    source = Session()
    if kind == "training session":
        source.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=2))
        source.train(2, stop_at_breakpoints=False)
    valid = tmp_path / "valid.npz"
    if kind == "trace":
        save_trace(valid, source.trace)
    else:
        save_session(valid, source)
    w = make_window()
    open_file = w.open_path if kind == "trace" else w.workbench.open_session_from
    w.session.goto("bwd:1:dg")
    w.session.add_breakpoint("bwd:2:ds")
    trace, cursor, config = w.session.trace, w.session.cursor, w.session.config
    breakpoints = list(w.session.breakpoints)
    folder = tmp_path / "hostile"
    folder.mkdir()
    cases = _hostile_copies(valid, folder)
    for what, path in cases:
        assert open_file(path) is False, what
        message = w.errors.messages[-1]
        assert "\n" not in message and str(path) in message, (what, message)
        assert w.errors.box.isVisible() and w.errors.box.text() == message
        assert w.session.trace is trace and w.session.cursor == cursor, what
        assert w.session.config == config and w.session.frame_text == "bwd:1:dg", what
        assert list(w.session.breakpoints) == breakpoints, what
        assert w.timeline.bar.value() == cursor
        with pytest.raises(UserError) as err:
            build_session(parse_args([str(path)]))
        assert "\n" not in str(err.value) and str(path) in str(err.value), (what, err.value)
    assert len(w.errors.messages) == len(cases)
    w.errors.box.close()
    assert open_file(valid) is True                      # and the valid file does open
    assert w.session.trace is not trace


def test_a_file_opened_while_training_runs_is_shown_whole(make_window, tmp_path, qtbot):
    """Issue 14, class 17: every view hears of the new pass once the session is whole
    (no view reads the old cursor against the new, shorter pass)."""
    from lstm_engine.io import save_trace

    small = tmp_path / "small.npz"
    save_trace(small, Session().trace)
    w = make_window()
    w.workbench.show_training()
    panel = w.workbench.training_panel
    panel.task.setCurrentText("adding")
    panel.length.setValue(20)
    panel.hidden.setValue(4)
    panel.iterations.setValue(10**6)
    panel.run_button.click()
    s = w.session
    qtbot.waitUntil(lambda: s.training is not None and s.training.iterations_done >= 2)
    s.last()
    assert s.training_running and s.cursor >= len(Session().frames)
    assert w.open_path(small)
    assert w.errors.messages == []
    assert s.training is None and not s.training_running and s.path == str(small)
    assert w.timeline.bar.maximum() == len(s.frames) - 1 and w.timeline.bar.value() == 0
    assert not panel.driver.timer.isActive()
