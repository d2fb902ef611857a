"""Interventions benchmark: recording an intervened pass at X=128, H=256, T=1000 beside
the ordinary one, and the path decomposition, as the engine's share of the issue's
target: from the click to both passes drawn in ≤ 0.3 s (docs/equations.md §10, §11).

Prints median times measured side by side in this run (interleaved, so load from
elsewhere falls on all alike). A benchmark, not a test: it never fails on a timing.
The ordinary pass is shown already when the user asks "what if", so the click costs the
intervened pass and its decomposition; the line also gives both passes, for a click
that records the two afresh. ``Interventions()`` (none) must cost what no argument does:
the recorder's loops consult an intervention only when there is one.

    python bench/bench_interventions.py [--quick]
"""

import argparse
import os
import sys
from functools import partial

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_engine import interleaved_medians  # noqa: E402

from lstm_engine import init_uniform, record  # noqa: E402
from lstm_engine.interventions import Interventions  # noqa: E402
from lstm_engine.paths import path_split  # noqa: E402

X, H, T = 128, 256, 1000
CLICK_TARGET = 0.3            # seconds from the click to both passes drawn (the app's part later)
CASES = {
    "f=1, h cut": Interventions.parse(clamp=["f=1"], cut=["h"]),
    "mixed": Interventions.parse(clamp=["o=0.5#0:64"], knockout=["0:32@500:"],
                                 edit_input=["zero@100:200"], scale=["f.h=0.5"],
                                 cut=["s@700:#0:128"]),
    "truncate 50": Interventions(truncate=50),
}


def medians(repeats: int, dtype: str) -> dict:
    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng, dtype=dtype)
    x, y = rng.uniform(size=(T, X)), rng.uniform(-0.5, 0.5, size=T)
    fns = {"plain": partial(record, params, x, y, dtype=dtype),
           "none": partial(record, params, x, y, dtype=dtype, interventions=Interventions())}
    fns.update({name: partial(record, params, x, y, dtype=dtype, interventions=iv)
                for name, iv in CASES.items()})
    traced = record(params, x, y, dtype=dtype, interventions=CASES["f=1, h cut"])
    fns["split"] = partial(path_split, traced)
    return interleaved_medians(fns, repeats)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    for dtype in ("float64", "float32"):
        med = medians(3 if args.quick else 9, dtype)
        plain = med["plain"]
        print(f"X={X} H={H} T={T} {dtype}: ordinary pass {plain * 1e3:.1f} ms; "
              f"Interventions() {med['none'] * 1e3:.1f} ms ({med['none'] / plain:.2f}×, "
              "target 1×); path decomposition "
              f"{med['split'] * 1e3:.1f} ms")
        for name in CASES:
            one = med[name] + med["split"]
            both = one + plain
            print(f"  {name:<12} intervened pass {med[name] * 1e3:6.1f} ms "
                  f"({med[name] / plain:.2f}× the ordinary); engine's share of the click: "
                  f"{one * 1e3:.0f} ms with the decomposition ({one / CLICK_TARGET:.0%} of "
                  f"≤ {CLICK_TARGET:g} s), {both * 1e3:.0f} ms recording both passes "
                  f"({both / CLICK_TARGET:.0%})")


if __name__ == "__main__":
    main()
