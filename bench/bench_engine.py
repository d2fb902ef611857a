"""Engine benchmark: one recorded forward+backward against its floor and a seed-style
baseline, a 2-layer model against one layer, and the memory of long recordings.

Prints median times and ratios measured side by side in this run, then the memory of
long float32 recordings (each in a fresh process). A benchmark, not a test: it never
fails on a timing; read the ratios against the targets printed beside them.
(``bench/gate.py`` imports ``engine_ratios``, ``layer_ratios`` and ``memory_peak`` to
fail CI on a gross regression only.)

The recorder is judged against its floor, measured in the same run: the two recurrent
mat-vecs per step alone (forward ``Wh h(t-1)``, backward ``Wh^T dz(t)``), at the same
sizes and dtype, on one BLAS thread as the recorder runs; no pass can do less. Beside the
ratio, what the rest is made of, from a profile of ``record`` (``record_parts``): the
loops' per-step elementwise work, the work around the loops, the waits for its helper
thread. The
seed-style ratio is printed as a figure only: the seed-style code's own speed moves with
the machine's numpy and load more than the recorder's does.

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

from lstm_engine import Model, init_uniform, record, record_model  # noqa: E402
from lstm_engine.blas import single_threaded  # noqa: E402
from lstm_engine.recorder import stacked_weights  # noqa: E402

SIZES = [(50, 100, 4), (64, 128, 100), (128, 256, 1000)]
TARGETS = {"float64": 6.0, "float32": 14.0}   # vs seed-style at (128, 256, 1000): figures only
FLOOR_TARGET = 1.5           # recorder time / its recurrent mat-vec floor (gate: 3×)
LAYERS_TARGET = 2.1          # 2-layer / 1-layer model record time at (128, 256, 1000)
PAYLOAD_TARGET = 1.1         # trace bytes in memory / the bytes of its named arrays


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


def matvec_floor(params, T: int, dtype: str):
    """A callable running only the recurrent mat-vecs of a pass of T steps: forward
    ``Wh h`` (4H x H) and backward ``Wh^T dz`` (H x 4H) once per step each, on one
    BLAS thread, with the recorder's out= buffers."""
    X, H = params.inputs, params.hidden
    W = stacked_weights(params.astype(dtype))
    Wh, WhT = np.ascontiguousarray(W[:, X:]), W[:, X:].T.copy()
    rng = np.random.default_rng(1)
    h, dz = rng.uniform(-1, 1, H).astype(dtype), rng.uniform(-1, 1, 4 * H).astype(dtype)
    rec, carry = np.empty(4 * H, dtype), np.empty(H, dtype)

    @single_threaded
    def floor():
        for _ in range(T):
            np.dot(Wh, h, out=rec)
        for _ in range(T):
            np.dot(WhT, dz, out=carry)
    return floor


# The parts of one ``record`` call, by the functions a profile of it names (the helper
# thread is not profiled: what it does costs the pass only where the loop waits for it).
PARTS = {
    "loops": [("recorder.py", "forward_steps"), ("recorder.py", "backward_steps")],
    "helper waits": [("_base.py", "result")],
    "hand-offs": [("thread.py", "submit")],
    "prepare": [("recorder.py", "_prepare")],
    "loss": [("losses.py", "evaluate")],
    "trace": [("trace.py", "__init__")],
}


def record_parts(X: int, H: int, T: int, dtype: str, runs: int = 5) -> dict:
    """Median milliseconds of each part of one ``record`` at (X, H, T) (``PARTS``, from a
    cProfile of the calling thread; "setup" is the rest: weights, allocation, the
    first touch of fresh pages), of the whole ("total") and of its mat-vec floor
    ("floor"), over ``runs`` profiled runs, each after a run of the floor. A profile adds
    a little to each Python call it sees (about 60 per run), none to the numpy calls
    inside the loops."""
    import cProfile
    import pstats

    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng)
    x, y = rng.uniform(size=(T, X)), rng.uniform(-0.5, 0.5, size=T)
    floor = matvec_floor(params, T, dtype)
    record(params, x, y, dtype=dtype)                       # warm-up
    got: dict[str, list[float]] = {k: [] for k in (*PARTS, "setup", "total", "floor")}
    for _ in range(runs):
        t0 = time.perf_counter()
        floor()
        got["floor"].append((time.perf_counter() - t0) * 1e3)
        prof = cProfile.Profile()
        prof.enable()
        record(params, x, y, dtype=dtype)
        prof.disable()
        cumulative: dict = {}
        for (path, _line, name), row in pstats.Stats(prof).stats.items():
            key = (os.path.basename(path), name)
            cumulative[key] = cumulative.get(key, 0.0) + row[3]
        total = cumulative[("recorder.py", "record")]
        parts = {k: sum(cumulative.get(f, 0.0) for f in fns) for k, fns in PARTS.items()}
        parts["setup"] = total - sum(parts.values())
        parts["total"] = total
        for k, v in parts.items():
            got[k].append(v * 1e3)
    return {k: statistics.median(v) for k, v in got.items()}


