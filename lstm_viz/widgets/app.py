"""``lstm-viz [FILE] [--task T] [sizes] [--variant V] [--goto FRAME] [--screenshot PNG]
[--size WxH]`` or ``lstm-viz --params P.npz --inputs X.npy --targets Y.npy [--loss L]
[--sequence K] [--vocab FILE]``.

Opens the source document's published example (or FILE: a trace, a saved session or a
training run; or a task's example at the sizes given; or a model from its parameters,
inputs and targets, ``model/model_files.py``) already recorded, at the first frame (or
--goto). ``--screenshot PNG`` renders the window at that
frame to a PNG and exits, with or without a display (it renders offscreen when there is
none); ``--exit-after-paint`` exits after the first painted frame and prints the time
since this module was imported and the clock time (``time.time()``) of that paint, which
the start-up benchmark subtracts its own clock time at launch from: the process's tear-down
after the paint is no part of the time to the first painted window.

A bad argument, file or frame is one line on stderr and exit code 2, as for
``lstm-engine``; so is a screenshot that could not be drawn or written.

Errors shown with a traceback are also appended to ``lstm-viz.log`` in the user's data
folder (``$LSTM_VIZ_DATA_DIR`` overrides it; see ``crashlog``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

START = time.perf_counter()
PAINTED_AT = "clock"             # --exit-after-paint's line: "... at clock <time.time()>"
ORGANIZATION = "lstm-viz"
APPLICATION = "lstm-viz"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2), as ``lstm-engine`` does,
    instead of the usage text and then the error."""

    def error(self, message: str):
        from lstm_engine.textsafe import one_line

        self.exit(2, f"{self.prog}: error: {one_line(message, limit=200)} (see --help)\n")


MAX_SIDE = 8192                 # pixels per side of a --screenshot
MIN_SIDE = 200
PIXEL_COPIES = 3                # the window's backing store, the grabbed image, the PNG coder


