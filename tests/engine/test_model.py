"""The stacked model: the fast recorder against an independent per-step reference, against
the readable model driver, and against the single-layer recorder it is built from."""

import numpy as np
import pytest
from reference import reference_model_pass

from lstm_engine import (
    GRAD_NAMES,
    PARAM_NAMES,
    STEP_NAMES,
    Model,
    ReadoutCrossEntropy,
    ReadoutMSE,
    ToyLoss,
    init_uniform,
    record,
    record_model,
    run_model_stepwise,
    select_sequence,
)
from lstm_engine.model import model_forward_loss

X, V, K = 3, 6, 4
LOSSES = [("toy", "every"), ("mse", "every"), ("mse", "last"), ("xent", "every"),
          ("xent", "last")]


def make_case(layers=2, embedding=False, loss="toy", at="every", variant="seed", T=6,
              hiddens=None, seed=0, scale=0.6, last_target="one"):
    """A model, its inputs and targets, and the reference's description of the loss."""
    rng = np.random.default_rng(seed)
    hiddens = hiddens or [5, 4, 3][:layers]
    widths = [X, *hiddens]
    cells = [init_uniform(widths[n], widths[n + 1], rng, -scale, scale) for n in range(layers)]
    H = hiddens[-1]
    spec = {"name": loss, "at": at}
    if loss == "toy":
        fn, y = ToyLoss(), rng.standard_normal(T)
    else:
        wy, by = rng.normal(0, 0.7, (K, H)), rng.normal(0, 0.3, K)
        spec.update(wy=wy, by=by)
        if loss == "mse":
            fn, y = ReadoutMSE(wy, by, at), rng.standard_normal((T, K))
            if at == "last" and last_target == "one":
                y = y[-1]
        else:
            fn, y = ReadoutCrossEntropy(wy, by, at), rng.integers(0, K, T)
            if at == "last" and last_target == "one":
                y = y[-1]
    E = rng.normal(0, 0.8, (V, X)) if embedding else None
    inputs = rng.integers(0, V, T) if embedding else rng.standard_normal((T, X))
    return Model(cells, variant, fn, E), inputs, y, spec


def ref_of(model, inputs, y, spec):
    layers = [p.as_dict() for p in model.layers]
    return reference_model_pass(layers, inputs, y, model.variant, spec, model.embedding)


def close(a, b, name, rtol=1e-10, atol=1e-13):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("embedding", [False, True])
@pytest.mark.parametrize("loss,at", LOSSES)
def test_recorder_matches_the_independent_per_step_reference(variant, layers, embedding,
                                                             loss, at):
    model, inputs, y, spec = make_case(layers, embedding, loss, at, variant,
                                       seed=layers + 3 * embedding)
    trace = record_model(model, inputs, y)
    ref_layers, ref = ref_of(model, inputs, y, spec)
    assert trace.num_layers == layers
    for n, (tr, want) in enumerate(zip(trace.layers, ref_layers, strict=True)):
        for name in STEP_NAMES + GRAD_NAMES:
            close(tr[name], want[name], f"layer {n} {name}")
    close(trace.loss, ref["loss"], "loss")
    close(trace.x, ref["x"], "x")
    assert trace.total_loss == pytest.approx(ref["loss"].sum(), rel=1e-12)
    if embedding:
        close(trace.dE, ref["dE"], "dE")
    else:
        assert trace.dE is None and trace.tokens is None
    if loss == "toy":
        assert trace.outputs == {} and trace.wy_diff is None
    else:
        close(trace.wy_diff, ref["wy_diff"], "wy_diff")
        close(trace.by_diff, ref["by_diff"], "by_diff")
        z, dz = (("y_hat", "dl_dy_hat") if loss == "mse" else ("logits", "dl_dlogits"))
        close(trace.outputs[z], ref["z"], z)
        close(trace.outputs[dz], ref["dz"], dz)


