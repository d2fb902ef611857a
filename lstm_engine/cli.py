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
from pathlib import Path

import numpy as np

from . import io
from .cell import VARIANTS
from .cli_experiments import add_commands, positive_float, positive_int, seed
from .cli_output import OutputClosed, guarded_streams
from .errors import UserError
from .gradcheck import CORRECT_BELOW, gradient_check
from .memory import check_fits, record_bytes
from .params import published_example
from .recorder import record
from .textsafe import one_line
from .training import NonFinite, first_nonfinite, first_problem

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


def _load_run_inputs(args):
    if getattr(args, "demo", False):
        return published_example()
    missing = [o for o in ("params", "inputs", "targets") if getattr(args, o) is None]
    if missing:
        raise UserError("needs " + ", ".join(f"--{m}" for m in missing)
                        + (" (or --demo)" if hasattr(args, "demo") else ""))
    params = io.load_params(args.params)
    x = io.load_npy(args.inputs, kinds="fiu")
    y = io.load_npy(args.targets, kinds="fiu")
    if x.ndim != 2 or x.shape[1] != params.inputs:
        raise UserError(f"{args.inputs}: inputs must have shape (T, {params.inputs}) to match "
                        f"the parameters, got {x.shape}")
    if y.shape != (x.shape[0],):
        raise UserError(f"{args.targets}: targets must have shape ({x.shape[0]},), got {y.shape}")
    for path, a in ((args.inputs, x), (args.targets, y)):
        if not np.all(np.isfinite(a)):
            raise UserError(f"{path}: contains NaN or Inf")
    return params, x, y


def _check_record_memory(params, x, dtype="float64") -> None:
    T, X, H = x.shape[0], params.inputs, params.hidden
    check_fits(record_bytes(T, X, H, dtype), f"recording T={T}, X={X}, H={H} ({dtype})")


def cmd_record(args) -> int:
    io.check_writable(args.output)
    params, x, y = _load_run_inputs(args)
    _check_record_memory(params, x, args.dtype)
    trace = record(params, x, y, args.variant, dtype=args.dtype)
    io.save_trace(args.output, trace)
    problem = first_nonfinite(trace)
    print(f"recorded T={trace.steps} X={trace.inputs} H={trace.hidden} {args.variant} "
          f"{trace.dtype.name}: loss {trace.total_loss:.6e}, {trace.nbytes / 2**20:.1f} MiB "
          f"-> {_name(args.output)}" + (f" ({problem.where()})" if problem else ""))
    return 0


def cmd_gradcheck(args) -> int:
    """Print the largest relative error per array and a verdict that follows the tolerance:
    an array over it is marked FAIL, and then the verdict is "wrong" (over 1e-3, or not
    finite) or "suspect", and the exit code 1; otherwise "correct" and 0."""
    params, x, y = _load_run_inputs(args)
    _check_record_memory(params, x)
    result = gradient_check(params, x, y, args.variant, sample=args.sample,
                            rng=np.random.default_rng(args.seed))
    tol = args.tolerance
    print(f"{'array':<8} {'checked':>8} {'max rel. error':>15}")
    for name, a in result.arrays.items():
        flag = "" if a.max_error <= tol else "  FAIL"
        print(f"{name:<8} {a.checked:>8} {a.max_error:>15.3e}{flag}")
    worst = result.max_error
    ok = all(a.max_error <= tol for a in result.arrays.values())   # NaN never is
    verdict = "correct" if ok else ("wrong" if result.verdict == "wrong" else "suspect")
    print(f"verdict: {verdict} (max {worst:.3e}; tolerance {tol:.3g})")
    return 0 if ok else 1


def cmd_info(args) -> int:
    """One line about a file, read once: an array, a training run, a trace or parameters."""
    path = Path(args.file)
    if path.suffix == ".npy":
        a = io.load_npy(path, kinds="fiub")
        finite = bool(np.all(np.isfinite(a))) if a.dtype.kind == "f" else True
        print(f"{_name(path)}: array {a.shape} {a.dtype}"
              + ("" if finite else ", contains NaN/Inf"))
        return 0
    arrays = io.read_npz(path, kinds={"meta": "U", **io.TRACE_KINDS})
    run = _run_meta(arrays)
    if run is not None:
        params = io.params_from_arrays(arrays, str(path))
        losses = arrays.get("history.loss")
        last = f", last loss {float(losses[-1]):.6e}" if losses is not None and losses.size else ""
        task = run.get("task")
        name = task.get("name", "?") if isinstance(task, dict) else "?"
        print(f"{_name(path)}: training run, task {one_line(name)}, "
              f"{one_line(run.get('iterations_done', '?'))} iterations{last}, parameters "
              f"X={params.inputs} H={params.hidden} {params.dtype}"
              + (", interrupted" if run.get("interrupted") else "")
              + (f", stopped: {one_line(run['problem'])}" if run.get("problem") else ""))
        return 0
    if "meta" in arrays:
        trace = io.trace_from_file_arrays(arrays, path)
        m = trace.meta()
        nonfinite = [n for n in ("h", "ds", "top_diff_h") if not np.all(np.isfinite(trace[n]))]
        print(f"{_name(path)}: trace, variant {m['variant']}, loss {m['loss']['name']}, "
              f"{m['dtype']}, T={m['steps']} X={m['inputs']} H={m['hidden']}, total loss "
              f"{trace.total_loss:.6e}, {trace.nbytes / 2**20:.1f} MiB"
              + (f", non-finite values in {', '.join(nonfinite)}" if nonfinite else ""))
        return 0
    params = io.params_from_arrays(arrays, str(path))
    norms = ", ".join(f"|{n}|={np.linalg.norm(v):.3g}" for n, v in params.as_dict().items())
    print(f"{_name(path)}: parameters X={params.inputs} H={params.hidden} {params.dtype}: {norms}")
    return 0


def _run_meta(arrays: dict) -> dict | None:
    """The meta of a training run file (``lstm-engine train -o``), or None."""
    raw = arrays.get("meta")
    if raw is None or raw.shape != ():
        return None
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, RecursionError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == "lstm-engine-run" else None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Record an LSTM's forward pass and BPTT.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="the source document's published example")
    p.add_argument("--iterations", type=int, default=100, help="SGD iterations (default 100)")
    p.add_argument("--variant", choices=VARIANTS, default="seed")
    p.add_argument("--lr", type=positive_float, default=0.1, help="learning rate (default 0.1)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_demo)

    def run_inputs(p, demo: bool):
        p.add_argument("--params", help="parameters .npz (wg wi wf wo bg bi bf bo)")
        p.add_argument("--inputs", help="inputs .npy, shape (T, X)")
        p.add_argument("--targets", help="targets .npy, shape (T,)")
        p.add_argument("--variant", choices=VARIANTS, default="seed")
        if demo:
            p.add_argument("--demo", action="store_true", help="use the published example")

    p = sub.add_parser("record", help="record one forward + backward pass to a trace file")
    run_inputs(p, demo=False)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("-o", "--output", required=True, help="trace .npz to write")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("gradcheck", help="check the backward pass by finite differences")
    run_inputs(p, demo=True)
    p.add_argument("--tolerance", type=positive_float, default=CORRECT_BELOW,
                   help=f"largest acceptable relative error (default {CORRECT_BELOW:g}); "
                        "the verdict follows it")
    p.add_argument("--sample", type=positive_int, default=200,
                   help="entries checked per large array (default 200)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the entry sample")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("info", help="validate and summarise a parameters, trace or .npy file")
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
