"""Engine benchmark: one recorded forward+backward against a seed-style baseline.

Prints median times and ratios measured side by side in this run, then the memory of a
long float32 recording (in a fresh process). A benchmark, not a test: it never fails on
a timing; read the ratios against the targets printed beside them. (``bench/gate.py``
imports ``target_ratios`` and ``memory_peak`` to fail CI on a gross regression only.)

    python bench/bench_engine.py [--quick]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from functools import partial

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_training import training_line  # noqa: E402
from seed_style import seed_style_pass  # noqa: E402

from lstm_engine import init_uniform, record  # noqa: E402

SIZES = [(50, 100, 4), (64, 128, 100), (128, 256, 1000)]
TARGETS = {"float64": 6.0, "float32": 14.0}          # at (128, 256, 1000)


def interleaved_medians(fns: dict, repeats: int, statistic=statistics.median) -> dict:
    """Median time (or ``statistic``) of each callable, run in alternation so that load
    from elsewhere on a shared machine falls on all of them alike."""
    for fn in fns.values():
        fn()                                         # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistic(ts) for name, ts in times.items()}


def speed_medians(X: int, H: int, T: int, repeats: int, statistic=statistics.median) -> dict:
    """Median seconds (or ``statistic``) of one forward+backward at (X, H, T): the
    seed-style baseline ("base") and the engine's recording in float64 ("f64") and float32
    ("f32"), interleaved. The gate measures through this too, so both time the same thing."""
    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng)
    x, y = rng.uniform(size=(T, X)), rng.uniform(-0.5, 0.5, size=T)
    return interleaved_medians({
        "base": partial(seed_style_pass, params, x, y),
        "f64": partial(record, params, x, y),
        "f32": partial(record, params, x, y, dtype="float32"),
    }, repeats, statistic)


def target_ratios(repeats: int, statistic=statistics.median) -> dict:
    """{"float64": ratio, "float32": ratio} at the target size (the last of SIZES)."""
    med = speed_medians(*SIZES[-1], repeats, statistic)
    return {"float64": med["base"] / med["f64"], "float32": med["base"] / med["f32"]}


def bench_speed(quick):
    print(f"{'X':>4} {'H':>4} {'T':>5}  {'seed-style':>11} {'float64':>9} {'float32':>9}"
          f"  {'ratio64':>8} {'ratio32':>8}  target")
    ratios = {}
    for X, H, T in SIZES:
        reps = 3 if quick else (7 if T >= 1000 else 25)
        med = speed_medians(X, H, T, reps)
        base, t64, t32 = med["base"], med["f64"], med["f32"]
        r64, r32 = base / t64, base / t32
        target = ""
        if (X, H, T) == SIZES[-1]:
            target = f"≥ {TARGETS['float64']:g}× / ≥ {TARGETS['float32']:g}×"
            ratios = {"float64": r64, "float32": r32}
        print(f"{X:>4} {H:>4} {T:>5}  {base * 1e3:>9.2f}ms {t64 * 1e3:>7.2f}ms {t32 * 1e3:>7.2f}ms"
              f"  {r64:>7.1f}× {r32:>7.1f}×  {target}")
    return ratios


MEMORY_CHILD = """
import resource, numpy as np
from lstm_engine import init_uniform, record
rng = np.random.default_rng(0)
T, X, H = {T}, 128, 256
params = init_uniform(X, H, rng, dtype="float32")
x = rng.uniform(size=(T, X)).astype(np.float32)
y = rng.uniform(-0.5, 0.5, size=T).astype(np.float32)
del rng
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
trace = record(params, x, y)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(trace.nbytes, before, peak)
"""


MEMORY_T = 10_000


def memory_limit(trace_bytes: int) -> float:
    """The most a recording may take: 1.5 × the trace it returns + 150 MiB."""
    return 1.5 * trace_bytes + 150 * 2**20


def memory_peak(T: int = MEMORY_T) -> tuple[int, int, int]:
    """(trace bytes, process peak before recording, process peak after) of a float32
    recording at X=128, H=256, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(T=T)], check=True,
                         capture_output=True, text=True).stdout.split()
    trace_bytes, before, peak = map(int, out)
    return trace_bytes, before, peak


def bench_memory(T=MEMORY_T):
    trace_bytes, before, peak = memory_peak(T)
    limit = memory_limit(trace_bytes)
    print(f"memory T={T} X=128 H=256 float32: trace {trace_bytes / 2**20:.0f} MiB, process peak "
          f"{peak / 2**20:.0f} MiB (before recording {before / 2**20:.0f} MiB); "
          f"limit 1.5×trace+150 MiB = {limit / 2**20:.0f} MiB "
          f"({'within' if peak <= limit else 'OVER'})")
    return peak / limit


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    bench_speed(args.quick)
    bench_memory()
    print(training_line(args.quick))


if __name__ == "__main__":
    main()
