"""``lstm-engine``: the engine's command line.

Every bad input ends with exit code 2 and one line on stderr, never a traceback: a file
name or a file's text in a message is escaped to one line (``textsafe.one_line``), and
the work a command would do is estimated from the sizes, and refused beyond the memory
available, before anything is allocated. Output that cannot be written (a closed pipe,
a full disk) stops a command as Ctrl+C does (exit code 130; ``train`` still writes its
run); text the terminal cannot encode is written with backslash escapes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

from . import io
from .cell import VARIANTS
from .cli_experiments import add_commands, count, positive_float, positive_int, seed
from .cli_output import OutputClosed, guarded_streams
from .describe import describe_file
from .errors import UserError
from .gradcheck import CORRECT_BELOW, gradient_check_model
from .io import save_model_trace
from .losses import LOSSES, READOUT_AT
from .model import Model, layer_prefix, record_model
from .params import published_example
from .recorder import record
from .run_files import Run, check_record_memory, load_run
from .textsafe import one_line
from .training import NonFinite, first_problem

LOSS_NAMES = tuple(LOSSES)

PROG = "lstm-engine"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2)."""

    def error(self, message: str):
        # argparse quotes the value it refused in full: a 5,000-digit number is cut
        self.exit(2, f"{self.prog}: error: {one_line(message, limit=200)} (see --help)\n")


def _format_pred(values) -> str:
    return "[" + ", ".join(f"{v: .5f}" for v in values) + "]"


def cmd_demo(args) -> int:
    """The source document's example: SGD with lr 0.1, one line per iteration; the first
    NaN or Inf (a learning rate too large) stops it, as it stops ``train``."""
    if args.iterations < 0:
        raise UserError(f"--iterations must be >= 0, got {args.iterations}")
    params, x, y = published_example()
    for it in range(args.iterations):
        trace = record(params, x, y, args.variant)
        problem = first_problem(trace, it)
        if problem is not None:
            return _stopped(problem)
        pred = trace.h[:, 0]
        if args.json:
            print(json.dumps({"iter": it, "y_pred": [float(v) for v in pred],
                              "loss": trace.total_loss}))
        else:
            print(f"iter {it:2d}: y_pred = {_format_pred(pred)}, loss: {trace.total_loss:.3e}")
        params.apply_diff(trace.grads, args.lr)
        bad = next((n for n, a in params.as_dict().items() if not np.all(np.isfinite(a))), None)
        if bad is not None:
            return _stopped(NonFinite(it, "update", bad))
    return 0


def _stopped(problem: NonFinite) -> int:
    print(f"{PROG}: stopped: {problem}", file=sys.stderr)
    return 1


def _name(path) -> str:
    """A file name as printed: one safe line (it may hold a newline or an escape)."""
    return one_line(str(path))


def _load_run(args):
    """The model, inputs and targets of ``record`` and ``gradcheck`` (``run_files``)."""
    if getattr(args, "demo", False):
        given = [o for o in ("params", "inputs", "targets", "loss", "at", "sequence")
                 if getattr(args, o) is not None]
        if given:
            raise UserError(f"--demo is the published example (one cell, the toy loss, one "
                            f"sequence); --{given[0]} does not apply to it")
        params, x, y = published_example()
        model = Model.single(params, args.variant or "seed")
        return Run(model, x, y, None, None, x.shape[0], None)
    missing = [o for o in ("params", "inputs", "targets") if getattr(args, o) is None]
    if missing:
        raise UserError("needs " + ", ".join(f"--{m}" for m in missing)
                        + (" (or --demo)" if hasattr(args, "demo") else ""))
    return load_run(args.params, args.inputs, args.targets, variant=args.variant,
                    loss=args.loss, at=args.at, sequence=args.sequence)


def _sizes(model) -> str:
    hs = model.hiddens
    H = str(hs[0]) if len(set(hs)) == 1 else ",".join(map(str, hs))
    return f"X={model.inputs} H={H}" + (f" L={model.num_layers}" if model.num_layers > 1 else "")


def cmd_record(args) -> int:
    """Record one pass of the model (one sequence of a batch) and write its trace."""
    io.check_writable(args.output)
    run = _load_run(args)
    check_record_memory(run.model, run.steps, args.dtype)
    trace = record_model(run.model, run.inputs, run.targets, sequence=run.sequence,
                         dtype=args.dtype)
    trace.vocab = run.source.vocab if run.source is not None else None   # kept with it
    save_model_trace(args.output, trace)
    problem = first_problem(trace)
    which = "" if run.sequence is None else f", sequence {run.sequence} of {run.batch}"
    print(f"model: {trace.model.describe()}")
    print(f"recorded T={trace.steps} {_sizes(trace.model)} {trace.variant} "
          f"{trace.dtype.name}{which}: loss {trace.total_loss:.10e} ({trace.loss_name}), "
          f"{trace.nbytes / 2**20:.1f} MiB -> {_name(args.output)}"
          + (f" ({problem.where()})" if problem else ""))
    return 0


