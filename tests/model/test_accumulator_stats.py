"""An accumulator's statistics take their norm from the frame's sums of squares (shared
with the status bar): checked against the accumulated value itself, at frames visited in
any order, with NaN and Inf in it too."""

import numpy as np
from nonfinite import trace_with

from lstm_viz.model.config import default_config
from lstm_viz.model.frame_data import ACCUMULATORS, FrameData
from lstm_viz.model.session import Session


def _reference(v: np.ndarray):
    """(min, max, norm over the finite entries, how many are not finite), plainly."""
    v = np.asarray(v, np.float64).reshape(-1)
    ok = np.isfinite(v)
    finite = v[ok]
    if not finite.size:
        return None, None, None, int(v.size)
    return finite.min(), finite.max(), float(np.sqrt(np.sum(finite * finite))), \
        int(v.size - ok.sum())


def _check(data: FrameData, index: int) -> None:
    for name in ACCUMULATORS:
        st = data.stats(name, index)
        lo, hi, norm, bad = _reference(data.value(name, index))
        assert st.nonfinite == bad, name
        if lo is not None:
            assert (st.min, st.max) == (lo, hi), name
            np.testing.assert_allclose(st.norm, norm, rtol=1e-12, err_msg=name)


def test_accumulator_norms_at_frames_visited_in_any_order():
    s = Session(default_config("random", steps=12, inputs=3, hidden=4))
    data = s.data
    backward = [i for i in range(len(s.frames)) if data.model.frame(i).phase == "bwd"]
    for index in np.random.default_rng(2).choice(backward, size=30):
        _check(data, int(index))
        # the status bar's norm and the table's agree: the same sums of squares
        squares = data.accumulator_squares(int(index))
        for name in ACCUMULATORS:
            assert data.stats(name, int(index)).norm == np.sqrt(squares[name])


def test_accumulator_stats_with_nan_and_inf():
    tr = trace_with([("di_input", (3, 0), np.inf), ("df_input", (4, 1), np.nan)])
    data = FrameData(tr)
    for index in range(len(data.model)):
        if data.model.frame(index).phase == "bwd":
            _check(data, index)
    last = data.stats("wi_diff", data.model.index("bwd:0"))
    assert last.nonfinite > 0 and np.isfinite(last.norm)
