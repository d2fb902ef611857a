"""What the picture views show at a frame (Qt-free), against direct computations."""

import csv
import io

import numpy as np
import pytest
from nonfinite import nan_trace

from lstm_engine import init_uniform, record
from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS
from lstm_viz.model.frame_data import FrameData
from lstm_viz.pictures.carousel import unit_at
from lstm_viz.pictures.colors import (
    DIVERGING_LUT,
    NAN_RGB,
    NEGINF_RGB,
    POSINF_RGB,
    count_special,
    is_signed,
    to_rgba,
)
from lstm_viz.pictures.contributions import Contributions, choose_sources
from lstm_viz.pictures.known import known_steps, not_computed_mask
from lstm_viz.pictures.tables import csv_text
from lstm_viz.pictures.time_maps import TIME_BACKWARD, TIME_FORWARD, TIME_NAMES
from lstm_viz.pictures.view_data import ViewData

T, X, H = 6, 3, 5


@pytest.fixture(scope="module", params=["seed", "standard"])
def run(request):
    rng = np.random.default_rng(11)
    params = init_uniform(X, H, rng, -0.7, 0.7)
    x, y = rng.standard_normal((T, X)), rng.standard_normal(T)
    trace = record(params, x, y, request.param)
    return params, x, y, trace


@pytest.fixture(scope="module")
def vd(run):
    data = FrameData(run[3])                 # held here: a ViewData refers to it weakly
    yield ViewData.of(data)


def _first_index(model, name, u):
    """The frame at which step u of ``name`` is first computed (independent definition:
    the frame of the statement that writes it; top_diff_* enter with the step)."""
    if name in FORWARD_STATEMENTS:
        return model.index(f"fwd:{u}:{name}")
    stmt = "ds" if name in ("top_diff_h", "top_diff_s") else name
    return model.index(f"bwd:{u}:{stmt}")


def test_known_steps_match_the_frame_at_which_each_step_is_written(vd):
    model = vd.data.model
    for name in TIME_NAMES:
        first = np.array([_first_index(model, name, u) for u in range(T)])
        for index in range(len(model)):
            expected = first > index
            np.testing.assert_array_equal(not_computed_mask(vd.data, name, index), expected,
                                          err_msg=f"{name} at {model.text(index)}")


def test_backward_quantities_fill_in_from_the_last_step_down(vd):
    model = vd.data.model
    assert known_steps(vd.data, "ds", model.frame(model.index("loss"))) == (T, T)
    assert known_steps(vd.data, "ds", model.frame(model.index(f"bwd:{T - 1}:ds"))) == (T - 1, T)
    assert known_steps(vd.data, "bottom_diff_h", model.frame(model.index("bwd:2:dxc"))) == (3, T)
    assert known_steps(vd.data, "s", model.frame(model.index("fwd:2:o"))) == (0, 2)
    assert known_steps(vd.data, "s", model.frame(model.index("fwd:2:s"))) == (0, 3)


def test_time_maps_are_the_engine_arrays_with_levels_symmetric_about_zero(run, vd):
    trace = run[3]
    for name in TIME_NAMES:
        tm = vd.time_map(name)
        np.testing.assert_array_equal(tm.image, trace[name].astype(np.float32))
        assert tm.image.dtype == np.float32 and tm.special is None
        for index in (0, vd.data.model.index("bwd:3:ds"), len(vd.data.model) - 1):
            for auto in (False, True):
                lo, hi = tm.levels(vd.known(name, index), auto)
                if is_signed(name):
                    assert lo == -hi and hi > 0
                else:
                    assert (lo, hi) == (0.0, 1.0)
        if is_signed(name):
            assert tm.levels((0, T), False)[1] == pytest.approx(np.abs(trace[name]).max())
            assert tm.levels((2, T), True)[1] == pytest.approx(np.abs(trace[name][2:]).max())
    assert set(TIME_FORWARD) == {"g", "i", "f", "o", "s", "h"}
    assert set(TIME_BACKWARD) == {"top_diff_h", "top_diff_s", "ds", "bottom_diff_h", "dxc"}