def cmd_gradcheck(args) -> int:
    """Print the largest relative error per array (every layer's, the embedding's and the
    read-out's) and a verdict that follows the tolerance: an array over it is marked FAIL,
    and then the verdict is "wrong" (over 1e-3, or not finite) or "suspect", and the exit
    code 1; otherwise "correct" and 0."""
    run = _load_run(args)
    check_record_memory(run.model, run.steps, "float64")
    result = gradient_check_model(run.model, run.inputs, run.targets, sequence=run.sequence,
                                  sample=args.sample, rng=np.random.default_rng(args.seed))
    tol = args.tolerance
    single = run.model.num_layers == 1
    names = {n: (n[len(layer_prefix(0)):] if single and n.startswith(layer_prefix(0)) else n)
             for n in result.arrays}
    width = max(8, *(len(n) for n in names.values()))
    print(f"{'array':<{width}} {'checked':>8} {'max rel. error':>15}")
    for name, a in result.arrays.items():
        flag = "" if a.max_error <= tol else "  FAIL"
        print(f"{names[name]:<{width}} {a.checked:>8} {a.max_error:>15.3e}{flag}")
    worst = result.max_error
    ok = all(a.max_error <= tol for a in result.arrays.values())   # NaN never is
    verdict = "correct" if ok else ("wrong" if result.verdict == "wrong" else "suspect")
    print(f"verdict: {verdict} (max {worst:.3e}; tolerance {tol:.3g})")
    return 0 if ok else 1


def cmd_info(args) -> int:
    """One line about a file, read once: an array, a training run, a trace or parameters."""
    print(describe_file(args.file))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Record an LSTM's forward pass and BPTT.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="the source document's published example")
    p.add_argument("--iterations", type=int, default=100, help="SGD iterations (default 100)")
    p.add_argument("--variant", choices=VARIANTS, default="seed")
    p.add_argument("--lr", type=positive_float, default=0.1, help="learning rate (default 0.1)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_demo)

    def model_options(p):
        p.add_argument("--variant", choices=VARIANTS,
                       help="the cell: seed (h = s*o) or standard (h = o*tanh(s)); default: "
                            "the parameters file's, else seed. A choice the file "
                            "contradicts is refused")
        p.add_argument("--loss", choices=LOSS_NAMES,
                       help="default: the parameters file's (toy without a read-out)")
        p.add_argument("--at", choices=READOUT_AT,
                       help="score a read-out loss at every step or the last only "
                            "(default: the file's, else every)")
        p.add_argument("--sequence", type=count, metavar="K",
                       help="with a batch of inputs (B, T, X) or token ids (B, T): record "
                            "sequence K alone (default 0); its gradients are that "
                            "sequence's, not the batch's")

    p = sub.add_parser(
        "record", help="record one forward + backward pass to a trace file",
        description="Record one forward and backward pass of the model in PARAMS (any "
                    "number of layers, an embedding, a read-out) to a trace file.")
    req = p.add_argument_group("required arguments")
    req.add_argument("--params", required=True, metavar="PARAMS.npz",
                     help="parameters (lstm-engine import-torch, train -o, a trace)")
    req.add_argument("--inputs", required=True, metavar="X.npy",
                     help="inputs (T, X), token ids (T,), or a batch: (B, T, X), (B, T)")
    req.add_argument("--targets", required=True, metavar="Y.npy",
                     help="targets as the loss takes them, B first for a batch")
    req.add_argument("-o", "--output", required=True, metavar="TRACE.npz",
                     help="trace to write")
    model_options(p)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("gradcheck", help="check the backward pass by finite differences",
                       description="Finite differences against the backward pass, for "
                                   "every layer, the embedding and the read-out.")
    p.add_argument("--params", metavar="PARAMS.npz", help="parameters (as for record)")
    p.add_argument("--inputs", metavar="X.npy", help="inputs (as for record)")
    p.add_argument("--targets", metavar="Y.npy", help="targets (as for record)")
    p.add_argument("--demo", action="store_true",
                   help="use the published example instead of the three files")
    model_options(p)
    p.add_argument("--tolerance", type=positive_float, default=CORRECT_BELOW,
                   help=f"largest acceptable relative error (default {CORRECT_BELOW:g}); "
                        "the verdict follows it")
    p.add_argument("--sample", type=positive_int, default=200,
                   help="entries checked per large array (default 200)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the entry sample")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("info", help="validate and summarise a parameters, trace, run or .npy "
                                    "file")
    p.add_argument("file")
    p.set_defaults(func=cmd_info)
    add_commands(sub)                                 # train, tasks, import-/export-torch
    return parser


def main(argv=None) -> int:
    with guarded_streams():
        try:
            args = build_parser().parse_args(argv)         # exits 2 on a bad argument
            # Non-finite values are reported by the commands themselves (demo and train
            # stop at the first, record and info name where they are): no numpy warnings.
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return args.func(args)
        except UserError as err:
            print(f"{PROG}: error: {err}", file=sys.stderr)
        except OutputClosed as err:
            print(f"{PROG}: stopped: standard output closed ({one_line(err.reason)})",
                  file=sys.stderr)
            return 130
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except Exception as err:       # anything unforeseen still ends in one line, not a trace
            if os.environ.get("LSTM_VIZ_DEBUG"):
                raise
            text = str(err).strip().splitlines()
            print(f"{PROG}: error: {type(err).__name__}: {one_line(text[0] if text else '')} "
                  "(set LSTM_VIZ_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
