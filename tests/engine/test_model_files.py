"""Files of whole models: parameters and traces of format 2, format 1 still read, the
views a trace stores once, and the app's one-cell reader refusing a stacked trace."""

import json
import zipfile

import numpy as np
import pytest

from lstm_engine import (
    GRAD_NAMES,
    STEP_NAMES,
    Model,
    ReadoutCrossEntropy,
    ReadoutMSE,
    ToyLoss,
    init_uniform,
    io,
    record,
    record_model,
)
from lstm_engine.errors import UserError
from lstm_engine.io import load_model, load_model_trace, save_model_params, save_model_trace
from lstm_engine.model_arrays import fits_version_1, model_trace_arrays

V, X, K, T = 7, 3, 4, 6


def make_model(layers=2, embedding=False, loss="toy", at="every", variant="seed",
               dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    widths = [X, 5, 4, 3][: layers + 1]
    cells = [init_uniform(widths[n], widths[n + 1], rng, -0.6, 0.6, dtype=dtype)
             for n in range(layers)]
    H = widths[layers]
    if loss == "toy":
        fn = ToyLoss()
    else:
        cls = ReadoutMSE if loss == "mse" else ReadoutCrossEntropy
        fn = cls(rng.normal(0, 0.7, (K, H)).astype(dtype), rng.normal(0, 0.3, K).astype(dtype),
                 at)
    E = rng.normal(0, 0.8, (V, X)).astype(dtype) if embedding else None
    return Model(cells, variant, fn, E)


def make_data(model, B=None, seed=1, T=T):
    """Inputs and targets for the model: one sequence, or a batch of B."""
    rng = np.random.default_rng(seed)
    lead = () if B is None else (B,)
    if model.embedding is not None:
        x = rng.integers(0, V, (*lead, T))
    else:
        x = rng.standard_normal((*lead, T, X))
    name = model.loss_name
    if name == "toy":
        y = rng.standard_normal((*lead, T))
    elif name == "mse":
        y = rng.standard_normal((*lead, T, K))
    else:
        y = rng.integers(0, K, (*lead, T))
    return x, y


def same_trace(a, b):
    """Every recorded array of every layer, the read-out's, dE and the model: equal."""
    assert a.num_layers == b.num_layers and a.variant == b.variant
    assert a.loss_name == b.loss_name and a.sequence == b.sequence and a.batch == b.batch
    for n, (la, lb) in enumerate(zip(a.layers, b.layers, strict=True)):
        for name in STEP_NAMES + GRAD_NAMES:
            np.testing.assert_array_equal(la[name], lb[name], err_msg=f"layer {n} {name}")
        np.testing.assert_array_equal(la.x, lb.x)
    for name in ("x", "y", "loss"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.outputs.keys() == b.outputs.keys()
    for k in a.outputs:
        np.testing.assert_array_equal(a.outputs[k], b.outputs[k], err_msg=k)
    ga, gb = a.grads(), b.grads()
    assert ga.keys() == gb.keys()
    for k in ga:
        np.testing.assert_array_equal(ga[k], gb[k], err_msg=k)
    ma, mb = a.model.arrays(), b.model.arrays()
    assert ma.keys() == mb.keys()
    for k in ma:
        np.testing.assert_array_equal(ma[k], mb[k], err_msg=k)
    if a.tokens is None:
        assert b.tokens is None
    else:
        np.testing.assert_array_equal(a.tokens, b.tokens)


def refused(call, path, *words):
    with pytest.raises(UserError) as info:
        call(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for w in words:
        assert w in message, message
    return message


# ---- parameters -------------------------------------------------------------------------

@pytest.mark.parametrize("layers,embedding,loss,at,variant,dtype", [
    (1, False, "toy", "every", "seed", "float64"),
    (2, True, "xent", "last", "standard", "float64"),
    (3, False, "mse", "every", "seed", "float32"),
])
def test_parameters_of_format_2_round_trip_with_variant_loss_and_embedding(
        tmp_path, layers, embedding, loss, at, variant, dtype):
    model = make_model(layers, embedding, loss, at, variant, dtype)
    save_model_params(tmp_path / "p.npz", model)
    back = load_model(tmp_path / "p.npz")
    assert (back.kind, back.version, back.variant_known) == ("parameters", 2, True)
    m = back.model
    assert m.variant == variant and m.loss_name == loss and m.num_layers == layers
    assert m.dtype == np.dtype(dtype) and m.vocab == (V if embedding else None)
    if loss != "toy":
        assert m.loss.at == at
    assert m.arrays().keys() == model.arrays().keys()
    for k, v in model.arrays().items():
        np.testing.assert_array_equal(m.arrays()[k], v, err_msg=k)
    with np.load(tmp_path / "p.npz") as f:
        meta = json.loads(str(f["meta"]))
    assert meta["format"] == "lstm-viz-params" and meta["version"] == 2
    assert meta["hidden"] == list(model.hiddens) and meta["layers"] == layers


def test_format_1_parameters_are_one_cell_whose_variant_the_command_line_chooses(tmp_path):
    p = make_model(1).layers[0]
    io.save_params(tmp_path / "p.npz", p)
    back = load_model(tmp_path / "p.npz")
    assert (back.kind, back.version, back.variant_known) == ("parameters", 1, False)
    assert back.model_for().variant == "seed"                   # the default, as ever
    m = back.model_for("standard")
    assert m.variant == "standard" and m.loss_name == "toy"
    np.testing.assert_array_equal(m.layers[0].wg, p.wg)
    assert io.load_params(tmp_path / "p.npz").hidden == p.hidden


@pytest.mark.parametrize("kind", ["params v2", "trace v1", "trace v2", "run v1"])
def test_a_variant_the_file_contradicts_is_refused_in_one_line(tmp_path, kind):
    path = tmp_path / "f.npz"
    if kind == "params v2":
        save_model_params(path, make_model(2, variant="standard"))
    elif kind == "trace v1":
        m = make_model(1, variant="standard")
        save_model_trace(path, record_model(m, *make_data(m)))
    elif kind == "trace v2":
        m = make_model(2, variant="standard")
        save_model_trace(path, record_model(m, *make_data(m)))
    else:
        from lstm_engine.training import History, TrainConfig, build_trainer, save_run
        trainer, config = build_trainer(TrainConfig(task="sine", variant="standard",
                                                    iterations=1))
        save_run(path, trainer, config, History())
    source = load_model(path)
    assert source.variant_known and source.model.variant == "standard"
    assert source.model_for("standard").variant == "standard"
    with pytest.raises(UserError) as info:
        source.model_for("seed")
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "standard variant" in message and "--variant seed contradicts" in message


def test_a_loss_the_file_has_no_read_out_for_is_refused_and_at_needs_a_read_out(tmp_path):
    save_model_params(tmp_path / "p.npz", make_model(2))
    source = load_model(tmp_path / "p.npz")
    with pytest.raises(UserError, match="no read-out"):
        source.model_for(loss="xent")
    with pytest.raises(UserError, match="--at needs a read-out loss"):
        source.model_for(at="last")
    save_model_params(tmp_path / "q.npz", make_model(2, loss="xent"))
    q = load_model(tmp_path / "q.npz")
    assert q.model_for().loss_name == "xent" and q.model_for().loss.at == "every"
    mse = q.model_for(loss="mse", at="last")                 # the same read-out, scored anew
    assert mse.loss_name == "mse" and mse.loss.at == "last"
    np.testing.assert_array_equal(mse.loss.wy, q.model.loss.wy)
    assert q.model_for(loss="toy").loss_name == "toy"


@pytest.mark.parametrize("change,words", [
    (lambda a, m: a.pop("L1.wg"), ["layer 1", "missing parameter arrays: wg"]),
    (lambda a, m: a.update({"L1.bo": a["L1.bo"][:2]}), ["layer 1", "bo has shape"]),
    (lambda a, m: m.update(hidden=[5, 9]), ["layer 1 has X=5, H=4"]),
    (lambda a, m: m.update(layers=3, hidden=[5, 4, 4]), ["layer 2", "missing"]),
    (lambda a, m: m.update(variant="lstm"), ["no valid variant"]),
    (lambda a, m: m.update(loss={"name": "xent"}), ["loss.wy is missing"]),
    (lambda a, m: m.update(vocab=3), ["embedding must have shape (3, 3)"]),
    (lambda a, m: m.update(version=3), ["newer lstm-viz"]),
    (lambda a, m: m.update(outputs=9), ["'meta' says 9 outputs, the read-out has None"]),
    (lambda a, m: a.update({"L0.wi": a["L0.wi"].astype(np.int64)}), ["'L0.wi' has dtype int64"]),
    (lambda a, m: a["embedding"].__setitem__((0, 0), np.nan), ["embedding contains NaN"]),
])
def test_damaged_parameters_of_format_2_are_refused_in_one_line(tmp_path, change, words):
    save_model_params(tmp_path / "p.npz", make_model(2, embedding=True))
    arrays = io.read_npz(tmp_path / "p.npz", kinds={"meta": "U"})
    meta = json.loads(str(arrays["meta"]))
    change(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    io.save_npz_atomic(tmp_path / "p.npz", arrays)
    refused(load_model, tmp_path / "p.npz", *words)


# ---- traces -----------------------------------------------------------------------------

CASES = [   # layers, embedding, loss, at, variant, dtype, batch
    (2, False, "toy", "every", "seed", "float64", None),
    (1, False, "mse", "every", "standard", "float64", None),
    (3, True, "xent", "last", "standard", "float32", 5),
    (2, True, "mse", "every", "seed", "float64", 4),
]


@pytest.mark.parametrize("layers,embedding,loss,at,variant,dtype,B", CASES)
def test_a_trace_of_format_2_round_trips_every_array_of_every_layer(
        tmp_path, layers, embedding, loss, at, variant, dtype, B):
    model = make_model(layers, embedding, loss, at, variant, dtype)
    x, y = make_data(model, B)
    trace = record_model(model, x, y, sequence=None if B is None else B - 2)
    assert not fits_version_1(trace)
    save_model_trace(tmp_path / "t.npz", trace)
    back = load_model_trace(tmp_path / "t.npz")
    same_trace(trace, back)
    assert back.batch == B and back.sequence == (None if B is None else B - 2)


def test_views_are_stored_once_and_rebuilt_as_views(tmp_path):
    model = make_model(3, embedding=True, loss="xent")
    trace = record_model(model, *make_data(model))
    stored = model_trace_arrays(trace)
    for n in range(3):
        assert f"L{n}.xc" not in stored and f"L{n}.bottom_diff_h" not in stored
        assert (f"L{n}.dl_dh" in stored) == (n == 2)             # the loss's share only
    assert "x" not in stored and "tokens" in stored               # x = E[tokens]
    save_model_trace(tmp_path / "t.npz", trace)
    back = load_model_trace(tmp_path / "t.npz")
    for n, tr in enumerate(back.layers):
        X_n = tr.params.inputs
        assert np.shares_memory(tr.h, tr.xc) and np.shares_memory(tr.bottom_diff_h, tr.dxc)
        np.testing.assert_array_equal(tr.xc[1:, X_n:], tr.h[:-1])
        if n:
            assert np.shares_memory(tr.x, back.layers[n - 1].h)
        if n < 2:
            assert np.shares_memory(tr.dl_dh, back.layers[n + 1].dxc)
    assert back.nbytes <= 1.1 * back.payload_nbytes


@pytest.mark.parametrize("layers,embedding,loss,at,variant,dtype,B", CASES)
def test_a_trace_file_is_at_most_1_1_times_its_arrays_payload(
        tmp_path, layers, embedding, loss, at, variant, dtype, B):
    model = make_model(layers, embedding, loss, at, variant, dtype)
    x, y = make_data(model, B, T=240)    # the archive's headers are small beside it
    trace = record_model(model, x, y, sequence=None if B is None else 1)
    save_model_trace(tmp_path / "t.npz", trace)
    size = (tmp_path / "t.npz").stat().st_size
    assert size <= 1.1 * trace.payload_nbytes, (size, trace.payload_nbytes)
    assert trace.nbytes <= 1.1 * trace.payload_nbytes


def test_a_pass_format_1_holds_is_written_as_before_and_read_as_a_one_layer_model(tmp_path):
    model = make_model(1, variant="standard")
    x, y = make_data(model)
    trace = record_model(model, x, y)
    assert fits_version_1(trace)
    save_model_trace(tmp_path / "new.npz", trace)
    io.save_trace(tmp_path / "old.npz", record(model.layers[0], x, y, "standard"))
    assert (tmp_path / "new.npz").read_bytes() == (tmp_path / "old.npz").read_bytes()
    back = load_model_trace(tmp_path / "old.npz")
    same_trace(trace, back)
    assert io.load_trace(tmp_path / "new.npz").variant == "standard"


def test_a_format_1_trace_with_a_read_out_gets_its_outputs_computed_again(tmp_path):
    model = make_model(1, loss="xent")
    x, y = make_data(model)
    trace = record_model(model, x, y)
    io.save_trace(tmp_path / "t.npz", trace.layers[0])           # what the app saves
    back = load_model_trace(tmp_path / "t.npz")
    assert back.outputs.keys() == {"logits", "probs", "dl_dlogits"}
    for k, v in trace.outputs.items():
        np.testing.assert_array_equal(back.outputs[k], v, err_msg=k)


@pytest.mark.parametrize("layers,embedding,words", [
    (2, False, "a 2-layer model"),
    (1, True, "an embedding (token ids)"),
])
def test_the_apps_one_cell_reader_refuses_a_stacked_trace_before_reading_it(
        tmp_path, monkeypatch, layers, embedding, words):
    model = make_model(layers, embedding)
    save_model_trace(tmp_path / "t.npz", record_model(model, *make_data(model)))
    reads = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda fp, **kw: reads.append(1) or real(fp, **kw))
    message = refused(io.load_trace, tmp_path / "t.npz", words,
                      "this version of the app opens one-layer traces")
    assert len(reads) == 1                                        # meta alone
    assert "lstm-engine info" in message


def test_the_apps_reader_opens_a_one_layer_trace_of_format_2(tmp_path):
    model = make_model(1, loss="mse", variant="standard")
    x, y = make_data(model, B=3)
    trace = record_model(model, x, y, sequence=2)
    save_model_trace(tmp_path / "t.npz", trace)
    cell = io.load_trace(tmp_path / "t.npz")
    assert cell.loss_name == "mse" and cell.variant == "standard"
    for name in STEP_NAMES + GRAD_NAMES:
        np.testing.assert_array_equal(cell[name], trace.layers[0][name], err_msg=name)


def test_other_files_given_as_traces_are_named_for_what_they_are(tmp_path):
    save_model_params(tmp_path / "p.npz", make_model(2))
    for load in (io.load_trace, load_model_trace):
        refused(load, tmp_path / "p.npz", "a parameters file, not a trace")
    from lstm_engine.training import History, TrainConfig, build_trainer, save_run
    trainer, config = build_trainer(TrainConfig(task="sine", iterations=1))
    save_run(tmp_path / "run.npz", trainer, config, History())
    refused(io.load_trace, tmp_path / "run.npz", "a training run", "lstm-engine info")


def _rewrite(path, change):
    arrays = io.read_npz(path, kinds={"meta": "U"})
    meta = json.loads(str(arrays["meta"]))
    change(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    io.save_npz_atomic(path, arrays)


@pytest.mark.parametrize("change,words", [
    (lambda a, m: a.pop("L1.ds"), ["missing recorded array 'L1.ds'"]),
    (lambda a, m: a.update({"L0.dxc": a["L0.dxc"][:, :-1]}), ["'L0.dxc' has shape"]),
    (lambda a, m: a.update({"L1.h": a["L1.h"].astype(np.float32)}), ["'L1.h' has dtype"]),
    (lambda a, m: a.update({"out.probs": a["out.probs"][:-1]}), ["'out.probs' has shape"]),
    (lambda a, m: a.pop("embedding_diff"), ["'embedding_diff'"]),
    (lambda a, m: a.update(tokens=a["tokens"] + V), ["token ids must lie in [0, 7)"]),
    (lambda a, m: a.update(tokens=a["tokens"].astype(float)), ["'tokens' must be integer"]),
    (lambda a, m: a.update(y=a["y"] + K), ["class targets must lie in [0, 4)"]),
    (lambda a, m: m.update(steps=T + 1), ["'tokens' must be integer token ids of shape (7,)"]),
    (lambda a, m: m.update(sequence=4, batch=4), ["sequence 4 of a batch of 4"]),
    (lambda a, m: m.update(sequence=True), ["lacks a valid 'sequence'"]),
    (lambda a, m: m.update(layers=1, hidden=[5]), ["read-out's wy has shape (4, 4)"]),
])
def test_damaged_traces_of_format_2_are_refused_in_one_line(tmp_path, change, words):
    model = make_model(2, embedding=True, loss="xent")
    x, y = make_data(model, B=3)
    save_model_trace(tmp_path / "t.npz", record_model(model, x, y, sequence=1))
    _rewrite(tmp_path / "t.npz", change)
    refused(load_model_trace, tmp_path / "t.npz", *words)


def test_recorded_nan_is_kept_in_a_trace_of_format_2(tmp_path):
    model = make_model(2, loss="mse")
    save_model_trace(tmp_path / "t.npz", record_model(model, *make_data(model)))
    _rewrite(tmp_path / "t.npz", lambda a, m: a["L0.ds"].__setitem__((2, 1), np.inf))
    assert np.isinf(load_model_trace(tmp_path / "t.npz").layers[0].ds[2, 1])


def test_truncated_or_flipped_traces_of_format_2_are_refused_or_valid(tmp_path):
    model = make_model(2, embedding=True, loss="xent")
    save_model_trace(tmp_path / "t.npz", record_model(model, *make_data(model)))
    raw = (tmp_path / "t.npz").read_bytes()
    rng = np.random.default_rng(0)
    for cut in rng.integers(0, len(raw), 25):
        (tmp_path / "cut.npz").write_bytes(raw[:cut])
        refused(load_model_trace, tmp_path / "cut.npz")
    for _ in range(40):
        flipped = bytearray(raw)
        for pos in rng.integers(0, len(raw), 4):
            flipped[pos] = int(rng.integers(0, 256))
        (tmp_path / "flip.npz").write_bytes(bytes(flipped))
        try:
            back = load_model_trace(tmp_path / "flip.npz")
        except UserError as err:
            assert "\n" not in str(err) and "flip.npz" in str(err)
        else:                               # a flip the format cannot see (zip padding)
            assert back.layers[1].ds.shape == (T, 4)


def test_members_of_a_trace_are_all_arrays(tmp_path):
    model = make_model(2)
    save_model_trace(tmp_path / "t.npz", record_model(model, *make_data(model)))
    with zipfile.ZipFile(tmp_path / "t.npz") as zf:
        names = {n[:-4] for n in zf.namelist()}
    assert {"meta", "x", "y", "loss", "L0.h", "L1.dl_dh", "L0.wg_diff", "L1.bo"} <= names
