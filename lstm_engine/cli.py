"""``lstm-engine``: the engine's command line.

Every bad input ends with exit code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from . import io
from .cell import VARIANTS
from .cli_experiments import add_commands, positive_float, positive_int
from .errors import UserError
from .gradcheck import CORRECT_BELOW, gradient_check
from .params import published_example
from .recorder import record

PROG = "lstm-engine"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _format_pred(values) -> str:
    return "[" + ", ".join(f"{v: .5f}" for v in values) + "]"


def cmd_demo(args) -> int:
    """The source document's example: SGD with lr 0.1, one line per iteration."""
    if args.iterations < 0:
        raise UserError("--iterations must be >= 0")
    params, x, y = published_example()
    for it in range(args.iterations):
        trace = record(params, x, y, args.variant)
        pred = trace.h[:, 0]
        if args.json:
            print(json.dumps({"iter": it, "y_pred": [float(v) for v in pred],
                              "loss": trace.total_loss}))
        else:
            print(f"iter {it:2d}: y_pred = {_format_pred(pred)}, loss: {trace.total_loss:.3e}")
        params.apply_diff(trace.grads, args.lr)
    return 0


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


def cmd_record(args) -> int:
    io.check_writable(args.output)
    params, x, y = _load_run_inputs(args)
    trace = record(params, x, y, args.variant, dtype=args.dtype)
    io.save_trace(args.output, trace)
    print(f"recorded T={trace.steps} X={trace.inputs} H={trace.hidden} {args.variant} "
          f"{trace.dtype.name}: loss {trace.total_loss:.6e}, {trace.nbytes / 2**20:.1f} MiB "
          f"-> {args.output}")
    return 0


def cmd_gradcheck(args) -> int:
    params, x, y = _load_run_inputs(args)
    result = gradient_check(params, x, y, args.variant, sample=args.sample,
                            rng=np.random.default_rng(args.seed))
    print(f"{'array':<8} {'checked':>8} {'max rel. error':>15}")
    for name, a in result.arrays.items():
        flag = "" if a.max_error <= args.tolerance else "  FAIL"
        print(f"{name:<8} {a.checked:>8} {a.max_error:>15.3e}{flag}")
    worst = result.max_error
    ok = worst <= args.tolerance
    print(f"verdict: {result.verdict} (max {worst:.3e}; tolerance {args.tolerance:.0e})")
    return 0 if ok else 1


def cmd_info(args) -> int:
    path = Path(args.file)
    if path.suffix == ".npy":
        a = io.load_npy(path, kinds="fiub")
        finite = bool(np.all(np.isfinite(a))) if a.dtype.kind == "f" else True
        print(f"{path}: array {a.shape} {a.dtype}" + ("" if finite else ", contains NaN/Inf"))
        return 0
    arrays = io.read_npz(path, kinds={"meta": "U"})
    run = _run_meta(arrays)
    if run is not None:
        params = io.params_from_arrays(arrays, str(path))
        losses = arrays.get("history.loss")
        last = f", last loss {float(losses[-1]):.6e}" if losses is not None and losses.size else ""
        print(f"{path}: training run, task {run.get('task', {}).get('name', '?')}, "
              f"{run.get('iterations_done', '?')} iterations{last}, parameters "
              f"X={params.inputs} H={params.hidden} {params.dtype}"
              + (", interrupted" if run.get("interrupted") else "")
              + (f", stopped: {run['problem']}" if run.get("problem") else ""))
        return 0
    if "meta" in arrays:
        trace = io.load_trace(path)
        m = trace.meta()
        nonfinite = [n for n in ("h", "ds", "top_diff_h") if not np.all(np.isfinite(trace[n]))]
        print(f"{path}: trace, variant {m['variant']}, loss {m['loss']['name']}, {m['dtype']}, "
              f"T={m['steps']} X={m['inputs']} H={m['hidden']}, total loss "
              f"{trace.total_loss:.6e}, {trace.nbytes / 2**20:.1f} MiB"
              + (f", non-finite values in {', '.join(nonfinite)}" if nonfinite else ""))
        return 0
    params = io.params_from_arrays(arrays, str(path))
    norms = ", ".join(f"|{n}|={np.linalg.norm(v):.3g}" for n, v in params.as_dict().items())
    print(f"{path}: parameters X={params.inputs} H={params.hidden} {params.dtype}: {norms}")
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
                   help=f"largest acceptable relative error (default {CORRECT_BELOW:g})")
    p.add_argument("--sample", type=positive_int, default=200,
                   help="entries checked per large array (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the entry sample")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("info", help="validate and summarise a parameters, trace or .npy file")
    p.add_argument("file")
    p.set_defaults(func=cmd_info)
    add_commands(sub)                                 # train, tasks, import-/export-torch
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:       # anything unforeseen still ends in one line, not a trace
        if os.environ.get("LSTM_VIZ_DEBUG"):
            raise
        text = str(err).strip().splitlines()
        print(f"{PROG}: error: {type(err).__name__}: {text[0] if text else ''} "
              "(set LSTM_VIZ_DEBUG=1 for the traceback)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
