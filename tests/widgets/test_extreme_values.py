"""Issue 14, class 16: extreme finite values (±1e308, the smallest subnormal 5e-324),
alone or mixed with NaN and ±Inf, are drawn by every view (saturating) at every kind of
frame, without a warning (the test configuration turns every warning into an error), and
every view exports them as PNG, SVG and CSV; ``--screenshot`` of such a trace writes its
picture, and a screenshot that fails exits 2 with one line."""

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from nonfinite import trace_with

from lstm_engine import GRAD_NAMES, STEP_NAMES, Trace
from lstm_engine.io import save_trace
from lstm_viz.model.session import Session
from lstm_viz.widgets.export import export_view
from lstm_viz.widgets.view_docks import VIEWS, show_every_view

FRAMES = ("fwd:0", "fwd:2:s", "loss", "bwd:4:ds", "bwd:3:dxc", "bwd:0")


def extreme_trace(kind: str, seed: int = 1) -> Trace:
    """A real 6-step trace whose recorded arrays are overwritten with extreme values."""
    tr = trace_with([])
    rng = np.random.default_rng(seed)
    arrays = {n: np.array(tr[n]) for n in STEP_NAMES + GRAD_NAMES}
    for a in arrays.values():
        flat = a.reshape(-1)
        if kind == "huge":
            flat[::2], flat[1::2] = 1e308, -1e308
        elif kind == "tiny":
            flat[:] = 5e-324
            flat[::3] = -5e-324
        elif kind == "one huge":
            flat[0] = 1e308
        elif kind == "zero":
            flat[:] = 0.0
        elif kind == "mixed":
            flat[:] = rng.choice([1e308, -1e308, 5e-324, np.nan, np.inf, -np.inf, 0.0, 1.0],
                                 flat.size)
    return Trace(tr.params, tr.x, tr.y, arrays, "seed", tr.loss_fn)


KINDS = ("huge", "tiny", "one huge", "zero", "mixed")


@pytest.mark.parametrize("kind", KINDS)
def test_every_view_draws_and_exports_extreme_values(make_window, qapp, tmp_path, kind):
    w = make_window(Session(trace=extreme_trace(kind)))
    show_every_view(w)
    grads = w.views["param_grads"]
    for n, variable in enumerate(("h", "ds", "wi_diff", "loss", "dxc")):
        w.session.select(variable)
        grads.mode.setCurrentIndex(n % 2)          # accumulated, then one step's alone
        grads.autoscale.setChecked(n % 3 == 1)
        for frame in FRAMES:
            w.session.goto(frame)
            qapp.processEvents()
            for view in w.views.values():
                view.grab()                                # paints it now, visible or not
    w.session.goto("bwd:3:ds")
    qapp.processEvents()
    for name, _, _ in VIEWS:
        view = w.views[name]
        for ext in ("png", "svg", "csv"):
            out = tmp_path / f"{name}.{ext}"
            export_view(view, out)
            assert out.stat().st_size > 0
        rows = list(csv.reader(io.StringIO((tmp_path / f"{name}.csv").read_text())))
        assert len(rows) > 1
    assert not w.errors.messages, w.errors.messages
    for dock in w.view_docks.values():
        dock.close()


def _run(*args, **env):
    full = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([sys.executable, "-m", "lstm_viz", *args], capture_output=True,
                          text=True, env=full, timeout=120)


@pytest.mark.parametrize("kind", ["huge", "mixed"])
def test_a_screenshot_of_extreme_values(tmp_path, kind):
    path = tmp_path / "extreme.npz"
    save_trace(path, extreme_trace(kind))
    out = tmp_path / "shot.png"
    done = _run(str(path), "--goto", "bwd:2:ds", "--screenshot", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
    assert "Traceback" not in done.stderr


def test_a_screenshot_that_cannot_be_drawn_exits_2_in_one_line(tmp_path):
    """A view that raises while it paints (a bug): one line, the traceback in the log,
    exit 2, and no file written."""
    out = tmp_path / "shot.png"
    code = ("import sys; from lstm_viz.widgets import carousel_view as c\n"
            "def boom(self, *a): raise RuntimeError('drawing failed')\n"
            "c.CarouselView.refresh = boom\n"
            "from lstm_viz.widgets.app import main\n"
            f"sys.exit(main(['--screenshot', {str(out)!r}]))\n")
    full = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
            "LSTM_VIZ_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("lstm-viz:")]
    assert len(lines) == 1 and "drawing failed" in lines[0] and "not written" in lines[0]
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert "Traceback" in (tmp_path / "data" / "lstm-viz.log").read_text()