def gap_line(dtype: str, parts: dict) -> str:
    """What the recorder does beyond its floor, in ms and in units of the floor: the
    loops' per-step elementwise work (the loops less the floor's mat-vecs), the work
    around the loops, and the waits for the helper thread."""
    floor_ms = parts["floor"]
    loops_extra = parts["loops"] - floor_ms
    around = parts["setup"] + parts["prepare"] + parts["loss"] + parts["trace"]
    helper = parts["helper waits"] + parts["hand-offs"]
    shown = ", ".join(f"{k} {parts[k]:.1f}" for k in
                      ("setup", "prepare", "loss", "trace", "helper waits", "hand-offs"))
    return (f"  {dtype} split (profiled, ms): record {parts['total']:.1f} = loops "
            f"{parts['loops']:.1f} [mat-vec floor {floor_ms:.1f} + per-step elementwise "
            f"{loops_extra:.1f}] + {parts['total'] - parts['loops']:.1f} around them "
            f"[{shown}]; over the floor: elementwise {loops_extra / floor_ms:.2f}×, around "
            f"the loops {around / floor_ms:.2f}×, helper {helper / floor_ms:.2f}× "
            f"(record ÷ floor here {parts['total'] / floor_ms:.2f}×)")


def speed_medians(X: int, H: int, T: int, repeats: int, statistic=statistics.median) -> dict:
    """Median seconds (or ``statistic``) of one forward+backward at (X, H, T), all
    interleaved: the seed-style baseline ("base"), the engine's recording in float64
    ("f64") and float32 ("f32"), and their mat-vec floors ("floor64", "floor32"). The gate
    measures through this too, so both time the same thing."""
    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng)
    x, y = rng.uniform(size=(T, X)), rng.uniform(-0.5, 0.5, size=T)
    return interleaved_medians({
        "base": partial(seed_style_pass, params, x, y),
        "f64": partial(record, params, x, y),
        "f32": partial(record, params, x, y, dtype="float32"),
        "floor64": matvec_floor(params, T, "float64"),
        "floor32": matvec_floor(params, T, "float32"),
    }, repeats, statistic)


def engine_ratios(repeats: int, statistic=statistics.median) -> dict:
    """At the target size (the last of SIZES): the recorder's time over its floor
    ("floor64", "floor32") and the seed-style baseline's over the recorder's ("seed64",
    "seed32")."""
    med = speed_medians(*SIZES[-1], repeats, statistic)
    return {"floor64": med["f64"] / med["floor64"], "floor32": med["f32"] / med["floor32"],
            "seed64": med["base"] / med["f64"], "seed32": med["base"] / med["f32"]}


def stacked_model(layers: int, X: int, H: int, rng, dtype="float64") -> Model:
    """``layers`` cells of H units on X inputs (the toy loss: the loss costs nothing)."""
    widths = [X] + [H] * layers
    return Model([init_uniform(widths[n], H, rng, dtype=dtype) for n in range(layers)])


def layer_ratios(repeats: int, statistic=statistics.median) -> dict:
    """2-layer / 1-layer ``record_model`` time at the target size, float64 ("layers64")
    and float32 ("layers32"), all four interleaved."""
    X, H, T = SIZES[-1]
    rng = np.random.default_rng(0)
    one, two = stacked_model(1, X, H, rng), stacked_model(2, X, H, rng)
    x, y = rng.uniform(size=(T, X)), rng.uniform(-0.5, 0.5, size=T)
    fns = {f"{n}{bits}": partial(record_model, m, x, y, dtype=f"float{bits}")
           for n, m in (("one", one), ("two", two)) for bits in (64, 32)}
    med = interleaved_medians(fns, repeats, statistic)
    return {f"layers{b}": med[f"two{b}"] / med[f"one{b}"] for b in (64, 32)}