def size_arg(text: str) -> tuple[int, int]:
    """``WxH`` for --screenshot: whole numbers from MIN_SIDE to MAX_SIDE, whose pixels
    (4 bytes each, PIXEL_COPIES times) fit in the memory one file may take."""
    import re

    from lstm_engine.memory import format_bytes, memory_limit
    from lstm_engine.textsafe import show

    m = re.fullmatch(r"\s*(\d{1,30})\s*[xX×]\s*(\d{1,30})\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"want WxH, such as 1366x768, got {show(text)}")
    w, h = int(m[1]), int(m[2])
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise argparse.ArgumentTypeError(f"each side must be from {MIN_SIDE} to {MAX_SIDE} "
                                         f"pixels, got {show(text)}")
    need = w * h * 4 * PIXEL_COPIES
    if need > memory_limit():
        raise argparse.ArgumentTypeError(
            f"{w}x{h} needs about {format_bytes(need)} of pixels, more than the "
            f"{format_bytes(memory_limit())} it may use (half of the memory available)")
    return w, h


def screenshot_arg(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a file name")
    return text


def parse_args(argv=None) -> argparse.Namespace:
    from lstm_engine.cell import VARIANTS

    from ..model.config import TASK_SIZES, task_names

    p = _Parser(prog="lstm-viz", description="Step through an LSTM's forward "
                "pass and backpropagation through time.")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="a trace (.npz), a saved session or a training run "
                   "(lstm-engine train -o) to open")
    p.add_argument("--task", choices=task_names(), help="open this task's example")
    p.add_argument("--variant", choices=VARIANTS, help="the cell variant (default: seed)")
    sizes = p.add_argument_group("a task's sizes (default: the task's own)")
    sizes.add_argument("--hidden", type=int, metavar="H", help="memory cells per layer")
    sizes.add_argument("--layers", type=int, metavar="L", help="stacked layers (default 1)")
    sizes.add_argument("--length", type=int, metavar="T",
                       help="sequence length (random, sine, text, adding)")
    sizes.add_argument("--input-size", type=int, metavar="X", help="inputs (random)")
    for name in TASK_SIZES:
        sizes.add_argument(f"--{name}", type=int, metavar="N", help=f"the copy task's {name}")
    sizes.add_argument("--seed", type=int, metavar="S", help="the seed of data and weights")
    model = p.add_argument_group("your own model (all three files together)")
    model.add_argument("--params", metavar="PARAMS.npz",
                       help="parameters (lstm-engine import-torch, train -o, a trace); its "
                            "variant is used")
    model.add_argument("--inputs", metavar="X.npy", help="inputs: (T, X), token ids (T,), "
                       "or a batch (B, T, X) / (B, T)")
    model.add_argument("--targets", metavar="Y.npy", help="targets as the loss takes them")
    model.add_argument("--loss", choices=("toy", "mse", "xent"),
                       help="the loss (default: the parameters file's)")
    model.add_argument("--sequence", type=int, metavar="K",
                       help="the batch's sequence to show (default 0)")
    model.add_argument("--vocab", metavar="FILE", help="the text of each token id: a JSON "
                       "list or one token per line (default: the parameters file's)")
    p.add_argument("--goto", metavar="FRAME", help="open at this frame: fwd:3, fwd:3:s, loss, "
                   "bwd:2, bwd:2:ds (stacked layers: fwd:3:L1:s, bwd:2:L0:ds)")
    p.add_argument("--whatif", metavar="TEXT", help="apply interventions, shown in the "
                   "Intervene panel: 'cut h', 'clamp f=1 cut h' (the grammar of lstm-engine "
                   "record's --clamp, --knockout, --edit-input, --scale, --cut, --truncate)")
    p.add_argument("--screenshot", metavar="PNG", type=screenshot_arg,
                   help="render the window to PNG and exit (needs no display)")
    p.add_argument("--size", default=(1366, 768), metavar="WxH", type=size_arg,
                   help=f"window size for --screenshot (default 1366x768, each side "
                   f"{MIN_SIDE}…{MAX_SIDE})")
    p.add_argument("--exit-after-paint", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    files = [f"--{k}" for k in ("params", "inputs", "targets") if getattr(args, k)]
    extra = [f"--{k}" for k in ("loss", "sequence", "vocab") if getattr(args, k) is not None]
    if (files or extra) and len(files) != 3:
        p.error("--params, --inputs and --targets go together")
    if files and (args.file or args.task):
        p.error(f"{'FILE' if args.file else '--task'} and --params open different runs; "
                "choose one")
    if size_changes(args) and (args.file or files):
        p.error("the size options are a task's (--task); a file has its own sizes")
    return args


SIZE_OPTIONS = {"hidden": "hidden", "layers": "layers", "length": "steps",
                "input_size": "inputs", "symbols": "symbols", "pattern": "pattern",
                "delay": "delay", "seed": "seed"}


def check_sizes(args) -> dict:
    """``size_changes``, each option checked to be one the task takes (UserError)."""
    from lstm_engine.errors import UserError

    from ..model.config import RANDOM, task_info, task_sizes

    task = args.task or "published"
    changes = size_changes(args)
    info = task_info(task)
    takes = {"hidden", "layers", "seed", *task_sizes(task)}
    if info.steps is None and not task_sizes(task):
        takes.add("steps")
    if task == RANDOM:
        takes.add("inputs")
    names = {field: opt for opt, field in SIZE_OPTIONS.items()}
    for field in changes:
        if field not in takes:
            raise UserError(f"--{names[field].replace('_', '-')}: the {task} task has no such "
                            "size (lstm-viz --help lists each task's)")
    return changes


def size_changes(args) -> dict:
    """The RunConfig fields the size options set (only those given)."""
    return {field: getattr(args, opt) for opt, field in SIZE_OPTIONS.items()
            if getattr(args, opt, None) is not None}


def choose_platform(headless: bool, environ=None, platform: str | None = None) -> str | None:
    """Before the QApplication is made: with no display (no DISPLAY or WAYLAND_DISPLAY on
    a system that draws through X11 or Wayland, no QT_QPA_PLATFORM chosen), render
    offscreen for --screenshot (it needs none) and say so for the window (Qt would abort
    in its platform plugin). Returns the message that ends the start, or None."""
    import os

    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("QT_QPA_PLATFORM") or platform == "darwin" or platform.startswith(
            ("win", "cygwin")):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    if headless:
        environ["QT_QPA_PLATFORM"] = "offscreen"
        return None
    return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); "
            "--screenshot PNG works without one")


def build_session(args):
    """The session the arguments ask for; UserError for a bad file, task or frame."""
    from ..model.config import default_config
    from ..model.session import Session

    if args.params:
        from ..model.model_files import ModelChoice, open_model, session_for
        opened = open_model(ModelChoice(args.params, args.inputs, args.targets, args.loss,
                                        args.sequence, args.vocab, args.variant))
        session = session_for(opened.trace)
    elif args.file:
        from ..model.app_memory import load_trace_to_show
        from ..model.jobs import finish
        from ..model.model_files import is_run_file, run_file_job
        from ..model.saved_session import is_saved_session, load_session
        if is_saved_session(args.file):
            session, _layout = load_session(args.file)
        elif is_run_file(args.file):
            session = finish(run_file_job(args.file))
        else:
            session = Session.restore(load_trace_to_show(args.file), path=str(args.file))
        if args.variant and args.variant != session.config.variant:
            session.configure(session.config.with_(variant=args.variant))
    else:
        config = default_config(args.task or "published", **check_sizes(args))
        if args.variant:
            config = config.with_(variant=args.variant)
        session = Session(config)
    if args.goto:
        session.goto(args.goto)
    if getattr(args, "whatif", None):
        session.whatif.apply(args.whatif)
    return session


