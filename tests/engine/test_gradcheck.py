"""The hand-derived backward pass against centred finite differences (float64)."""

import numpy as np
import pytest

from lstm_engine import PARAM_NAMES, init_uniform, published_example
from lstm_engine.gradcheck import gradient_check, verdict


def _run(X, H, T, seed, scale):
    rng = np.random.default_rng(seed)
    return init_uniform(X, H, rng, -scale, scale), rng.standard_normal((T, X)), \
        rng.standard_normal(T)


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("size,scale", [((3, 4, 5), 0.5), ((5, 7, 12), 0.5), ((2, 3, 30), 1.0),
                                        ((4, 6, 8), 0.02)])
def test_every_array_passes_the_finite_difference_check(variant, size, scale):
    params, x, y = _run(*size, seed=3, scale=scale)
    result = gradient_check(params, x, y, variant)
    assert set(result.arrays) == set(PARAM_NAMES)
    for name, check in result.arrays.items():
        assert check.checked == getattr(params, name).size      # small: every entry
        assert check.max_error < 1e-6, name
    assert result.verdict == "correct"


def test_check_flags_the_standard_forward_with_the_seed_backward():
    params, x, y = _run(3, 4, 5, seed=3, scale=0.5)
    result = gradient_check(params, x, y, "seed", forward_variant="standard")
    assert result.verdict == "wrong"
    assert result.max_error > 1e-2


def test_check_flags_a_corrupted_gradient_entry(monkeypatch):
    import lstm_engine.gradcheck as gc

    params, x, y = _run(3, 4, 5, seed=3, scale=0.5)
    real_record = gc.record

    def broken(*args, **kw):              # the analytic trace with one entry off by 1e-4
        trace = real_record(*args, **kw)
        wrong = np.array(trace.wf_diff)
        wrong[1, 2] += 1e-4
        trace._arrays["wf_diff"] = wrong
        return trace

    monkeypatch.setattr(gc, "record", broken)
    result = gradient_check(params, x, y)
    assert result.arrays["wf"].max_error > 1e-6
    assert np.nanargmax(result.arrays["wf"].errors) == np.ravel_multi_index((1, 2), (4, 7))
    assert result.arrays["wi"].max_error < 1e-6


def test_large_arrays_are_sampled_and_the_published_run_is_correct():
    params, x, y = published_example()
    result = gradient_check(params, x, y, max_entries=150, sample=10,
                            rng=np.random.default_rng(1))
    assert result.arrays["wg"].checked == 10
    assert np.isnan(result.arrays["wg"].errors).sum() == params.wg.size - 10
    assert result.arrays["bg"].checked == 100
    assert result.verdict == "correct"


def test_verdict_thresholds():
    assert verdict(1e-9) == "correct"
    assert verdict(1e-5) == "suspect"
    assert verdict(0.1) == "wrong"
    assert verdict(float("nan")) == "wrong"


def test_progress_counts_every_entry_and_can_cancel():
    params, x, y = _run(3, 4, 5, seed=3, scale=0.5)
    seen = []
    gradient_check(params, x, y, progress=lambda done, total: seen.append((done, total)))
    total = sum(getattr(params, n).size for n in PARAM_NAMES)
    assert seen[-1] == (total, total) and len(seen) == total

    class Cancelled(Exception):
        pass

    def cancel(done, total):
        if done == 3:
            raise Cancelled

    with pytest.raises(Cancelled):
        gradient_check(params, x, y, progress=cancel)