def bench_speed(quick):
    print(f"{'X':>4} {'H':>4} {'T':>5}  {'floor64':>9} {'float64':>9} {'floor32':>9} "
          f"{'float32':>9}  {'÷floor64':>8} {'÷floor32':>8}  {'seed-style':>10} "
          f"{'ratio64':>7} {'ratio32':>7}")
    ratios = {}
    for X, H, T in SIZES:
        reps = 3 if quick else (7 if T >= 1000 else 25)
        med = speed_medians(X, H, T, reps)
        f64, f32 = med["f64"] / med["floor64"], med["f32"] / med["floor32"]
        r64, r32 = med["base"] / med["f64"], med["base"] / med["f32"]
        line = (f"{X:>4} {H:>4} {T:>5}  {med['floor64'] * 1e3:>7.2f}ms "
                f"{med['f64'] * 1e3:>7.2f}ms {med['floor32'] * 1e3:>7.2f}ms "
                f"{med['f32'] * 1e3:>7.2f}ms  {f64:>7.2f}× {f32:>7.2f}×  "
                f"{med['base'] * 1e3:>8.2f}ms {r64:>6.1f}× {r32:>6.1f}×")
        if (X, H, T) == SIZES[-1]:
            line += (f"  target ÷floor ≤ {FLOOR_TARGET:g}× (gate ≤ {2 * FLOOR_TARGET:g}×); "
                     f"seed-style {TARGETS['float64']:g}× / {TARGETS['float32']:g}× "
                     "(figure only)")
            ratios = {"floor64": f64, "floor32": f32}
        print(line)
        if (X, H, T) == SIZES[-1]:
            for bits in (64, 32):
                parts = record_parts(X, H, T, f"float{bits}", 3 if quick else 7)
                print(gap_line(f"float{bits}", parts))
    return ratios


def bench_layers(quick):
    X, H, T = SIZES[-1]
    r = layer_ratios(3 if quick else 7)
    for bits in (64, 32):
        print(f"2-layer / 1-layer record, X={X} H={H} T={T} float{bits}: "
              f"{r[f'layers{bits}']:.2f}×  (target ≤ {LAYERS_TARGET:g}×, "
              f"gate ≤ {2 * LAYERS_TARGET:g}×)")
    return r


MEMORY_CHILD = """
import resource, numpy as np
from lstm_engine import Model, init_uniform, record_model
rng = np.random.default_rng(0)
T, X, H, L = {T}, 128, 256, {layers}
widths = [X] + [H] * L
model = Model([init_uniform(widths[n], H, rng, dtype="float32") for n in range(L)])
x = rng.uniform(size=(T, X)).astype(np.float32)
y = rng.uniform(-0.5, 0.5, size=T).astype(np.float32)
del rng
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
trace = record_model(model, x, y)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(trace.nbytes, trace.payload_nbytes, before, peak)
"""


MEMORY_T = 10_000


def memory_limit(trace_bytes: int) -> float:
    """The most a recording may take: 1.5 × the trace it returns + 150 MiB."""
    return 1.5 * trace_bytes + 150 * 2**20


def memory_peak(T: int = MEMORY_T, layers: int = 2) -> tuple[int, int, int, int]:
    """(trace bytes in memory, its named arrays' bytes, process peak before recording,
    process peak after) of a float32 recording of ``layers`` layers at X=128, H=256, in a
    fresh process."""
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(T=T, layers=layers)],
                         check=True, capture_output=True, text=True).stdout.split()
    trace_bytes, payload, before, peak = map(int, out)
    return trace_bytes, payload, before, peak


def bench_memory(T=MEMORY_T):
    for layers in (1, 2):
        trace_bytes, payload, before, peak = memory_peak(T, layers)
        limit = memory_limit(trace_bytes)
        print(f"memory T={T} {layers}-layer X=128 H=256 float32: trace {trace_bytes / 2**20:.0f} "
              f"MiB = {trace_bytes / payload:.2f}× its arrays' {payload / 2**20:.0f} MiB "
              f"(target ≤ {PAYLOAD_TARGET:g}×); process peak {peak / 2**20:.0f} MiB (before "
              f"recording {before / 2**20:.0f} MiB), limit 1.5×trace+150 MiB = "
              f"{limit / 2**20:.0f} MiB: {peak / limit:.2f}× (target ≤ 1×)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    bench_speed(args.quick)
    bench_layers(args.quick)
    bench_memory()
    print(training_line(args.quick))


if __name__ == "__main__":
    main()