def _direct_accumulated(trace, frame_text):
    """Sum the updates that ran before and at this frame, one outer product at a time."""
    phase, t, *rest = frame_text.split(":")
    t = int(t)
    stmt = rest[0] if rest else BACKWARD_STATEMENTS[-1]
    k = BACKWARD_STATEMENTS.index(stmt)
    out = {}
    for name in (*WEIGHT_DIFFS, *BIAS_DIFFS):
        g = name[1]
        first = t if BACKWARD_STATEMENTS.index(name) <= k else t + 1
        dz = trace[f"d{g}_input"]
        if name.startswith("w"):
            out[name] = sum((np.outer(dz[u], trace.xc[u]) for u in range(first, T)),
                            np.zeros((H, X + H)))
        else:
            out[name] = dz[first:].sum(axis=0) if first < T else np.zeros(H)
    return out


@pytest.mark.parametrize("frame", ["bwd:5:ds", "bwd:3:wf_diff", "bwd:3:bo_diff", "bwd:2", "bwd:0"])
def test_parameter_gradients_as_of_the_frame_equal_a_direct_sum(run, vd, frame):
    trace = run[3]
    index = vd.data.model.index(frame)
    st = vd.params.state(index, "accumulated")
    direct = _direct_accumulated(trace, frame)
    for name, expected in direct.items():
        np.testing.assert_allclose(st.arrays[name], expected, rtol=1e-12, atol=1e-15)
        lo, hi = st.levels[name] if name in WEIGHT_DIFFS else st.levels["bias"]
        assert lo == -hi > -np.inf
    assert st.bias_image().shape == (4, H)


def test_contribution_alone_is_the_step_s_own_outer_product_once_it_ran(run, vd):
    trace = run[3]
    index = vd.data.model.index("bwd:3:wf_diff")
    st = vd.params.state(index, "contribution")
    assert set(st.arrays) == {"wi_diff", "wf_diff"}              # wo, wg, biases: not yet
    np.testing.assert_allclose(st.arrays["wf_diff"], np.outer(trace.df_input[3], trace.xc[3]))
    full = vd.params.state(vd.data.model.index("bwd:3"), "contribution")
    assert set(full.arrays) == set(WEIGHT_DIFFS) | set(BIAS_DIFFS)
    # fixed contribution levels bound every step's contribution
    for t in range(T):
        c = vd.data.live.contribution(t)
        for name in WEIGHT_DIFFS:
            assert np.abs(c[name]).max() <= full.levels[name][1] * (1 + 1e-12)
    assert not vd.params.state(vd.data.model.index("loss")).computed


def test_fixed_accumulated_levels_bound_every_step_boundary(vd):
    st = vd.params.state(vd.data.model.index("bwd:0"))
    for t in range(T):
        acc = vd.data.live.accumulated(t)
        for name in WEIGHT_DIFFS:
            assert np.abs(acc[name]).max() <= st.levels[name][1] * (1 + 1e-12)


def test_flow_curves_hold_the_computed_steps_only(run, vd):
    trace = run[3]
    index = vd.data.model.index("bwd:2:ds")
    st = vd.flow.state(index)
    t, v = st.curves["ds"]
    np.testing.assert_array_equal(t, [2, 3, 4, 5])
    np.testing.assert_allclose(v, np.linalg.norm(trace.ds[2:], axis=1), rtol=1e-6)
    t, v = st.curves["bottom_diff_s"]
    np.testing.assert_array_equal(t, [3, 4, 5])
    t, v = st.curves["top_diff_h"]
    np.testing.assert_allclose(v, np.linalg.norm(trace.top_diff_h[2:], axis=1), rtol=1e-6)
    _, med, q10, q90 = st.forget
    logf = np.log10(trace.f)
    direct = np.array([logf[u + 1:].sum(axis=0) for u in range(T)])
    np.testing.assert_allclose(med, np.median(direct, axis=1), rtol=1e-5, atol=1e-6)
    assert np.all(q10 <= med + 1e-6) and np.all(med <= q90 + 1e-6)
    assert vd.flow.state(vd.data.model.index("fwd:3:g")).forget is None
    assert all(len(c[0]) == 0 for c in vd.flow.state(0).curves.values())
    last = len(vd.data.model) - 1
    linear = vd.flow.state(last).curves["ds"][1]
    logged = vd.flow.state(last, log=True).curves["ds"][1]
    np.testing.assert_array_equal(logged, np.where(linear > 0, linear, np.nan))


