"""The flow view's percentiles per step, computed for all steps at once, against numpy's
own ``nanpercentile`` applied to each step alone (the code it replaced): equal entry for
entry, with NaN, ±Inf, rows of NaN alone and rows of one value."""

import warnings

import numpy as np
import pytest

from lstm_viz.pictures.flow import nan_percentiles_by_row

Q = [50, 10, 90]


def per_row(a, q=Q):
    """The reference: one ``np.nanpercentile`` call per row."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)        # all-NaN rows
        return np.stack([np.nanpercentile(row, q) for row in a], axis=1)


def hostile(rng, rows, width, dtype):
    a = rng.standard_normal((rows, width)).astype(dtype)
    pick = rng.uniform(size=a.shape)
    a[pick < 0.15] = np.nan
    a[(pick >= 0.15) & (pick < 0.2)] = np.inf
    a[(pick >= 0.2) & (pick < 0.25)] = -np.inf
    a[0] = np.nan                               # nothing but NaN
    a[1, 1:] = np.nan                           # one value
    a[2] = np.inf                               # nothing but +Inf
    a[3, :] = 0.5                               # all equal
    a[4, ::2] = -np.inf                         # both infinities and finite values
    a[4, 1::4] = np.inf
    a[5] = np.round(a[5])                       # ties
    return a


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("width", [1, 2, 3, 7, 256])
def test_equal_to_numpy_row_by_row(dtype, width):
    rng = np.random.default_rng(width)
    a = hostile(rng, 60, width, dtype)
    got = nan_percentiles_by_row(a, Q)
    want = per_row(a)
    assert got.shape == (3, 60)
    np.testing.assert_array_equal(got, want)    # NaN where numpy gives NaN, bit for bit


def test_other_percentiles_and_the_log_forget_product():
    from lstm_engine import init_uniform, record
    from lstm_engine.flow import log10_forget_product

    rng = np.random.default_rng(3)
    tr = record(init_uniform(5, 9, rng), rng.uniform(size=(40, 5)), rng.uniform(size=40))
    lp = log10_forget_product(tr)
    lp[7, 2] = np.nan
    lp[8, :] = -np.inf
    q = [0, 5, 25, 50, 75, 95, 100]
    np.testing.assert_array_equal(nan_percentiles_by_row(lp, q), per_row(lp, q))