def _is_session(path) -> bool:
    from ..model.saved_session import is_saved_session

    return is_saved_session(path)


def _is_run(path) -> bool:
    from ..model.model_files import is_run_file

    return is_run_file(path)


def _open_session_in(window, args) -> None:
    """``lstm-viz SESSION.npz`` in the window: opened with progress and Cancel, then
    --variant and --goto; a problem is one line in a dialog."""
    if not window.open_path(args.file):
        return
    s = window.session
    if args.variant and args.variant != s.config.variant:
        window.errors.guard(s.configure, s.config.with_(variant=args.variant))
    if args.goto:
        window.goto_text(args.goto)


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
    from .main_window import MainWindow

    if QApplication.instance() is None:
        refused = choose_platform(bool(args.screenshot or args.exit_after_paint))
        if refused:
            print(f"lstm-viz: error: {refused}", file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    import pyqtgraph as pg

    from .plots import LOOK
    pg.setConfigOptions(**LOOK)

    quiet = bool(args.screenshot or args.exit_after_paint)
    problem, later = None, None
    try:
        if not quiet and args.file and (_is_session(args.file) or _is_run(args.file)):
            # Reopening a saved session can be long (its ring is recorded again), and so
            # can a training run (trained again): in the window, with progress and Cancel,
            # once the window is there.
            later, session = args, Session()
        else:
            session = build_session(args)
    except UserError as err:
        if quiet:
            print(f"lstm-viz: error: {err}", file=sys.stderr)
            return 2
        problem, session = err, Session()
    window = MainWindow(session, settings=None if quiet else QSettings())
    if args.whatif and session.whatif.has_pass:       # the panel up, as after a right-click
        window.intervener.dock.show()
        window.intervener.dock.raise_()

    if args.screenshot:
        return _screenshot(app, window, args)

    if args.exit_after_paint:
        def done():
            print(f"first paint after {time.perf_counter() - START:.3f} s (since import of app)"
                  f" at {PAINTED_AT} {time.time():.6f}", flush=True)
            app.quit()
        window.first_paint_callback = done

    restore = install_excepthook(window.errors)
    window.show()
    if problem is not None:
        window.errors.report(problem)
    if later is not None:
        _open_session_in(window, later)
    try:
        return app.exec()
    finally:
        restore()


def _screenshot(app, window, args) -> int:
    """Render the window to the PNG; any error on the way (a bad target, a view that
    fails to draw) is one line on stderr, the traceback in the log, exit 2, and the file
    that was there is left as it was."""
    import traceback

    from lstm_engine.errors import UserError
    from lstm_engine.textsafe import one_line

    from ..model import crashlog
    from .errors import message_of
    from .export import write_png

    failed: list[BaseException] = []
    previous = sys.excepthook

    def hook(kind, value, tb):             # errors raised while Qt paints the views
        failed.append(value)
        crashlog.write_only_to_log(message_of(value),
                                   "".join(traceback.format_exception(kind, value, tb)))
    sys.excepthook = hook
    try:
        window.resize(*args.size)
        window.show()
        for _ in range(3):
            app.processEvents()
        # below the pictures' minimum heights the window is larger: said once it is written
        got = window.size().toTuple()
        want = tuple(args.size)
        note = (f"lstm-viz: the window needs more room for its pictures: the picture is "
                f"{got[0]}x{got[1]} (asked for {want[0]}x{want[1]})") if got != want else None
        if not failed:
            from .export import png_bytes
            data = png_bytes(window)           # paints again: errors are caught here too
            if not failed:
                write_png(window, args.screenshot, data=data)
                if note:
                    print(note, file=sys.stderr)
    except UserError as err:
        print(f"lstm-viz: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:                       # noqa: BLE001 - one line, not a trace
        hook(type(err), err, err.__traceback__)
    finally:
        sys.excepthook = previous
        window.close()
    if failed:
        where = crashlog.current()
        print(one_line(f"lstm-viz: error: the window could not be drawn "
                       f"({message_of(failed[0])}); {args.screenshot} was not written"
                       + (f"; the details are in {where}" if where is not None else "")),
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
