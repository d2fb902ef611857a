"""Issue 14, class 23: a crash log that cannot be written (a full disk, a file made
read-only or replaced by a device) is dropped with one line on stderr, never logging's
"--- Logging error ---" and a traceback per record; the error dialog then says the
details went to the terminal, not to the log."""

import logging
import os

import pytest

from lstm_viz.model import crashlog


def _bug():
    try:
        raise RuntimeError("a bug the user should report")
    except RuntimeError as err:
        return err


@pytest.fixture
def full_log(tmp_path):
    """The log in a folder where it is a link to /dev/full: every write fails (ENOSPC)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / crashlog.LOG_NAME).symlink_to("/dev/full")
    assert crashlog.setup(folder) == folder / crashlog.LOG_NAME
    yield folder
    crashlog.shutdown()


def test_an_unwritable_log_is_dropped_with_one_line(full_log, capsys):
    log = logging.getLogger(crashlog.LOGGER)
    for _ in range(3):
        log.error("first\nsecond", extra={"signature": ("x",)})
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err, err
    notes = [line for line in err.splitlines() if "cannot write the log" in line]
    assert len(notes) == 1 and str(full_log) in notes[0] and "stderr" in notes[0]
    assert crashlog.current() is None


def test_the_dialog_then_points_to_the_terminal(full_log, make_window, capsys):
    w = make_window()
    w.errors.report(_bug())
    box = w.errors.box
    assert "terminal" in box.informativeText() and "lstm-viz.log" not in box.informativeText()
    err = capsys.readouterr().err
    assert "Logging error" not in err
    w.errors.report(_bug())                       # the next one: no second note
    assert "cannot write the log" not in capsys.readouterr().err
    box.close()


def test_a_writable_log_still_gets_the_traceback(tmp_path, make_window):
    folder = tmp_path / "ok"
    path = crashlog.setup(folder)
    try:
        w = make_window()
        w.errors.report(_bug())
        assert str(path) in w.errors.box.informativeText()
        assert "a bug the user should report" in path.read_text()
        w.errors.box.close()
    finally:
        crashlog.shutdown()
