"""Optimisers against updates computed by hand on two-entry arrays."""

import math

import numpy as np
import pytest

from lstm_engine.init import init_orthogonal, init_xavier, make_params, orthogonal_matrix
from lstm_engine.optim import (
    SGD,
    Adam,
    clip_by_global_norm,
    global_norm,
    grad_norms,
    make_optimizer,
)

W0 = {"w": np.array([1.0, -2.0])}
G1 = {"w": np.array([0.5, 0.25])}
G2 = {"w": np.array([1.0, 0.0])}


def _two_steps(opt):
    state = opt.init_state(W0)
    w1, state = opt.update(W0, G1, state)
    w2, state = opt.update(w1, G2, state)
    return w1["w"], w2["w"], state


def test_sgd_is_the_seeds_rule():
    w1, w2, state = _two_steps(SGD(lr=0.1))
    np.testing.assert_allclose(w1, [1.0 - 0.05, -2.0 - 0.025], rtol=0, atol=1e-15)
    np.testing.assert_allclose(w2, [0.95 - 0.1, -2.025 - 0.0], rtol=0, atol=1e-15)
    assert state["step"] == 2


def test_sgd_with_momentum():
    # v1 = g1 = [0.5, 0.25]; v2 = 0.9 v1 + g2 = [1.45, 0.225]
    w1, w2, state = _two_steps(SGD(lr=0.1, momentum=0.9))
    np.testing.assert_allclose(w1, [0.95, -2.025], rtol=0, atol=1e-15)
    np.testing.assert_allclose(w2, [0.95 - 0.145, -2.025 - 0.0225], rtol=0, atol=1e-15)
    np.testing.assert_allclose(state["velocity"]["w"], [1.45, 0.225], rtol=0, atol=1e-15)


def test_adam():
    w1, w2, state = _two_steps(Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8))
    # Step 1: m = 0.1 g, v = 0.001 g^2; bias-corrected m_hat = g, v_hat = g^2, so each
    # entry moves by lr * g / (|g| + eps): almost exactly lr against the gradient's sign.
    np.testing.assert_allclose(w1, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8),
                                    -2.0 - 0.1 * 0.25 / (0.25 + 1e-8)], rtol=0, atol=1e-15)
    # Step 2, entry 0: m = 0.9*0.05 + 0.1*1 = 0.145, v = 0.999*0.00025 + 0.001*1 = 0.00124975
    #         entry 1: m = 0.9*0.025 = 0.0225,     v = 0.999*0.0000625 = 0.0000624375
    c1, c2 = 1 - 0.9**2, 1 - 0.999**2
    step0 = 0.1 * (0.145 / c1) / (math.sqrt(0.00124975 / c2) + 1e-8)
    step1 = 0.1 * (0.0225 / c1) / (math.sqrt(0.0000624375 / c2) + 1e-8)
    np.testing.assert_allclose(w2, [w1[0] - step0, w1[1] - step1], rtol=1e-12)
    np.testing.assert_allclose(state["m"]["w"], [0.145, 0.0225], rtol=1e-12)
    np.testing.assert_allclose(state["v"]["w"], [0.00124975, 0.0000624375], rtol=1e-12)


@pytest.mark.parametrize("opt", [SGD(0.1), SGD(0.1, 0.9), Adam(0.1)])
def test_updates_never_write_into_their_arguments(opt):
    params = {"w": np.array([1.0, -2.0]), "b": np.array([3.0])}
    grads = {"w": np.array([0.5, 0.25]), "b": np.array([-1.0])}
    state = opt.init_state(params)
    keep = ({k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in grads.items()})
    new, new_state = opt.update(params, grads, state)
    for before, after in zip(keep, (params, grads), strict=True):
        for k in before:
            np.testing.assert_array_equal(before[k], after[k])
    assert state["step"] == 0 and new_state["step"] == 1
    assert new["b"][0] != 3.0


def test_clipping_scales_to_the_norm_and_reports_the_norm_before():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}
    assert grad_norms(grads) == {"a": 3.0, "b": 4.0}
    assert global_norm(grad_norms(grads)) == 5.0
    clipped, norm, did = clip_by_global_norm(grads, 1.0)
    assert norm == 5.0 and did
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.0], [0.8]])
    same, norm, did = clip_by_global_norm(grads, 10.0)
    assert norm == 5.0 and not did and same is grads
    # Exploding but finite gradients keep a finite norm (squaring 4e200 would overflow).
    huge = {"a": np.array([3e200]), "b": np.array([4e200])}
    assert global_norm(grad_norms(huge)) == pytest.approx(5e200, rel=1e-15)
    assert math.isnan(grad_norms({"a": np.array([np.nan, 1.0])})["a"])


def test_make_optimizer_and_bad_settings():
    assert isinstance(make_optimizer("sgd"), SGD) and make_optimizer("sgd").momentum == 0
    assert make_optimizer("momentum", 0.2).momentum == 0.9
    assert make_optimizer("adam", 0.003).lr == 0.003
    for bad in (lambda: make_optimizer("rmsprop"), lambda: SGD(lr=0),
                lambda: SGD(0.1, momentum=1.0), lambda: Adam(beta1=1.0),
                lambda: clip_by_global_norm(G1, 0.0)):
        with pytest.raises(ValueError):
            bad()


# ---- initialisations ----------------------------------------------------------------

def test_orthogonal_matrix_is_orthogonal_and_seeded():
    q = orthogonal_matrix(6, np.random.default_rng(0))
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-12)
    np.testing.assert_array_equal(q, orthogonal_matrix(6, np.random.default_rng(0)))


def test_orthogonal_init_has_orthogonal_recurrent_blocks():
    p = init_orthogonal(3, 5, np.random.default_rng(1))
    for name in ("wg", "wi", "wf", "wo"):
        wh = getattr(p, name)[:, 3:]
        np.testing.assert_allclose(wh.T @ wh, np.eye(5), atol=1e-12)
        assert np.abs(getattr(p, name)[:, :3]).max() <= math.sqrt(6 / (3 + 5))
    assert not np.array_equal(p.wg, p.wi)
    assert all(np.all(getattr(p, b) == 0) for b in ("bg", "bi", "bf", "bo"))


def test_xavier_bound_and_forget_bias():
    p = init_xavier(4, 6, np.random.default_rng(2))
    bound = math.sqrt(6 / (10 + 6))
    assert np.abs(p.wf).max() <= bound and np.abs(p.wf).max() > 0.8 * bound
    q = make_params("xavier", 4, 6, np.random.default_rng(2), forget_bias=1.0)
    np.testing.assert_array_equal(q.wf, p.wf)               # same draw, only bf changed
    assert np.all(q.bf == 1.0) and np.all(q.bi == 0.0)
    u = make_params("uniform", 4, 6, np.random.default_rng(3), dtype="float32")
    assert u.dtype == np.float32 and np.abs(u.wg).max() < 0.1
    with pytest.raises(ValueError, match="unknown initialisation"):
        make_params("he", 4, 6, np.random.default_rng(0))