def test_contribution_matrix_matches_passes_with_one_loss_each(run, vd):
    params, x, y, trace = run
    img = vd.contributions.compute()
    np.testing.assert_array_equal(img.sources, np.arange(T))
    for k in range(T):
        only_k = trace.h[:, 0].copy()                  # targets equal to h: no loss there
        only_k[k] = y[k]
        direct = record(params, x, only_k, trace.variant)
        np.testing.assert_allclose(img.norms[k, :k + 1], np.linalg.norm(direct.ds[:k + 1], axis=1),
                                   rtol=1e-10, atol=1e-14)
        assert img.future[k, k + 1:].all() and not img.future[k, :k + 1].any()
    assert img.log.dtype == np.float32 and np.isfinite(img.log).all()
    assert img.levels[0] < img.levels[1]
    header, rows = vd.contributions.table()
    assert rows[0][2] is None and rows[0][1] == pytest.approx(img.norms[0, 0])


def test_contribution_matrix_gives_nan_and_inf_their_reserved_colours():
    """NaN and +Inf norms of past entries get their colours; the future (t > k, NaN by
    construction) and exact zeros (log10 = -inf) do not."""
    M = np.array([[0.5, np.nan, np.nan],
                  [np.nan, 0.0, np.nan],
                  [np.inf, 2.0, 1.0]])
    img = Contributions._build(np.arange(3), M)
    assert (img.special.nan, img.special.posinf) == (1, 1)
    assert tuple(img.overlay[1, 0, :3]) == NAN_RGB and tuple(img.overlay[2, 0, :3]) == POSINF_RGB
    drawn = img.overlay[..., 3] > 0
    assert drawn.sum() == 2                              # not the future, not the zero
    clean = Contributions._build(np.arange(2), np.array([[1.0, np.nan], [0.5, 0.25]]))
    assert clean.overlay is None and clean.special.total == 0


def test_sources_are_capped_and_keep_the_last_step():
    s = choose_sources(1000, 128)
    assert len(s) <= 128 and s[0] == 0 and s[-1] == 999 and np.all(np.diff(s) > 0)
    np.testing.assert_array_equal(choose_sources(7), np.arange(7))


def test_carousel_edges_carry_the_trace_vectors(run, vd):
    trace = run[3]
    model = vd.data.model
    st = vd.carousel.state(model.index("fwd:2:f"))
    assert st.highlight == ("f",) and not st.backward
    np.testing.assert_array_equal(st.edges["f"].values, trace.f[2])
    np.testing.assert_array_equal(st.edges["s_prev"].values, trace.s[1])
    assert st.edges["o"].values is None and st.edges["s"].values is None
    assert st.edges["f"].levels == (0.0, 1.0)
    st = vd.carousel.state(model.index("bwd:3:ds"))
    assert st.backward and st.highlight == ("s",) and set(st.feeds) == {"s_next", "h_branch"}
    np.testing.assert_array_equal(st.edges["s"].values, trace.ds[3])
    np.testing.assert_array_equal(st.edges["s_next"].values, trace.top_diff_s[3])
    np.testing.assert_array_equal(st.edges["h"].values, trace.top_diff_h[3])
    # the two streams meet: ds = (h stream) + top_diff_s
    np.testing.assert_allclose(st.edges["h_branch"].values + trace.top_diff_s[3], trace.ds[3],
                               rtol=1e-12, atol=1e-15)
    assert st.edges["s_prev"].values is None
    assert st.edges["s"].norm == pytest.approx(np.linalg.norm(trace.ds[3]))
    st = vd.carousel.state(model.index("bwd:3:bottom_diff_s"))
    np.testing.assert_allclose(st.edges["s_prev"].values, trace.ds[3] * trace.f[3])
    st = vd.carousel.state(model.index("bwd:3"))
    np.testing.assert_array_equal(st.edges["h_prev"].values, trace.bottom_diff_h[3])
    np.testing.assert_array_equal(st.edges["x"].values, trace.dxc[3, :X])
    for stmt in BACKWARD_STATEMENTS:                      # every statement has an edge
        assert vd.carousel.state(model.index(f"bwd:1:{stmt}")).highlight
    for stmt in FORWARD_STATEMENTS:
        assert vd.carousel.state(model.index(f"fwd:1:{stmt}")).highlight
    assert unit_at(0.0, 5) == 0 and unit_at(0.999, 5) == 4 and unit_at(1.0, 5) is None


