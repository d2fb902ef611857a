"""What the app needs in memory to show a trace: resident memory of the window before a
trace is opened and at its peak while every view draws it at several frames, as a
multiple of the trace's bytes; what showing adds beyond the trace's own arrays against
the open-time check's estimate (``lstm_viz/model/app_memory.py``'s ``show_bytes``); and
the peak against issue 16's target: at most 1.5 × the trace + 250 MiB (``app_limit``).

    QT_QPA_PLATFORM=offscreen python bench/bench_app_memory.py [--steps 10000]
        [--hidden 256] [--inputs 128] [--dtype float32|float64|both]

Each run measures one fresh process (the trace is written to a temporary folder first).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def write_trace(path, steps, hidden, inputs, dtype) -> None:
    import numpy as np

    from lstm_engine import Params, init_uniform, record
    from lstm_engine.io import save_trace

    rng = np.random.default_rng(0)
    p = init_uniform(inputs, hidden, rng)
    p = Params(**{k: v.astype(dtype) for k, v in p.as_dict().items()})
    x = rng.standard_normal((steps, inputs)).astype(dtype)
    y = rng.standard_normal(steps).astype(dtype)
    save_trace(path, record(p, x, y, "seed", dtype=dtype))


def app_limit(trace_bytes: int) -> float:
    """The most the app may hold, resident, after opening and seeking a trace."""
    return 1.5 * trace_bytes + 250 * 2**20


def measure(path) -> tuple[str, float]:
    import psutil
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from lstm_viz.widgets.plots import LOOK
    pg.setConfigOptions(**LOOK)                  # as the app draws
    from lstm_viz.model.app_memory import show_bytes, trace_nbytes
    from lstm_viz.model.session import Session
    from lstm_viz.widgets.main_window import MainWindow

    proc = psutil.Process()
    w = MainWindow(Session())
    w.resize(1366, 768)
    w.show()
    for dock in w.view_docks.values():
        dock.show()
    for _ in range(5):
        app.processEvents()
    gc.collect()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.002)
    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    if not w.open_path(path):
        raise SystemExit(f"cannot open {path}: {w.errors.messages[-1]}")
    s = w.session
    T = s.trace.steps
    for frame in ("fwd:0", f"fwd:{T // 2}:s", "loss", f"bwd:{T // 2}:ds", f"bwd:{T // 3}:dxc",
                  "bwd:0"):
        s.goto(frame)
        for dock in w.view_docks.values():
            dock.raise_()
            for _ in range(3):
                app.processEvents()
    for name in ("h", "ds", "wi_diff", "dxc", "f"):
        s.select(name)
        app.processEvents()
    done.set()
    watcher.join()
    size = trace_nbytes(s.trace)
    limit = app_limit(size)
    line = (f"app memory, {s.trace.dtype} T={T} H={s.trace.hidden} X={s.trace.inputs}: trace "
            f"{size / 2**20:.0f} MiB, resident {before / 2**20:.0f} MiB before, peak "
            f"{peak[0] / 2**20:.0f} MiB = {peak[0] / limit:.2f}x the target 1.5 x trace + "
            f"250 MiB = {limit / 2**20:.0f} MiB (target <= 1x); opening added "
            f"{(peak[0] - before) / size:.2f}x the trace: its arrays held once "
            f"{s.trace.nbytes / 2**20:.0f} MiB + showing it "
            f"{(peak[0] - before - s.trace.nbytes) / 2**20:.0f} MiB (the open-time check "
            f"estimates {show_bytes(s.trace) / 2**20:.0f} MiB)")
    return line, peak[0] / limit


def app_memory(steps=10_000, hidden=256, inputs=128, dtype="float32") -> tuple[str, float]:
    """(the line, peak / app_limit) of a fresh process opening a trace of these sizes."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trace.npz")
        write_trace(path, steps, hidden, inputs, dtype)
        out = subprocess.run([sys.executable, __file__, "--measure", path], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    return out[-2], float(out[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--inputs", type=int, default=128)
    p.add_argument("--dtype", default="both", choices=("float32", "float64", "both"),
                   help="the trace's dtype (default: a float32 trace, then a float64 one)")
    p.add_argument("--measure", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        line, ratio = measure(args.measure)
        print(line)
        print(ratio)                     # for app_memory (the gate)
        return 0
    for dtype in ("float32", "float64") if args.dtype == "both" else (args.dtype,):
        print(app_memory(args.steps, args.hidden, args.inputs, dtype)[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
