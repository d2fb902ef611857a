"""Command-line experiments: ``train``, ``tasks``, ``import-torch``, ``export-torch``.

``add_commands(subparsers)`` adds the four sub-commands to ``lstm-engine``'s parser; each
handler returns the exit code and raises ``UserError`` on bad input. The one entry point
is ``lstm_engine.cli:main`` (``lstm-engine …`` or ``python -m lstm_engine …``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import time

from .cell import VARIANTS
from .cli_output import OutputClosed
from .errors import UserError
from .init import INITS
from .io import check_writable
from .optim import OPTIMIZERS
from .tasks import TASKS, describe_tasks
from .textsafe import one_line, quote
from .training import History, TrainConfig, build_trainer, save_run


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train on a task and print the loss per iteration",
        description="Train the LSTM on a built-in task (or your file); Ctrl+C stops cleanly "
                    "and still writes the run.")
    p.add_argument("--task", default="published", choices=list(TASKS),
                   help="the task (see 'lstm-engine tasks'; default: published)")
    p.add_argument("--variant", default="seed", choices=VARIANTS,
                   help="seed (h = s*o, as published) or standard (h = o*tanh(s))")
    p.add_argument("--hidden", type=positive_int, help="memory cells H (default: the task's)")
    p.add_argument("--layers", type=positive_int, default=1, metavar="L",
                   help="stacked cells of H memory cells each (default 1)")
    p.add_argument("--steps", type=count, default=100,
                   help="training iterations (default: 100)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="default: the task's")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: the task's)")
    p.add_argument("--clip", type=positive_float, help="clip the gradient's global norm to C")
    p.add_argument("--seed", type=seed, default=0,
                   help=f"seed of data and initialisation, 0 to {SEED_MAX} (default 0)")
    p.add_argument("--init", choices=INITS, help="initialisation (default: the task's)")
    p.add_argument("--forget-bias", type=_finite_float, metavar="B",
                   help="set the forget-gate bias bf to B")
    p.add_argument("--batch", type=positive_int, default=1, help="sequences per iteration")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--length", type=positive_int, help="sequence length (sine, text, adding)")
    p.add_argument("--data", metavar="FILE", help="the file task's .npy or .csv table")
    p.add_argument("--targets", metavar="FILE", help="the file task's targets, if separate")
    p.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE",
                   help="another task option, e.g. delay=20 for copy, period=10,20 for sine "
                        "(repeatable)")
    p.add_argument("--every", type=positive_int, default=1, metavar="K",
                   help="print every K-th iteration (default: 1)")
    p.add_argument("-o", "--output", metavar="RUN.npz", help="write the run to this file")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("tasks", help="list the built-in tasks")
    p.set_defaults(func=cmd_tasks)

    p = subparsers.add_parser(
        "import-torch", help="convert a PyTorch model's state dict to engine parameters",
        description="Read a whole model's state dict (.pt, needs torch; or an .npz with "
                    "the same keys): an nn.LSTM of any num_layers (one-directional, no "
                    "proj_size; gate order i, f, g, o; b_ih + b_hh summed), an "
                    "nn.Embedding and an nn.Linear decoder found by their usual names or "
                    "by shape. Prints which keys became what and which were ignored; "
                    "writes a parameters file (format 2) of the 'standard' variant.")
    p.add_argument("model", metavar="MODEL.pt|MODEL.npz")
    req = p.add_argument_group("required arguments")
    req.add_argument("-o", "--output", required=True, metavar="PARAMS.npz")
    p.add_argument("--lstm", metavar="PREFIX",
                   help="the nn.LSTM's module name, when the state dict has several")
    p.add_argument("--embedding", metavar="KEY",
                   help="the embedding's weight key ('' for none), when it is ambiguous")
    p.add_argument("--decoder", metavar="KEY",
                   help="the decoder's weight key ('' for none), when it is ambiguous")
    p.add_argument("--loss", choices=("toy", "mse", "xent"),
                   help="the loss on the read-out (default: xent with a decoder, toy "
                        "without)")
    p.add_argument("--at", choices=("every", "last"), default="every",
                   help="score the read-out at every step (default) or the last only")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="the parameters' dtype (default float64: b_ih + b_hh summed "
                        "exactly)")
    p.add_argument("--vocab", metavar="FILE",
                   help="the text of each token id (a JSON list, or one token per line) to "
                        "keep in the parameters file; lstm-viz labels the steps with it")
    p.set_defaults(func=cmd_import_torch)

    p = subparsers.add_parser(
        "export-torch", help="write engine parameters as a PyTorch state dict",
        description="Write the model as the state dict of nn.Embedding -> nn.LSTM -> "
                    "nn.Linear (module names embedding, lstm, decoder; a model that is "
                    "only the LSTM as nn.LSTM's own keys weight_ih_l0 …) to a .pt (needs "
                    "torch) or an .npz. PyTorch's nn.LSTM is the 'standard' variant.")
    p.add_argument("params", metavar="PARAMS.npz")
    req = p.add_argument_group("required arguments")
    req.add_argument("-o", "--output", required=True, metavar="MODEL.pt|MODEL.npz")
    p.set_defaults(func=cmd_export_torch)


# ---- argument types: a clear message instead of a traceback ----------------------------
# argparse names the option ("argument --seed: expected …"); the text is quoted and cut.

def positive_int(text: str) -> int:
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {quote(text)}")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:                     # also: more digits than int() converts
        raise argparse.ArgumentTypeError(f"expected an integer, got {quote(text)}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {quote(text)}")
    return value


# The seeds the app's run dialog offers too, so a run can be repeated there.
SEED_MAX = 2**31 - 1


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {quote(text)}") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {SEED_MAX}, "
                                         f"got {quote(text)}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {quote(text)}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {quote(text)}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {quote(text)}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {quote(text)}")
    return value


def _task_options(args) -> dict:
    options: dict[str, int | float | str] = {}
    for item in args.task_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--task-option expects KEY=VALUE, got {quote(item)}")
        try:
            options[key] = int(value)
        except ValueError:
            try:
                options[key] = float(value)
            except ValueError:
                options[key] = value
    if args.length is not None:
        options["length"] = args.length
    if args.data is not None:
        options["path"] = args.data
    if args.targets is not None:
        options["targets"] = args.targets
    if (args.data or args.targets) and args.task != "file":
        raise UserError("--data and --targets belong to --task file")
    if args.task == "file" and args.data is None and "path" not in options:
        raise UserError("--task file needs --data FILE (a .npy or .csv table)")
    return options


# ---- train ---------------------------------------------------------------------------

class _Progress:
    """A one-line progress bar on a terminal; nothing otherwise."""

    def __init__(self, stream, total: int):
        self.stream, self.total = stream, total
        self.on = total > 0 and stream.isatty()

    def line(self, text: str) -> None:
        if self.on:
            self.stream.write("\r\033[K")                  # clear the bar, then print
        print(text, file=self.stream)

    def update(self, done: int, loss: float) -> None:
        if not self.on:
            return
        width = 30
        filled = int(width * done / self.total)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total}  loss {loss:.6g}")
        self.stream.flush()

    def close(self) -> None:
        if self.on:
            self.stream.write("\r\033[K")
            self.stream.flush()


class _StopOnInterrupt:
    """The first Ctrl+C asks the loop to stop after the current iteration; a second one
    interrupts at once (the last committed iteration is still written)."""

    def __init__(self):
        self.requested = False
        self._old = None

    def _handler(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self):
        with contextlib.suppress(ValueError):               # not the main thread
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def _format_iteration(it) -> str:
    clipped = "  clipped" if it.clipped else ""
    return f"iter {it.index:6d}  loss {it.loss:.6e}  |grad| {it.grad_norm:.3e}{clipped}"


def cmd_train(args) -> int:  # noqa: C901, PLR0915 - a command's steps in the order they run (check, train, print, write); split, the Ctrl+C and closed-pipe handling would straddle helpers
    """Train, printing the loss per iteration. Ctrl+C, or output that can no longer be
    written (``… | head -1`` closing the pipe, a full disk), stops after the current
    iteration; the run is written either way."""
    if args.output:
        check_writable(args.output)                     # before the work, not after it
    config = TrainConfig(
        task=args.task, task_options=_task_options(args), seed=args.seed, variant=args.variant,
        hidden=args.hidden, iterations=args.steps, optimizer=args.optimizer, lr=args.lr,
        clip=args.clip, init=args.init, forget_bias=args.forget_bias, dtype=args.dtype,
        batch=args.batch, layers=args.layers)
    trainer, config = build_trainer(config)
    out = sys.stdout
    progress = _Progress(out, config.iterations)
    closed: list[str] = []                              # why the output failed, once it has

    def say(text: str, bar: tuple | None = None) -> None:
        if closed:
            return
        try:
            if bar is not None:
                progress.update(*bar)
            else:
                progress.line(text)
        except OutputClosed as err:
            closed.append(err.reason)
        except OSError as err:                          # a stream not guarded by main()
            closed.append(err.strerror or str(err))

    say(f"task {args.task} ({trainer.task.description}); variant {config.variant}, "
        f"H={config.hidden}" + (f", {config.layers} layers" if config.layers > 1 else "")
        + f", {config.optimizer} lr={config.lr:g}, init {config.init}"
        + (f", forget bias {config.forget_bias:g}" if config.forget_bias is not None else "")
        + (f", clip {config.clip:g}" if config.clip else ""))
    history = History()
    interrupted = bool(closed)
    start = time.perf_counter()
    with _StopOnInterrupt() as stop:
        try:
            for it in ([] if closed else trainer.run(config.iterations)):
                if it.problem is not None:
                    break
                history.append(it)
                if it.index % args.every == 0 or it.index == config.iterations - 1:
                    say(_format_iteration(it))
                say("", bar=(it.index + 1, it.loss))
                if stop.requested or closed:
                    interrupted = True
                    break
        except KeyboardInterrupt:
            interrupted = True
    with contextlib.suppress(OutputClosed, OSError):
        progress.close()
    elapsed = time.perf_counter() - start
    done = trainer.iteration
    rate = done / elapsed if elapsed > 0 else float("inf")
    summary = f"{done} iterations in {elapsed:.2f} s ({rate:.1f} it/s)"
    if len(history):
        # Single-sequence losses are noisy: compare the means of the first and last tenth.
        w = max(1, min(100, len(history) // 10))
        first, last = sum(history.loss[:w]) / w, sum(history.loss[-w:]) / w
        summary += f"; mean loss of the first {w}: {first:.6g}, of the last {w}: {last:.6g}"
    if interrupted:
        summary = "interrupted after " + summary
    say(summary)
    if trainer.problem is not None:
        print(f"lstm-engine: stopped: {trainer.problem}", file=sys.stderr)
    if args.output:
        save_run(args.output, trainer, config, history, interrupted)
        say(f"run written to {one_line(args.output)}")
    if closed:
        print(f"lstm-engine: standard output closed ({one_line(closed[0])}): stopped after "
              f"{done} iterations" + (f", run written to {one_line(args.output)}"
                                      if args.output else ""), file=sys.stderr)
    if trainer.problem is not None:
        return 1
    return 130 if interrupted else 0


# ---- tasks, import-torch, export-torch ------------------------------------------------

def cmd_tasks(args) -> int:
    width = max(len(name) for name in TASKS)
    for name, description in describe_tasks():
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_import_torch(args) -> int:
    """A whole model from PyTorch: what each key became, then the parameters file."""
    from .io import check_writable, load_vocab, save_model_params
    from .torch_io import load_torch_model
    from .vocab import vocab_size

    check_writable(args.output)
    model, report = load_torch_model(
        args.model, lstm_prefix=args.lstm, embedding_key=args.embedding,
        decoder_key=args.decoder, loss=args.loss, at=args.at, dtype=args.dtype)
    vocab = None if args.vocab is None else load_vocab(args.vocab, vocab_size(model))
    print(f"{one_line(args.model)}:")
    for line in report.lines():
        print(one_line(line))
    if vocab is not None:
        print(f"{one_line(args.vocab)} -> vocab ({len(vocab)} tokens)")
    save_model_params(args.output, model, vocab)
    print(f"model: {model.describe()} -> {one_line(args.output)}")
    return 0


def cmd_export_torch(args) -> int:
    """The model back as a state dict: the whole model, or the bare nn.LSTM's keys for a
    model that is only an LSTM. A file that does not say its variant is taken as the
    standard one (PyTorch's)."""
    from .io import load_model
    from .model import Model
    from .torch_io import save_torch_model

    source = load_model(args.params)
    model = source.model
    if not source.variant_known:
        model = Model(model.layers, "standard", model.loss, model.embedding)
    bare = model.embedding is None and model.outputs is None
    save_torch_model(args.output, model, **({"lstm": ""} if bare else {}))
    keys = "nn.LSTM's keys" if bare else "lstm., embedding., decoder. keys"
    print(f"{one_line(args.params)}: {model.describe()} -> {one_line(args.output)} "
          f"({keys})")
    return 0