def test_csv_tables_read_back(vd):
    index = vd.data.model.index("bwd:3:ds")
    text = csv_text(*vd.time_map("ds").table(vd.known("ds", index)))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["quantity", "step", "unit 0"] and len(rows) == T + 1
    assert rows[1][2] == "" and float(rows[5][3]) == vd.data.trace.ds[4, 1]
    text = csv_text(*vd.params.table(vd.params.state(index)))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["parameter", "unit", "column", "value"]
    assert len(rows) == 1 + 4 * H * (X + H) + 4 * H
    text = csv_text(*vd.flow.table(index))
    assert len(list(csv.reader(io.StringIO(text)))) == T + 1


def test_nan_and_inf_are_counted_as_of_the_frame_and_get_reserved_colours(run):
    bad = nan_trace(run[3])
    data = FrameData(bad)
    vd = ViewData.of(data)
    tm = vd.time_map("ds")
    assert np.isfinite(tm.image).all()
    assert tuple(tm.special[1, 0, :3]) == NAN_RGB and tuple(tm.special[2, 1, :3]) == POSINF_RGB
    assert tuple(tm.special[4, 2, :3]) == NEGINF_RGB and tm.special[0, 0, 3] == 0
    model = vd.data.model
    sp = tm.special_count(vd.known("ds", model.index("bwd:3:ds")))
    assert (sp.nan, sp.posinf, sp.neginf) == (0, 0, 1)
    sp = tm.special_count(vd.known("ds", model.index("bwd:0")))
    assert (sp.nan, sp.posinf, sp.neginf) == (1, 1, 1) and "NaN 1" in sp.text()
    lo, hi = tm.levels((0, T), False)
    assert np.isfinite(hi) and lo == -hi
    assert vd.time_map("s").special_count((0, T)).nan == 1
    st = vd.params.state(model.index("bwd:5"))
    assert st.special["wi_diff"].posinf > 0 and st.special["bi_diff"].posinf == 1
    assert all(np.isfinite(v).all() for v in st.levels.values())
    car = vd.carousel.state(model.index("bwd:2:ds"))
    assert car.edges["s"].special.posinf == 1
    rgba = to_rgba(np.array([np.nan, np.inf, -np.inf, 0.0]), (-1, 1), DIVERGING_LUT)
    assert [tuple(c[:3]) for c in rgba[:3]] == [NAN_RGB, POSINF_RGB, NEGINF_RGB]
    assert count_special(np.array([np.nan, 1.0, -np.inf])).total == 2
    flow = vd.flow.state(model.index("bwd:0"))               # never crashes
    assert len(flow.curves["ds"][0]) == T


def test_the_bar_plot_shows_row_norms_of_matrices_and_names_the_frame():
    from lstm_viz.model.session import Session
    from lstm_viz.pictures.bars import plot_title, plotted_vector

    s = Session()
    d = s.data
    s.goto("bwd:2:di")
    index = s.cursor
    values, caption = plotted_vector(d, "wo_diff", index)
    np.testing.assert_allclose(values, np.linalg.norm(d.value("wo_diff", index), axis=1))
    assert caption == "‖wo_diff[j, :]‖ per memory cell j"
    got = plotted_vector(d, "ds", index)
    np.testing.assert_array_equal(got[0], s.trace.ds[2])
    assert plot_title(d, "ds", index, got) == "ds[j] per memory cell j   (bwd:2:di, t=2)"
    got = plotted_vector(d, "xc", index)
    assert got[1] == "xc[j] per entry j"
    assert plotted_vector(d, "dxc", index) is None                 # not yet computed
    assert plot_title(d, "dxc", index, None) == "dxc: not yet computed at bwd:2:di"
    got = plotted_vector(d, "loss", index)
    assert plot_title(d, "loss", index, got) == "l(t) per time step t   (bwd:2:di)"
    assert plot_title(d, None, index, None) == "select a variable to plot it"


