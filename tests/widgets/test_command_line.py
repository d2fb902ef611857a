"""Issue 14 on the ``lstm-viz`` command line: argument errors are one line and exit 2
(class 19), ``--size`` is bounded (class 14), ``--screenshot`` needs no display (class 5)
and a failed one exits 2; a trace the app could not show in the memory there is is
refused when it is opened (class 15)."""

import os
import subprocess
import sys

import pytest

from lstm_engine.errors import UserError
from lstm_engine.io import save_trace
from lstm_engine.memory import format_bytes
from lstm_viz.model import app_memory
from lstm_viz.model.config import default_config
from lstm_viz.model.saved_session import load_session, save_session
from lstm_viz.model.session import Session
from lstm_viz.widgets import app


def _run(*args, env=None, drop=()):
    full = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    for key in drop:
        full.pop(key, None)
    return subprocess.run([sys.executable, "-m", "lstm_viz", *args], capture_output=True,
                          text=True, env=full, timeout=120)


def _one_error_line(done):
    lines = [line for line in done.stderr.splitlines() if "propagateSizeHints" not in line]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("lstm-viz: error: "), done.stderr
    assert "usage:" not in done.stderr and "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("args,words", [
    (["--size", "abc"], "want WxH"),
    (["--size", "99999999999x600"], "each side must be from 200 to 8192"),
    (["--size", "9" * 5000 + "x600"], "want WxH"),
    (["--size", "0x0"], "each side"),
    (["--size", "8193x600"], "each side"),
    (["--screenshot", ""], "needs a file name"),
    (["--screenshot", "   "], "needs a file name"),
    (["--bogus"], "unrecognized arguments"),
    (["--task", "nope\n<b>x</b>"], "invalid choice"),
    (["--goto"], "expected one argument"),
    (["a.npz", "b.npz"], "unrecognized arguments"),
])
def test_argument_errors_are_one_line_and_exit_2(capsys, args, words):
    with pytest.raises(SystemExit) as info:
        app.parse_args(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lstm-viz: error: ") and words in err, err
    assert "usage:" not in err and len(err) < 400


def test_a_bad_size_from_the_command_line(tmp_path):
    line = _one_error_line(_run("--size", "abc", "--screenshot", str(tmp_path / "x.png")))
    assert "--size" in line
    assert not (tmp_path / "x.png").exists()


def test_the_size_is_bounded_by_the_memory_for_its_pixels(monkeypatch):
    import lstm_engine.memory as memory

    assert app.size_arg("8192x8192") == (8192, 8192)
    monkeypatch.setattr(memory, "memory_limit", lambda: 100 * 2**20)
    with pytest.raises(Exception) as info:
        app.size_arg("8000x8000")                          # 768 MB of pixels: refused
    assert "needs about" in str(info.value) and "MiB" in str(info.value)
    assert app.size_arg("1366x768") == (1366, 768)


@pytest.mark.parametrize("where", ["folder", "missing/x.png", "fifo"])
def test_a_screenshot_that_cannot_be_written_exits_2(tmp_path, where):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    line = _one_error_line(_run("--screenshot", str(tmp_path / where), "--size", "400x300"))
    assert str(tmp_path / where) in line


# ---- class 5: no display -------------------------------------------------------------------

@pytest.mark.parametrize("environ,platform,headless,chosen,refused", [
    ({}, "linux", True, "offscreen", False),
    ({}, "linux", False, None, True),
    ({"DISPLAY": ":0"}, "linux", True, None, False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False, None, False),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True, "xcb", False),
    ({}, "darwin", True, None, False),
    ({}, "win32", False, None, False),
    ({}, "freebsd14", True, "offscreen", False),
])
def test_the_platform_is_chosen_before_qt_starts(environ, platform, headless, chosen, refused):
    env = dict(environ)
    message = app.choose_platform(headless, env, platform)
    assert env.get("QT_QPA_PLATFORM") == chosen
    assert (message is not None) == refused
    if refused:
        assert "\n" not in message and "--screenshot" in message


def test_a_screenshot_without_a_display(tmp_path):
    out = tmp_path / "shot.png"
    done = _run("--screenshot", str(out), "--size", "500x400",
                drop=("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_window_without_a_display_is_one_line():
    line = _one_error_line(_run(drop=("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")))
    assert "no display" in line


# ---- class 15: what showing a trace needs ----------------------------------------------

@pytest.fixture
def trace_file(tmp_path):
    path = tmp_path / "trace.npz"
    save_trace(path, Session(default_config("random", steps=40, inputs=8, hidden=16)).trace)
    return path


def test_opening_checks_what_showing_the_trace_needs(trace_file, tmp_path, monkeypatch):
    session = Session()
    session.open(trace_file)                               # fits: opens
    more = app_memory.show_bytes(session.trace)
    # Enough for the file itself (the engine's budget) but not for showing it.
    monkeypatch.setattr(app_memory, "memory_limit", lambda: more - 1)
    other = Session()
    before = other.trace
    with pytest.raises(UserError) as info:
        other.open(trace_file)
    message = str(info.value)
    assert str(trace_file) in message and "showing this" in message and "\n" not in message
    assert f"needs about {format_bytes(more)} more" in message
    assert other.trace is before
    saved = tmp_path / "session.npz"
    save_session(saved, session)
    with pytest.raises(UserError, match="showing this"):
        load_session(saved)
    monkeypatch.setattr(app_memory, "memory_limit", lambda: more)     # exactly enough
    other.open(trace_file)
    assert other.trace is not before


def test_the_window_refuses_it_and_keeps_its_session(trace_file, make_window, monkeypatch):
    w = make_window()
    before = w.session.trace
    monkeypatch.setattr(app_memory, "memory_limit", lambda: 1024)
    assert not w.open_path(trace_file)
    assert "showing this" in w.errors.messages[-1] and w.session.trace is before
    w.errors.box.close()


def test_exit_after_paint_says_the_clock_time_of_its_first_paint():
    # the start-up benchmark (bench_gui.first_paint) subtracts its launch time from it
    import time

    launched = time.time()
    done = subprocess.run([sys.executable, "-m", "lstm_viz", "--exit-after-paint"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    ended = time.time()
    assert done.returncode == 0, done.stderr
    head, clock = done.stdout.rsplit(f" {app.PAINTED_AT} ", 1)
    assert head.startswith("first paint after ")
    assert launched < float(clock) < ended
