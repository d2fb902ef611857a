"""GUI benchmark (offscreen): seek + repaint at X=128, H=256, T=1000 with every view visible
(carousel, heatmaps, parameter gradients, flow, loss-to-cell), statement steps in the
backward pass, and time to first paint.

    QT_QPA_PLATFORM=offscreen python bench/bench_gui.py [--frames N] [--starts N] [--quick]

Prints the median and 95th percentile of moving the cursor to a random frame and
repainting every visible panel, measured two ways: the app's own path (the seek marks the
panels dirty; ``processEvents`` paints them) and a forced synchronous repaint of the whole
window. Then the time from a fresh process start to the first painted window. Each line
shows its target; a benchmark prints, it never fails on timing (``bench/gate.py`` imports
these functions and TARGETS to fail CI on a gross regression only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

TARGETS = {                      # milliseconds, seconds, and a ratio
    "seek_median_ms": 16.0,      # all views visible, random seek + repaint
    "seek_p95_ms": 33.0,
    "step_median_ms": 16.0,      # backward pass, step into the next statement
    "first_paint_s": 1.5,        # process start to the first painted window
    "live_ratio": 0.8,           # live training with the window / without
}


def seek_times(frames: int, seed: int = 0, views: bool = True, forced: bool = True):
    from PySide6.QtWidgets import QApplication

    from lstm_viz.model.config import default_config
    from lstm_viz.model.session import Session
    from lstm_viz.widgets.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    session = Session(default_config("random", steps=1000, inputs=128, hidden=256))
    record_s = time.perf_counter() - t0
    from lstm_viz.widgets.view_docks import show_every_view

    window = MainWindow(session)
    window.resize(1366, 768)
    window.show()
    if views:
        show_every_view(window)                # every view visible: the tabbed ones float
        window.views["loss_to_cell"].compute()  # on demand, once per trace (not timed here)
    else:                                      # the debugger panels alone, for the ratio
        for dock in window.view_docks.values():
            dock.close()
    for _ in range(5):
        app.processEvents()
    session.select("wi_diff")                  # the heaviest plot: live accumulator row norms
    rng = np.random.default_rng(seed)
    n = len(session.frames)
    for _ in range(20):                        # warm-up (first LiveGradients checkpoints)
        session.seek(int(rng.integers(n)))
        app.processEvents()
    lazy, full = [], []
    for _ in range(frames):
        i = int(rng.integers(n))
        t = time.perf_counter()
        session.seek(i)
        app.processEvents()
        lazy.append(time.perf_counter() - t)
    for _ in range(frames if forced else 0):
        i = int(rng.integers(n))
        t = time.perf_counter()
        session.seek(i)
        window.repaint()
        app.processEvents()
        full.append(time.perf_counter() - t)
    step = []                                  # one statement at a time in the backward pass
    session.goto(f"bwd:{session.trace.steps // 2}:ds")
    app.processEvents()
    for _ in range(frames):
        t = time.perf_counter()
        session.step_into()
        app.processEvents()
        step.append(time.perf_counter() - t)
    window.close()
    return record_s, n, np.array(lazy) * 1e3, np.array(full) * 1e3, np.array(step) * 1e3


def first_paint(runs: int):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "lstm_viz", "--exit-after-paint"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the app did not start: {done.stderr.strip()}")
        out.append(time.perf_counter() - t)
    return np.array(out)


def live_training(iterations: int = 300):
    """Iterations per second of live training on ``adding`` (T=100, H=64) with the window
    showing it (training dock, loss curve, the debugger's views following each slice)
    against the same training with no window (the Qt-free session)."""
    from PySide6.QtWidgets import QApplication

    from lstm_viz.model.session import Session
    from lstm_viz.model.training_run import TrainingSettings
    from lstm_viz.widgets.main_window import MainWindow

    settings = TrainingSettings(task="adding", length=100, hidden=64)
    bare = Session()
    bare.start_training(settings)
    t = time.perf_counter()
    bare.train(iterations, stop_at_breakpoints=False)
    bare_rate = iterations / (time.perf_counter() - t)

    app = QApplication.instance() or QApplication([])
    session = Session()
    window = MainWindow(session)
    window.resize(1366, 768)
    window.show()
    window.workbench.show_training()
    panel = window.workbench.training_panel
    panel.show_settings(settings)
    panel.iterations.setValue(iterations)
    session.start_training(settings)
    for _ in range(5):
        app.processEvents()
    updates = []
    session.events.trace_changed.connect(lambda *_: updates.append(1))
    t = time.perf_counter()
    panel.run()
    while session.training_running:
        app.processEvents()
    live_rate = iterations / (time.perf_counter() - t)
    seconds = iterations / live_rate
    window.close()
    return bare_rate, live_rate, len(updates) / seconds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--starts", type=int, default=5)
    p.add_argument("--iterations", type=int, default=300, help="of live training")
    p.add_argument("--quick", action="store_true",
                   help="fewer frames, starts and iterations (60, 3, 150)")
    args = p.parse_args()
    if args.quick:
        args.frames, args.starts, args.iterations = 60, 3, 150
    g = TARGETS
    _, _, base, _, base_step = seek_times(args.frames, views=False)
    print(f"without the view docks (debugger panels only): seek median {np.median(base):6.2f} ms"
          f", p95 {np.percentile(base, 95):6.2f} ms; backward statement step median "
          f"{np.median(base_step):6.2f} ms")
    record_s, n, lazy, full, step = seek_times(args.frames)
    print(f"run X=128 H=256 T=1000: recorded in {record_s * 1e3:.0f} ms, {n} frames")
    print(f"seek + repaint of the visible panels (processEvents): median {np.median(lazy):6.2f} ms"
          f" (target <= {g['seek_median_ms']:g})   p95 {np.percentile(lazy, 95):6.2f} ms"
          f" (target <= {g['seek_p95_ms']:g})")
    print(f"seek + forced full-window repaint:                    median {np.median(full):6.2f} ms"
          f" (target <= {g['seek_median_ms']:g})   p95 {np.percentile(full, 95):6.2f} ms"
          f" (target <= {g['seek_p95_ms']:g})")
    print(f"backward pass, step into the next statement (all views): median "
          f"{np.median(step):6.2f} ms (target <= {g['step_median_ms']:g})   p95 "
          f"{np.percentile(step, 95):6.2f} ms")
    starts = first_paint(args.starts)
    print(f"process start to first painted window (published example): median "
          f"{np.median(starts):.2f} s, max {starts.max():.2f} s "
          f"(target <= {g['first_paint_s']:g} s)")
    bare, live, hz = live_training(args.iterations)
    print(f"live training, adding T=100 H=64: {live:.0f} it/s with the window updating "
          f"({hz:.0f} view updates/s) vs {bare:.0f} it/s without: ratio {live / bare:.2f} "
          f"(target >= {g['live_ratio']:g})")


if __name__ == "__main__":
    main()
