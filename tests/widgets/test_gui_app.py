"""The command line: --screenshot, --goto, bad arguments."""

import os
import struct
import subprocess
import sys


def _run(*args):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "lstm_viz", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_screenshot_writes_a_png_of_the_window_size(tmp_path):
    out = tmp_path / "shot.png"
    done = _run("--goto", "bwd:2:ds", "--screenshot", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
    assert _png_size(out) == (1366, 768)


def test_screenshot_of_a_task_at_a_given_size(tmp_path):
    out = tmp_path / "small.png"
    done = _run("--task", "random", "--variant", "standard", "--goto", "loss", "--size",
                "1000x700", "--screenshot", str(out))
    assert done.returncode == 0, done.stderr
    assert _png_size(out) == (1000, 700)
    assert "needs more room" not in done.stderr


def test_a_screenshot_smaller_than_the_window_can_be_says_so(tmp_path):
    out = tmp_path / "tiny.png"
    done = _run("--size", "900x400", "--screenshot", str(out))
    assert done.returncode == 0, done.stderr
    width, height = _png_size(out)
    assert width == 900 and height > 400              # the pictures keep their minimum
    assert f"the picture is 900x{height} (asked for 900x400)" in done.stderr


def test_a_bad_frame_is_a_clear_error(tmp_path):
    done = _run("--goto", "bwd:9:ds", "--screenshot", str(tmp_path / "x.png"))
    assert done.returncode == 2
    assert "past the last step" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_main_opens_a_file_and_goes_to_a_frame(tmp_path):
    from lstm_viz.model.session import Session
    from lstm_viz.widgets.app import build_session, parse_args

    path = tmp_path / "t.npz"
    Session().save(path)
    s = build_session(parse_args([str(path), "--goto", "fwd:3:s", "--variant", "standard"]))
    assert s.frame_text == "fwd:3:s" and s.trace.variant == "standard"
    assert s.path == str(path)


def test_main_opens_a_saved_session_at_its_frame(tmp_path):
    from lstm_viz.model.config import default_config
    from lstm_viz.model.saved_session import is_saved_session, save_session
    from lstm_viz.model.session import Session
    from lstm_viz.widgets.app import build_session, parse_args

    saved = Session(default_config("random", steps=6, inputs=3, hidden=4))
    saved.goto("bwd:2:ds")
    save_session(tmp_path / "s.npz", saved)
    saved.save(tmp_path / "t.npz")
    assert is_saved_session(tmp_path / "s.npz") and not is_saved_session(tmp_path / "t.npz")
    s = build_session(parse_args([str(tmp_path / "s.npz")]))
    assert s.frame_text == "bwd:2:ds" and s.config.task == "random"
    assert (s.trace.ds == saved.trace.ds).all()
