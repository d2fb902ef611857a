"""``lstm-viz [FILE] [--task T] [--variant V] [--goto FRAME] [--screenshot PNG]``.

Opens the source document's published example (or FILE, or a task's example) already
recorded, at the first frame (or --goto). ``--screenshot PNG`` renders the window at that
frame to a PNG and exits; ``--exit-after-paint`` exits after the first painted frame and
prints the time since the interpreter started (for the start-up benchmark).

Errors shown with a traceback are also appended to ``lstm-viz.log`` in the user's data
folder (``$LSTM_VIZ_DATA_DIR`` overrides it; see ``crashlog``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

START = time.perf_counter()
ORGANIZATION = "lstm-viz"
APPLICATION = "lstm-viz"


def parse_args(argv=None) -> argparse.Namespace:
    from lstm_engine.cell import VARIANTS

    from ..model.config import task_names

    p = argparse.ArgumentParser(prog="lstm-viz", description="Step through an LSTM's forward "
                                "pass and backpropagation through time.")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="a trace (.npz) or saved session to open")
    p.add_argument("--task", choices=task_names(), help="open this task's example")
    p.add_argument("--variant", choices=VARIANTS, help="the cell variant (default: seed)")
    p.add_argument("--goto", metavar="FRAME", help="open at this frame: fwd:3, fwd:3:s, loss, "
                   "bwd:2, bwd:2:ds")
    p.add_argument("--screenshot", metavar="PNG", help="render the window to PNG and exit")
    p.add_argument("--size", default="1366x768", metavar="WxH",
                   help="window size for --screenshot (default 1366x768)")
    p.add_argument("--exit-after-paint", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def build_session(args):
    """The session the arguments ask for; UserError for a bad file, task or frame."""
    from ..model.config import default_config
    from ..model.session import Session

    if args.file:
        from lstm_engine.io import load_trace

        from ..model.saved_session import is_saved_session, load_session
        if is_saved_session(args.file):
            session, _layout = load_session(args.file)
        else:
            session = Session.restore(load_trace(args.file), path=str(args.file))
        if args.variant and args.variant != session.config.variant:
            session.configure(session.config.with_(variant=args.variant))
    else:
        config = default_config(args.task or "published")
        if args.variant:
            config = config.with_(variant=args.variant)
        session = Session(config)
    if args.goto:
        session.goto(args.goto)
    return session


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"lstm-viz: --size must look like 1366x768, got {text!r}") from None
    return max(200, w), max(200, h)


def main(argv=None) -> int:
    args = parse_args(argv)
    from lstm_engine.blas import one_blas_thread

    with one_blas_thread():       # a frame is many small products: see lstm_engine/blas.py
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="lstm-viz: %(message)s")
    from ..model import crashlog
    crashlog.setup()                               # None: the folder cannot be made; stderr only
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from lstm_engine.errors import UserError

    from ..model.session import Session
    from .errors import install_excepthook
    from .export import write_png
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    import pyqtgraph as pg
    pg.setConfigOptions(antialias=False, background="w", foreground="k")

    problem = None
    try:
        session = build_session(args)
    except UserError as err:
        if args.screenshot or args.exit_after_paint:
            print(f"lstm-viz: {err}", file=sys.stderr)
            return 2
        problem, session = err, Session()
    quiet = bool(args.screenshot or args.exit_after_paint)
    window = MainWindow(session, settings=None if quiet else QSettings())

    if args.screenshot:
        window.resize(*_size(args.size))
        window.show()
        for _ in range(3):
            app.processEvents()
        try:
            write_png(window, args.screenshot)
        except UserError as err:
            print(f"lstm-viz: {err}", file=sys.stderr)
            return 1
        finally:
            window.close()
        return 0

    if args.exit_after_paint:
        def done():
            print(f"first paint after {time.perf_counter() - START:.3f} s (since import of app)")
            app.quit()
        window.first_paint_callback = done

    restore = install_excepthook(window.errors)
    window.show()
    if problem is not None:
        window.errors.report(problem)
    try:
        return app.exec()
    finally:
        restore()


if __name__ == "__main__":
    sys.exit(main())