@pytest.mark.parametrize("name", ["ds", "wi_diff", "bo_diff", "loss", "x", "dxc"])
def test_the_bar_plot_range_is_fixed_per_trace_and_holds_every_frame_s_bars(name):
    from lstm_viz.model.config import default_config
    from lstm_viz.model.session import Session
    from lstm_viz.pictures.bars import nice, plotted_vector
    from lstm_viz.pictures.view_data import ViewData

    s = Session(default_config("random", steps=12, inputs=4, hidden=6))
    d = s.data
    bars = ViewData.of(d).bars
    ranges = set()
    for index in range(len(s.frames)):
        got = plotted_vector(d, name, index)
        if got is None:
            continue
        v = np.asarray(got[0], np.float64)
        lo, hi = bars.range(name, v)
        ranges.add((lo, hi))
        assert lo <= min(v.min(), 0.0) and max(v.max(), 0.0) <= hi
    assert len(ranges) == 1                  # one range over the whole walk: no re-ranging
    assert (lo, hi) == (nice(lo), nice(hi))  # 1-2-5 rounded
    wide = bars.range(name, np.array([10 * hi + 1.0]))    # a bar beyond it widens it
    assert wide[1] >= 10 * hi + 1.0 and bars.range(name, np.zeros(1)) == wide


@pytest.mark.parametrize("steps, t, ran, want", [
    (4, None, 0, "not computed yet: gradients accumulate in the backward pass"),
    (4, 3, 0, "nothing accumulated yet: step 3's updates (wi_diff += …) have not run"),
    (4, 3, 2, "only step 3's updates run so far (2 of 8)"),
    (4, 3, 8, "step 3"),
    (4, 2, 0, "step 3 (step 2's updates have not run yet)"),
    (4, 2, 3, "step 3 + step 2's updates run so far (3 of 8)"),
    (4, 1, 8, "Σ over steps 3 … 1"),
    (4, 1, 5, "Σ over steps 3 … 2 + step 1's updates run so far (5 of 8)"),
    (4, 0, 8, "the complete gradient: Σ over steps 3 … 0"),
    (1, 0, 8, "the complete gradient: step 0"),
    (1, 0, 4, "only step 0's updates run so far (4 of 8)"),
])
def test_param_caption_words_every_case(steps, t, ran, want):
    from lstm_viz.pictures.param_grads import param_caption

    assert param_caption("accumulated", steps, t, ran) == want


def test_param_state_caption_follows_the_frame():
    from lstm_viz.model.session import Session

    s = Session()                                         # T = 4
    params = ViewData.of(s.data).params
    def caption(text):
        s.goto(text)
        return params.state(s.cursor).caption
    assert caption("fwd:3") == "not computed yet: gradients accumulate in the backward pass"
    assert caption("bwd:3:ds").startswith("nothing accumulated yet: step 3's")
    assert caption("bwd:3:wf_diff") == "only step 3's updates run so far (2 of 8)"
    assert caption("bwd:3") == "step 3"
    assert caption("bwd:2:bi_diff") == "step 3 + step 2's updates run so far (5 of 8)"
    assert caption("bwd:0") == "the complete gradient: Σ over steps 3 … 0"
    s.goto("bwd:2:ds")
    assert params.state(s.cursor, "contribution").caption == \
        "step 2's own contribution (grey: its updates have not run yet)"


