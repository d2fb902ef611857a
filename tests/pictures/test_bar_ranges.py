"""The bar plot's range per quantity: a bias accumulator's span from the live gradients'
suffix sums equals the span of every suffix sum summed anew (the code it replaced), with
NaN/Inf skipped; and no bar of any frame lies outside its quantity's range."""

import numpy as np
import pytest
from nonfinite import nan_trace

from lstm_engine import init_uniform, record
from lstm_engine.live import BIAS_DIFFS
from lstm_viz.model.frame_data import FrameData
from lstm_viz.pictures.bars import BarRanges, nice, plotted_vector


def old_span(trace, name):
    """The span as computed before: a cumsum of the gate's input gradients, reversed."""
    v = np.cumsum(np.asarray(trace["d" + name[1] + "_input"])[::-1], axis=0)
    v = v[np.isfinite(v)]
    lo = min(0.0, float(v.min())) if v.size else 0.0
    hi = max(0.0, float(v.max())) if v.size else 0.0
    return nice(lo), nice(hi)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bias_spans_equal_the_suffix_sums_summed_anew(dtype):
    rng = np.random.default_rng(5)
    tr = record(init_uniform(3, 6, rng), rng.standard_normal((40, 3)), rng.standard_normal(40),
                dtype=dtype)
    ranges = BarRanges(FrameData(tr))
    for name in BIAS_DIFFS:
        assert ranges._span(name) == old_span(tr, name), name


def test_bias_spans_skip_nan_and_inf():
    rng = np.random.default_rng(7)
    tr = nan_trace(record(init_uniform(3, 6, rng), rng.standard_normal((8, 3)),
                          rng.standard_normal(8)))
    ranges = BarRanges(FrameData(tr))
    for name in BIAS_DIFFS:
        assert ranges._span(name) == old_span(tr, name), name


def test_no_bar_leaves_its_range():
    rng = np.random.default_rng(6)
    tr = record(init_uniform(3, 6, rng), rng.standard_normal((25, 3)), rng.standard_normal(25))
    data = FrameData(tr)
    ranges = BarRanges(data)
    for index in range(0, len(data.model), 7):
        for name in BIAS_DIFFS + ("wf_diff", "ds", "h"):
            got = plotted_vector(data, name, index)
            if got is None:
                continue
            heights = got[0][np.isfinite(got[0])]
            lo, hi = ranges.range(name, heights)
            assert lo <= heights.min() and heights.max() <= hi