def _assert_agree(fast, slow, tol):
    """Every array of every layer and of the model within ``tol`` of its own scale."""
    def within(a, b, name):
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
        assert np.max(np.abs(np.asarray(a, float) - b), initial=0.0) <= tol * scale, name

    for n, (a, b) in enumerate(zip(fast.layers, slow.layers, strict=True)):
        for name in STEP_NAMES + GRAD_NAMES:
            within(a[name], b[name], f"layer {n} {name}")
        within(a.x, b.x, f"layer {n} x")
    np.testing.assert_array_equal(fast.x, slow.x)
    within(fast.loss, slow.loss, "loss")
    for k in fast.outputs:
        within(fast.outputs[k], slow.outputs[k], k)
    for k in fast.loss_grads:
        within(fast.loss_grads[k], slow.loss_grads[k], k)
    assert (fast.dE is None) == (slow.dE is None)
    if fast.dE is not None:
        within(fast.dE, slow.dE, "dE")
    assert sorted(fast.grads()) == sorted(slow.grads())


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("embedding", [False, True])
@pytest.mark.parametrize("loss,at", LOSSES)
def test_fast_recorder_and_readable_driver_agree_to_1e_12(variant, layers, embedding, loss,
                                                           at):
    model, inputs, y, _ = make_case(layers, embedding, loss, at, variant, T=9, seed=7,
                                    scale=1.0, last_target="per step")
    _assert_agree(record_model(model, inputs, y), run_model_stepwise(model, inputs, y), 1e-12)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_long_stacked_passes_use_the_helper_blocks_and_still_agree(dtype, tol, variant):
    from lstm_engine.helper import BLOCK

    T = 2 * BLOCK + 21                      # every layer takes the threaded path
    model, inputs, y, _ = make_case(2, True, "xent", "every", variant, T=T, seed=4)
    fast = record_model(model, inputs, y, dtype=dtype)
    assert fast.dtype == dtype and all(tr.dtype == dtype for tr in fast.layers)
    _assert_agree(fast, run_model_stepwise(model, inputs, y, dtype=dtype), tol)


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("T", [5, 300])
def test_one_layer_dense_toy_model_is_exactly_todays_trace(variant, dtype, T):
    rng = np.random.default_rng(1)
    params = init_uniform(4, 6, rng, -0.5, 0.5)
    x, y = rng.standard_normal((T, 4)), rng.standard_normal(T)
    today = record(params, x, y, variant, dtype=dtype)
    trace = record_model(Model.single(params, variant), x, y, dtype=dtype)
    layer = trace.layers[0]
    for name in STEP_NAMES + GRAD_NAMES:
        assert layer[name].dtype == today[name].dtype and layer[name].shape == today[name].shape
        np.testing.assert_array_equal(layer[name], today[name], err_msg=name)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(layer.params, name), getattr(today.params, name))
    np.testing.assert_array_equal(layer.x, today.x)
    np.testing.assert_array_equal(layer.y, today.y)
    assert layer.variant == today.variant and layer.loss_config == today.loss_config
    assert trace.total_loss == today.total_loss


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_routing_holds_on_every_layer(variant):
    """top_diff_h = dl_dh + bottom_diff_h(t+1), top_diff_s = bottom_diff_s(t+1); a layer's
    dl_dh is the dxc[:, :X] of the layer above; the top layer's is the loss's share."""
    model, inputs, y, spec = make_case(3, True, "xent", "every", variant, T=8)
    trace = record_model(model, inputs, y)
    for n, tr in enumerate(trace.layers):
        carry = np.vstack([tr.bottom_diff_h[1:], np.zeros(tr.hidden)])
        np.testing.assert_array_equal(tr.top_diff_h, tr.dl_dh + carry)
        np.testing.assert_array_equal(tr.top_diff_s[:-1], tr.bottom_diff_s[1:])
        assert not tr.top_diff_s[-1].any()
        if n + 1 < trace.num_layers:
            above = trace.layers[n + 1]
            np.testing.assert_array_equal(tr.dl_dh, above.dxc[:, :above.inputs])
            np.testing.assert_array_equal(above.x, tr.h)          # layer n+1 reads h of n
    top = trace.layers[-1]
    np.testing.assert_allclose(top.dl_dh, trace.outputs["dl_dlogits"] @ model.loss.wy,
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(trace.x, model.embedding[inputs])


def test_layers_may_have_different_widths():
    model, inputs, y, spec = make_case(3, False, "mse", "every", hiddens=[7, 2, 5])
    trace = record_model(model, inputs, y)
    assert [tr.hidden for tr in trace.layers] == [7, 2, 5]
    assert [tr.inputs for tr in trace.layers] == [X, 7, 2]
    ref_layers, _ = ref_of(model, inputs, y, spec)
    for tr, want in zip(trace.layers, ref_layers, strict=True):
        for name in GRAD_NAMES + ("dxc", "dl_dh"):
            close(tr[name], want[name], name)


def test_read_out_outputs_are_what_the_read_out_computed():
    model, inputs, y, _ = make_case(2, True, "xent", "last", T=7, last_target="one")
    trace = record_model(model, inputs, y)
    h = trace.layers[-1].h
    logits = h @ model.loss.wy.T + model.loss.by
    np.testing.assert_allclose(trace.outputs["logits"], logits, rtol=1e-12)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(trace.outputs["probs"], p, rtol=1e-12)
    want = np.zeros_like(p)
    want[-1] = p[-1]
    want[-1, int(y)] -= 1.0                            # only the last step is scored
    np.testing.assert_allclose(trace.outputs["dl_dlogits"], want, rtol=1e-12, atol=1e-15)
    assert not trace.loss[:-1].any() and trace.loss[-1] == pytest.approx(-np.log(p[-1, y]))
    model, inputs, y, _ = make_case(1, False, "mse", "every")
    trace = record_model(model, inputs, y)
    y_hat = trace.layers[0].h @ model.loss.wy.T + model.loss.by
    np.testing.assert_allclose(trace.outputs["y_hat"], y_hat, rtol=1e-12)
    np.testing.assert_allclose(trace.outputs["dl_dy_hat"], 2 * (y_hat - y) / K, rtol=1e-12)


def test_embedding_gradient_sums_the_rows_of_repeated_tokens_and_leaves_others_zero():
    model, _, y, spec = make_case(2, True, "toy", T=6)
    tokens = np.array([2, 5, 2, 2, 0, 5])
    trace = record_model(model, tokens, y)
    dx = trace.layers[0].dxc[:, :X]
    np.testing.assert_allclose(trace.dE[2], dx[0] + dx[2] + dx[3], rtol=1e-14)
    np.testing.assert_allclose(trace.dE[5], dx[1] + dx[5], rtol=1e-14)
    np.testing.assert_array_equal(trace.dE[0], dx[4])
    assert not trace.dE[[1, 3, 4]].any()
    np.testing.assert_array_equal(trace.tokens, tokens)


def test_one_hot_input_is_the_identity_embedding():
    model, _, y, _ = make_case(2, False, "mse", "every", T=5)
    tokens = np.array([0, 2, 1, 1, 2])
    one_hot = np.eye(X)[tokens]
    dense = record_model(model, one_hot, y)
    emb = Model(model.layers, model.variant, model.loss, np.eye(X))
    ids = record_model(emb, tokens, y)
    for name in STEP_NAMES + GRAD_NAMES:
        np.testing.assert_array_equal(ids.layers[1][name], dense.layers[1][name])
    dx = dense.layers[0].dxc[:, :X]
    np.testing.assert_allclose(ids.dE, one_hot.T @ dx, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("tokens", [False, True])
def test_a_batch_sequence_is_recorded_alone(tokens):
    model, _, _, _ = make_case(2, tokens, "xent", "every", T=5)
    rng = np.random.default_rng(3)
    B = 4
    inputs = rng.integers(0, V, (B, 5)) if tokens else rng.standard_normal((B, 5, X))
    targets = rng.integers(0, K, (B, 5))
    one = record_model(model, inputs, targets, sequence=2)
    alone = record_model(model, inputs[2], targets[2])
    assert one.sequence == 2 and alone.sequence is None
    for name, g in alone.grads().items():
        np.testing.assert_array_equal(one.grads()[name], g, err_msg=name)
    other = record_model(model, inputs, targets, sequence=1)
    assert not np.allclose(other.grads()["L0.wi"], one.grads()["L0.wi"])
    x, y = select_sequence(inputs, targets, 3, tokens=tokens)
    np.testing.assert_array_equal(x, inputs[3])
    np.testing.assert_array_equal(y, targets[3])


def test_last_step_targets_of_a_batch_have_one_per_sequence():
    model, _, _, _ = make_case(1, True, "xent", "last", T=5)
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, V, (3, 5)), rng.integers(0, K, 3)     # (B,) targets
    trace = record_model(model, inputs, targets, sequence=1)
    assert trace.loss[-1] == pytest.approx(-np.log(trace.outputs["probs"][-1, targets[1]]))


@pytest.mark.parametrize("call,message", [
    (lambda m, i, y: record_model(m, i[None].repeat(2, 0), y), "batch of 2 sequences"),
    (lambda m, i, y: record_model(m, i[None], y[None], sequence=1), "out of range"),
    (lambda m, i, y: record_model(m, i[None], y[None], sequence=-1), "out of range"),
    (lambda m, i, y: record_model(m, i[None], y[None], sequence=0.0), "integer"),
    (lambda m, i, y: record_model(m, i[None], y[None].repeat(3, 0), sequence=0),
     "1 sequences"),
    (lambda m, i, y: record_model(m, i + 10, y), "token ids must lie in [0, 6)"),
    (lambda m, i, y: record_model(m, i.astype(float), y), "reads token ids"),
    (lambda m, i, y: record_model(m, i, y.astype(float)), "integer class targets"),
    (lambda m, i, y: record_model(m, i, y + 10), "class targets must lie in [0, 4)"),
    (lambda m, i, y: record_model(m, i, y, dtype="float16"), "float64 or float32"),
])
def test_bad_inputs_are_refused_in_one_line(call, message):
    model, inputs, y, _ = make_case(2, True, "xent", "every", T=5)
    with pytest.raises(ValueError) as info:
        call(model, inputs, y)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_dense_model_refuses_token_ids():
    model, _, y, _ = make_case(1, False, "toy", T=4)
    with pytest.raises(ValueError, match="token ids need a model with an embedding"):
        record_model(model, np.array([0, 1, 2, 1]), y)


@pytest.mark.parametrize("build,message", [
    (lambda c, E, w: Model([], "seed"), "at least one layer"),
    (lambda c, E, w: Model(c[0], "seed"), "list or tuple of Params"),
    (lambda c, E, w: Model([c[0], c[0]], "seed"), "layer 1 takes X=3 inputs but layer 0 has H=5"),
    (lambda c, E, w: Model(c, "tanh"), "unknown variant"),
    (lambda c, E, w: Model(c, "seed", object()), "no evaluate()"),
    (lambda c, E, w: Model(c, "seed", ReadoutMSE(w[:, :3], w[:, 0])), "top layer has H=4"),
    (lambda c, E, w: Model(c, "seed", ToyLoss(), E[:, :2]), "layer 0 takes X=3"),
    (lambda c, E, w: Model(c, "seed", ToyLoss(), E.astype(np.float32)), "is float32"),
    (lambda c, E, w: Model(c, "seed", ToyLoss(), E * np.nan), "NaN"),
    (lambda c, E, w: Model([c[0], c[1].astype(np.float32)], "seed"), "one dtype"),
])
def test_inconsistent_models_are_refused_in_one_line(build, message):
    model, _, _, _ = make_case(2, True, "xent", "every")
    cells, E = list(model.layers), model.embedding
    with pytest.raises(ValueError) as info:
        build(cells, E, model.loss.wy)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_trace_is_read_only_and_keeps_its_own_copy():
    model, inputs, y, _ = make_case(2, True, "mse", "every")
    trace = record_model(model, inputs, y)
    before = trace.layers[1].params.wi.copy()
    model.layers[1].wi[...] += 1.0                       # the caller updates its model
    np.testing.assert_array_equal(trace.layers[1].params.wi, before)
    np.testing.assert_array_equal(trace.model.layers[1].wi, before)
    for a in (trace.dE, trace.x, trace.loss, trace.outputs["y_hat"], trace.wy_diff,
              trace.layers[0].dl_dh, trace.model.embedding, trace.model.loss.wy):
        with pytest.raises(ValueError):
            a[...] = 0


def test_grads_and_arrays_share_flat_names_and_shapes():
    model, inputs, y, _ = make_case(3, True, "xent", "every")
    trace = record_model(model, inputs, y)
    arrays, grads = model.arrays(), trace.grads()
    assert list(arrays) == list(grads)
    assert list(arrays)[:2] == ["L0.wg", "L0.wi"] and list(arrays)[-3:] == [
        "embedding", "loss.wy", "loss.by"]
    for k in arrays:
        assert arrays[k].shape == grads[k].shape, k
    stepped = model.with_arrays({k: a - 0.1 * grads[k] for k, a in arrays.items()})
    np.testing.assert_allclose(stepped.layers[2].bo,
                               model.layers[2].bo - 0.1 * trace.layers[2].bo_diff)
    assert stepped.variant == model.variant and stepped.loss.at == model.loss.at
    assert model_forward_loss(model, inputs, y) == pytest.approx(trace.total_loss, rel=1e-14)


def test_the_trace_in_memory_is_no_more_than_its_payload():
    model, inputs, y, _ = make_case(2, True, "xent", "every", T=300)
    trace = record_model(model, inputs, y)
    assert 0 < trace.nbytes <= 1.1 * trace.payload_nbytes


def test_float32_model_records_in_float32_and_describes_itself():
    model, inputs, y, _ = make_case(2, True, "xent", "last")
    m32 = model.astype("float32")
    assert m32.dtype == np.float32 and m32.embedding.dtype == np.float32
    assert m32.loss.wy.dtype == np.float32
    trace = record_model(m32, inputs, y)
    assert all(tr.dtype == np.float32 for tr in trace.layers) and trace.dE.dtype == np.float32
    assert model.describe() == ("2 layers (X=3 → H=5 → H=4), token ids through an embedding "
                                "6×3, xent read-out K=4 at the last step, variant seed, float64")
