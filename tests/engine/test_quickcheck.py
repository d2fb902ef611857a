"""The quick directional gradient check against the reference and finite differences
(float64)."""

import numpy as np
import pytest
from reference import reference_pass

from lstm_engine import PARAM_NAMES, init_uniform, record, run_stepwise
from lstm_engine.gradcheck import stencil_derivative
from lstm_engine.losses import ReadoutMSE
from lstm_engine.quickcheck import (
    directional_derivatives,
    directional_errors,
    random_directions,
)


def _run(seed=5, X=3, H=4, T=6):
    rng = np.random.default_rng(seed)
    return (init_uniform(X, H, rng, -0.5, 0.5), rng.standard_normal((T, X)),
            rng.standard_normal(T))


def _centred(f, h=1e-6) -> float:
    """A plain second-order centred difference, f'(0) ≈ (f(h) - f(-h)) / 2h."""
    return (f(h) - f(-h)) / (2 * h)


def test_the_stencil_is_exact_for_quartics_and_of_fourth_order():
    def quartic(t):
        return 3 + 2 * t - t**2 + 0.5 * t**3 + 4 * t**4
    assert stencil_derivative(quartic, 0.1) == pytest.approx(2.0, abs=1e-12)
    errors = [abs(stencil_derivative(lambda t: np.sin(1.3 + t), eps) - np.cos(1.3))
              for eps in (0.1, 0.05)]
    assert errors[0] / errors[1] == pytest.approx(16, rel=0.05)     # halving ε: 2⁴


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_both_derivatives_agree_with_the_reference_and_its_finite_differences(variant):
    params, x, y = _run()
    trace = record(params, x, y, variant, dtype="float64")
    directions = random_directions(trace, seed=1)
    assert set(directions) == set(PARAM_NAMES)
    for v in directions.values():
        assert np.linalg.norm(v) == pytest.approx(1.0)
    found = directional_derivatives(trace, directions)
    W = params.astype(np.float64).as_dict()
    ref = reference_pass(W, x, y, variant)
    for name, v in directions.items():
        def along(t, name=name, v=v):
            return reference_pass({**W, name: W[name] + t * v}, x, y, variant)["loss"].sum()
        analytic, numeric = found[name]
        assert analytic == pytest.approx(np.sum(ref[f"{name}_diff"] * v), rel=1e-9, abs=1e-12)
        assert numeric == pytest.approx(_centred(along), rel=1e-6, abs=1e-9), name
        assert numeric == pytest.approx(analytic, rel=1e-8, abs=1e-11), name


def test_the_losss_own_arrays_are_checked_too():
    params, x, _ = _run()
    rng = np.random.default_rng(2)
    loss = ReadoutMSE(rng.standard_normal((2, 4)), rng.standard_normal(2))
    y = rng.standard_normal((x.shape[0], 2))
    trace = record(params, x, y, "standard", loss, dtype="float64")
    directions = random_directions(trace, seed=3)
    assert {"loss.wy", "loss.by"} <= set(directions)
    found = directional_derivatives(trace, directions)
    for name in ("loss.wy", "loss.by"):
        key, v = name[5:], directions[name]

        def along(t, key=key, v=v):
            moved = {"wy": loss.wy, "by": loss.by, key: getattr(loss, key) + t * v}
            return record(params, x, y, "standard", ReadoutMSE(**moved),
                          dtype="float64").total_loss
        analytic, numeric = found[name]
        assert analytic == pytest.approx(np.sum(trace.loss_grads[f"{key}_diff"] * v))
        assert numeric == pytest.approx(_centred(along), rel=1e-6, abs=1e-9)
    assert max(directional_errors(trace).values()) < 1e-7


def test_a_wrong_entry_and_the_wrong_backward_are_flagged():
    params, x, y = _run()
    trace = record(params, x, y, "seed", dtype="float64")
    assert max(directional_errors(trace).values()) < 1e-7
    wrong = np.array(trace.wf_diff)
    wrong[1, 2] += 1e-4                              # one entry of the analytic side off
    trace._arrays["wf_diff"] = wrong
    errors = directional_errors(trace)
    assert errors["wf"] > 1e-6
    assert max(e for n, e in errors.items() if n != "wf") < 1e-7
    mixed = run_stepwise(params, x, y, "seed", forward_variant="standard")
    assert max(directional_errors(mixed, "standard").values()) > 1e-3
