"""Training benchmark: iterations per second on ``adding`` (T = 100, H = 64) against a
training loop in the seed's style (per-step objects, ``np.outer`` per step, SGD in place).

Both sides are measured in this run, interleaved, and reported as a ratio. A benchmark,
not a test: it never fails on a timing.

    python bench/bench_training.py [--quick]

``training_line(quick)`` returns the summary line for the engine benchmark to print.

At H = 64 every matrix product is small; a multi-threaded BLAS gains nothing there and,
on a busy 2-core machine, its threads waiting for each other made single iterations
jump from 3 ms to 8-60 ms. Run as a script, this benchmark therefore asks OpenBLAS for
one thread (unless OPENBLAS_NUM_THREADS is already set) and prints the setting.
"""

import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy is imported

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from seed_style import seed_style_pass  # noqa: E402

from lstm_engine.training import TrainConfig, build_trainer  # noqa: E402

LENGTH, HIDDEN = 100, 64


# The seed variant trained with plain SGD on adding at T = 100 can blow up within a few
# dozen iterations (a run worth debugging, not timing): both loops restart from their
# initial parameters every RESTART iterations, so only finite arithmetic is timed.
RESTART = 25


def seed_style_trainer(params, task, lr=0.1):
    """One iteration at a time, as the source document trains: a fresh per-step node
    list, the toy loss on h[0] (the target at the last step), then w -= lr * w_diff."""
    initial = params.copy()
    n = 0

    def step():
        nonlocal n, params
        if n % RESTART == 0:
            params = initial.copy()
        seq = task.sequence(1 + n)
        y = np.zeros(seq.x.shape[0])
        y[-1] = seq.y[0]
        with np.errstate(over="ignore"):                 # its sigmoid saturating: harmless
            loss, p = seed_style_pass(params, seq.x, y)
        for name in ("wg", "wi", "wf", "wo", "bg", "bi", "bf", "bo"):
            getattr(params, name)[...] -= lr * getattr(p, name + "_diff")
        n += 1
        return loss
    return step


def _restarting(trainer):
    initial = trainer.state()

    def step():
        if trainer.iteration >= RESTART or trainer.stopped:
            trainer.restore(initial)
        return next(trainer)
    return step


def rate(step, seconds):
    """Iterations per second of ``step`` over about ``seconds`` (after one warm-up)."""
    step()
    count, t0 = 0, time.perf_counter()
    while True:
        step()
        count += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return count / elapsed


def measure(quick=False):
    """Median iterations/s of the seed-style loop and the engine (SGD and Adam)."""
    seconds, rounds = (0.3, 3) if quick else (1.0, 5)
    options = {"length": LENGTH}
    sgd, _ = build_trainer(TrainConfig(task="adding", task_options=options, hidden=HIDDEN,
                                       optimizer="sgd", lr=0.01))
    adam, _ = build_trainer(TrainConfig(task="adding", task_options=options, hidden=HIDDEN))
    seed = seed_style_trainer(sgd.params, sgd.task, lr=0.01)
    runs = {"seed-style": seed, "engine sgd": _restarting(sgd),
            "engine adam": _restarting(adam)}
    rates = {name: [] for name in runs}
    for _ in range(rounds):                              # interleaved: same machine state
        for name, step in runs.items():
            rates[name].append(rate(step, seconds))
    return {name: statistics.median(r) for name, r in rates.items()}


def training_line(quick=False) -> str:
    r = measure(quick)
    base = r["seed-style"]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (f"training adding T={LENGTH} H={HIDDEN} float64 (BLAS threads: {threads}): "
            f"seed-style {base:.1f} it/s, "
            f"engine sgd {r['engine sgd']:.1f} it/s ({r['engine sgd'] / base:.1f}×), "
            f"engine adam {r['engine adam']:.1f} it/s ({r['engine adam'] / base:.1f}×)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter measurements")
    args = ap.parse_args()
    print(training_line(args.quick))


if __name__ == "__main__":
    main()
