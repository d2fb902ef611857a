"""The path decomposition picture (pictures/paths.py): shares of ‖ds(t)‖ as of a frame."""

import numpy as np
import pytest

from lstm_engine import init_uniform, record
from lstm_engine.interventions import Interventions
from lstm_viz.model.frame_data import FrameData
from lstm_viz.pictures.paths import PathShares
from lstm_viz.pictures.tables import csv_text

T, X, H = 7, 3, 5


def run(variant="seed", interventions=None, seed=2):
    rng = np.random.default_rng(seed)
    params = init_uniform(X, H, rng, -0.9, 0.9)
    x, y = rng.standard_normal((T, X)), rng.standard_normal(T)
    return record(params, x, y, variant, interventions=interventions)


def plain_carousel(tr):
    """Σ_{k≥t} (Π_{j=t+1..k} f(j)) A(k) dl_dh(k), the carousel part by its definition."""
    A = tr.o if tr.variant == "seed" else tr.o * (1 - np.tanh(tr.s) ** 2)
    return np.array([sum(np.prod(tr.f[t + 1:k + 1], axis=0) * A[k] * tr.dl_dh[k]
                         for k in range(t, T)) for t in range(T)])


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_the_shares_are_known_where_ds_is_and_come_from_the_two_parts(variant):
    tr = run(variant)
    data = FrameData(tr)
    pic = PathShares(data)
    st = pic.state(data.model.index("bwd:2:ds"))
    np.testing.assert_array_equal(st.t, [2, 3, 4, 5, 6])
    carousel = np.linalg.norm(plain_carousel(tr), axis=1)
    through_h = np.linalg.norm(tr.ds - plain_carousel(tr), axis=1)
    total = carousel + through_h
    np.testing.assert_allclose(st.shares["carousel"], (carousel / total)[2:], rtol=1e-5)
    np.testing.assert_allclose(st.shares["through_h"], (through_h / total)[2:], rtol=1e-5)
    np.testing.assert_allclose(st.norms["ds"], np.linalg.norm(tr.ds[2:], axis=1), rtol=1e-6)
    assert 0 < st.shares["through_h"][0] < 1
    assert st.cursor == 2 and st.known == (2, T)
    before = pic.state(data.model.index("bwd:3"))          # step 3 done, ds(2) not yet
    assert before.known == (3, T)
    assert len(pic.state(data.model.index("fwd:4:s")).t) == 0


def test_with_the_h_path_cut_the_carousel_has_it_all():
    tr = run(interventions=Interventions.parse(cut=["h"]))
    pic = PathShares(FrameData(tr))
    last = len(pic.data.model) - 1
    st = pic.state(last)
    assert np.all(st.shares["carousel"] == 1.0) and np.all(st.shares["through_h"] == 0.0)


def test_the_table_has_every_step_and_empty_cells_before_ds_is_computed():
    tr = run()
    data = FrameData(tr)
    pic = PathShares(data)
    header, rows = pic.table(data.model.index("bwd:4:ds"))
    assert header[:3] == ["step", "share_carousel", "share_through_h"]
    assert [r[0] for r in rows] == list(range(T))
    assert all(v is None for r in rows[:4] for v in r[1:])
    assert all(v is not None for r in rows[4:] for v in r[1:])
    text = csv_text(header, rows)
    assert text.splitlines()[0].startswith("step,share_carousel") and len(
        text.splitlines()) == T + 1


def test_the_norm_curves_and_their_range_are_of_the_whole_pass():
    # The view sets them once per pass and layer: the range must hold every step's norms
    # (log10), whatever the frame; a zero norm (a cut h-path's) is a gap, not log 0.
    tr = run()
    pic = PathShares(FrameData(tr))
    carousel = np.linalg.norm(plain_carousel(tr), axis=1)
    want = {"carousel": carousel, "through_h": np.linalg.norm(tr.ds - plain_carousel(tr),
                                                              axis=1),
            "ds": np.linalg.norm(tr.ds, axis=1)}
    got = pic.log_norms()
    assert want["through_h"][-1] == 0                  # nothing comes back after T-1
    for name, v in want.items():
        np.testing.assert_allclose(got[name], np.where(v > 0, v, np.nan), rtol=1e-5)
    every = np.concatenate(list(want.values()))
    lo, hi = np.log10(every[every > 0].min()), np.log10(every.max())
    np.testing.assert_allclose(pic.norm_range(), [lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)],
                               rtol=1e-5)
    cut = PathShares(FrameData(run(interventions=Interventions.parse(cut=["h"]))))
    assert np.all(np.isnan(cut.log_norms()["through_h"]))
    lo, hi = cut.norm_range()
    assert np.isfinite([lo, hi]).all() and lo > -10
