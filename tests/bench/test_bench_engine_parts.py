"""bench_engine's split of a recording into parts finds every part it names in a profile
of ``record`` (no timing is checked: only that the names it looks for are still there)."""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "bench_engine", Path(__file__).resolve().parents[2] / "bench" / "bench_engine.py")
bench = sys.modules["bench_engine"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_every_part_of_a_threaded_recording_is_found_in_its_profile():
    from lstm_engine.helper import BLOCK

    parts = bench.record_parts(4, 8, 2 * BLOCK + 3, "float64", runs=1)
    # the loops, the helper's waits and hand-offs, the loss and the trace: each was seen
    for name in (*bench.PARTS, "floor", "total"):
        assert parts[name] > 0, name
    assert parts["loops"] < parts["total"]
    line = bench.gap_line("float64", parts)
    assert "per-step elementwise" in line and "helper waits" in line
