"""The read-out losses: values by hand, gradients by finite differences, targets validated."""

import numpy as np
import pytest

from lstm_engine import PARAM_NAMES, init_uniform, record
from lstm_engine.gradcheck import gradient_check
from lstm_engine.losses import LOSSES, ReadoutCrossEntropy, ReadoutMSE, ToyLoss, make_loss

X, H, T, K = 3, 4, 6, 3


def _case(loss_name: str, at: str, seed: int = 5):
    rng = np.random.default_rng(seed)
    params = init_uniform(X, H, rng, -0.6, 0.6)
    x = rng.standard_normal((T, X))
    if loss_name == "toy":
        return params, x, rng.standard_normal(T), ToyLoss()
    wy, by = rng.normal(0, 0.7, (K, H)), rng.normal(0, 0.3, K)
    if loss_name == "mse":
        y = rng.standard_normal((T, K)) if at == "every" else rng.standard_normal(K)
        return params, x, y, ReadoutMSE(wy, by, at)
    y = rng.integers(0, K, T) if at == "every" else np.int64(rng.integers(0, K))
    return params, x, np.asarray(y), ReadoutCrossEntropy(wy, by, at)


CASES = [("toy", "every"), ("mse", "every"), ("mse", "last"), ("xent", "every"),
         ("xent", "last")]


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("loss_name,at", CASES)
def test_every_loss_and_its_readout_pass_the_gradient_check(variant, loss_name, at):
    params, x, y, loss = _case(loss_name, at)
    result = gradient_check(params, x, y, variant, loss)
    expected = set(PARAM_NAMES) | {f"loss.{k}" for k in loss.params()}
    assert set(result.arrays) == expected
    for name, check in result.arrays.items():
        assert check.checked == check.analytic.size            # every entry at this size
        assert check.max_error < 1e-6, (name, check.max_error)
    if loss_name != "toy":
        # The read-out's gradients are really there, not zeros passing trivially.
        trace = record(params, x, y, variant, loss)
        assert set(trace.loss_grads) == {"wy_diff", "by_diff"}
        assert np.abs(trace.loss_grads["wy_diff"]).max() > 1e-3


def test_mse_values_by_hand():
    # wy = 0, so y_hat = by = [1, 2] at every step; targets [0, 0] and [1, 0].
    loss = ReadoutMSE(np.zeros((2, 3)), np.array([1.0, 2.0]), "every")
    h = np.ones((2, 3))
    out = loss.evaluate(h, np.array([[0.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(out.loss, [(1 + 4) / 2, (0 + 4) / 2])
    # dl/dh = Wy^T (2 (y_hat - y) / K) = 0 since Wy = 0; the bias gradient is the sum.
    np.testing.assert_allclose(out.dl_dh, 0.0)
    np.testing.assert_allclose(out.param_grads["by_diff"], [1 + 0, 2 + 2])
    np.testing.assert_allclose(out.param_grads["wy_diff"], [[1, 1, 1], [4, 4, 4]])


def test_cross_entropy_values_by_hand():
    # Logits log(1), log(2), log(3): probabilities 1/6, 2/6, 3/6.
    loss = ReadoutCrossEntropy(np.zeros((3, 2)), np.log([1.0, 2.0, 3.0]), "every")
    out = loss.evaluate(np.zeros((2, 2)), np.array([0, 2]))
    np.testing.assert_allclose(out.loss, [np.log(6), np.log(2)])
    np.testing.assert_allclose(out.param_grads["by_diff"],
                               [1 / 6 - 1 + 1 / 6, 2 / 6 + 2 / 6, 3 / 6 + 3 / 6 - 1])
    np.testing.assert_allclose(loss.predict(np.zeros((1, 2))), [[1 / 6, 2 / 6, 3 / 6]])


def test_cross_entropy_is_stable_for_huge_logits():
    loss = ReadoutCrossEntropy(np.array([[1000.0], [-1000.0]]), np.zeros(2), "every")
    out = loss.evaluate(np.ones((1, 1)), np.array([1]))
    assert np.isfinite(out.loss).all() and np.isfinite(out.dl_dh).all()
    np.testing.assert_allclose(out.loss, [2000.0])


@pytest.mark.parametrize("cls", [ReadoutMSE, ReadoutCrossEntropy])
def test_last_step_loss_touches_only_the_last_step(cls):
    rng = np.random.default_rng(0)
    loss = cls(rng.standard_normal((2, 3)), rng.standard_normal(2), "last")
    h = rng.standard_normal((5, 3))
    y = np.array([0.5, -1.0]) if cls is ReadoutMSE else np.array(1)
    out = loss.evaluate(h, y)
    assert np.all(out.loss[:-1] == 0) and out.loss[-1] > 0
    assert np.all(out.dl_dh[:-1] == 0) and np.any(out.dl_dh[-1] != 0)
    # A full sequence of targets works too: only its last entry counts.
    full = np.tile(y, (5, 1)) if cls is ReadoutMSE else np.array([0, 0, 0, 0, 1])
    np.testing.assert_array_equal(loss.evaluate(h, full).loss, out.loss)


def test_config_and_params_rebuild_the_same_loss():
    rng = np.random.default_rng(1)
    for cls in (ReadoutMSE, ReadoutCrossEntropy):
        loss = cls.create(4, 3, rng, at="last")
        again = make_loss(loss.config(), loss.params())
        assert type(again) is cls and again.at == "last"
        np.testing.assert_array_equal(again.wy, loss.wy)
        np.testing.assert_array_equal(again.by, loss.by)
    assert set(LOSSES) >= {"toy", "mse", "xent"}


@pytest.mark.parametrize("loss,y,message", [
    (ReadoutMSE(np.zeros((2, 3)), np.zeros(2)), np.zeros((4, 3)), "shape (4, 2)"),
    (ReadoutMSE(np.zeros((2, 3)), np.zeros(2), "last"), np.zeros(3), "(2,) or (4, 2)"),
    (ReadoutMSE(np.zeros((1, 3)), np.zeros(1)), np.full((4, 1), np.nan), "NaN"),
    (ReadoutCrossEntropy(np.zeros((2, 3)), np.zeros(2)), np.zeros(4), "integer"),
    (ReadoutCrossEntropy(np.zeros((2, 3)), np.zeros(2)), np.array([0, 1, 2, 0]), "[0, 2)"),
])
def test_bad_targets_get_a_one_line_error(loss, y, message):
    with pytest.raises(ValueError, match=None) as info:
        loss.check_targets(y, 4)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_readout_parameters_are_refused():
    with pytest.raises(ValueError, match="by must have shape"):
        ReadoutMSE(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="unknown loss position"):
        ReadoutMSE(np.zeros((2, 3)), np.zeros(2), "first")
    with pytest.raises(ValueError, match="NaN"):
        ReadoutMSE(np.full((2, 3), np.inf), np.zeros(2))


def test_float32_run_keeps_float32_gradients():
    params, x, y, loss = _case("xent", "every")
    trace = record(params, x, y, "standard", loss, dtype="float32")
    assert trace.loss_grads["wy_diff"].dtype == np.float32
    ref = record(params, x, y, "standard", loss)
    np.testing.assert_allclose(trace.loss_grads["wy_diff"], ref.loss_grads["wy_diff"],
                               rtol=1e-4, atol=1e-5)