def test_all_zero_arrays_get_a_unit_colour_scale_not_a_vanishing_one():
    from lstm_viz.model.levels import signed_levels, symmetric_levels

    for m in (0.0, -0.0, np.nan, np.inf):
        assert symmetric_levels(m) == (-1.0, 1.0)
    assert symmetric_levels(2.5e-7) == (-2.5e-7, 2.5e-7)
    assert signed_levels(np.zeros((3, 4))) == (-1.0, 1.0)
    assert signed_levels(np.array([np.nan, np.inf, 0.0])) == (-1.0, 1.0)
    assert signed_levels(np.array([0.0, -3.0]), np.array([2.0, np.nan])) == (-3.0, 3.0)
    # a real pass whose loss gradient is exactly zero: targets equal to h[:, 0]
    rng = np.random.default_rng(3)
    params = init_uniform(X, H, rng, -0.7, 0.7)
    x = rng.standard_normal((T, X))
    trace = record(params, x, record(params, x, np.zeros(T), "seed").h[:, 0].copy(), "seed")
    assert not np.any(trace.ds) and not np.any(trace.wi_diff)
    data0 = FrameData(trace)
    vd0 = ViewData.of(data0)
    last = len(vd0.data.model) - 1
    for name in TIME_BACKWARD:
        for auto in (False, True):
            assert vd0.time_levels(name, last, auto) == (-1.0, 1.0), name
    for auto in (False, True):
        st = vd0.params.state(last, autoscale=auto)
        assert all(lv == (-1.0, 1.0) for lv in st.levels.values()), st.levels


def test_values_beyond_float32_keep_their_sign_and_size_in_the_image():
    import warnings

    from lstm_viz.pictures.colors import finite_or_zero

    a = np.array([[1e300, -1e300, 0.5], [np.nan, np.inf, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no overflow warning on stderr
        img = finite_or_zero(a)
    from lstm_viz.model.levels import DRAW_MAX

    big = np.float32(DRAW_MAX)               # held where every plot can still draw it
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img, [[big, -big, 0.5], [0, 0, 0]])
    plain = np.array([0.25, -2.0])
    assert np.array_equal(finite_or_zero(plain), plain.astype(np.float32))


@pytest.mark.parametrize("values", [
    np.array([3.0, -4.0, 0.0]),
    np.array([3.0, np.nan, -4.0, np.inf, -np.inf, np.inf]),
    np.array([1e200, -1e200, 0.5]),                     # finite; its square overflows
    np.array([np.nan, np.nan]),
])
def test_a_carousel_edge_carries_the_norm_of_its_finite_values_and_its_specials(values):
    from lstm_viz.model.frame_data import summarize
    from lstm_viz.pictures.carousel import _norm_and_special

    norm, special = _norm_and_special(values)
    finite = values[np.isfinite(values)]
    want = float(np.linalg.norm(finite / 1e200) * 1e200) if finite.size else float("nan")
    if finite.size and np.max(np.abs(finite)) < 1e100:
        want = float(np.linalg.norm(finite))
    np.testing.assert_allclose(norm, want, rtol=1e-12)
    assert norm == pytest.approx(summarize(values).norm, nan_ok=True)
    assert (special.nan, special.posinf, special.neginf) == (
        int(np.isnan(values).sum()), int((values == np.inf).sum()),
        int((values == -np.inf).sum()))


@pytest.mark.parametrize("make", ["plain", "nan"])
def test_param_peaks_are_the_largest_finite_magnitudes_and_set_the_autoscale(make):
    """The parameter-gradient state carries each weight gradient's largest finite |value|
    from the frame's cached statistics: equal to it computed from the array, and the
    autoscaled levels are those of that value (a NaN/Inf trace too)."""
    from lstm_viz.model.levels import max_abs, symmetric_levels
    from lstm_viz.pictures.param_grads import ParamGrads

    rng = np.random.default_rng(3)
    trace = record(init_uniform(X, H, rng, -0.7, 0.7), rng.standard_normal((T, X)),
                   rng.standard_normal(T))
    if make == "nan":                     # an Inf in di_input: NaN/Inf in wi_diff
        trace = nan_trace(trace)
    data = FrameData(trace)
    params = ParamGrads(data)
    backward = [i for i in range(len(data.model)) if data.model.frame(i).phase == "bwd"]
    for index in np.random.default_rng(5).permutation(backward)[:40]:
        st = params.state(int(index), "accumulated", autoscale=True)
        for name in WEIGHT_DIFFS:
            assert st.peaks[name] == max_abs(st.arrays[name]), (name, index)
            assert st.levels[name] == symmetric_levels(max_abs(st.arrays[name]))
        assert params.state(int(index), "contribution").peaks == {}   # not from the stats
