"""The command line with whole models: record (loss, variant and batches), gradcheck of
every layer, info of every file, import-torch and export-torch of whole models."""

import numpy as np
import pytest

from lstm_engine import (
    Model,
    ReadoutCrossEntropy,
    ReadoutMSE,
    init_uniform,
    io,
    record,
    record_model,
)
from lstm_engine.cli import build_parser, main
from lstm_engine.io import load_model, load_model_trace, save_model_params
from lstm_engine.torch_io import model_from_torch_state, model_to_torch_state

V, X, K, T, B = 9, 3, 4, 7, 5


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv, words=()):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("lstm-engine: error:"), err
    for w in words:
        assert w in err, err
    return err


def stack(loss="xent", at="every", variant="standard", embedding=True, layers=2, seed=0,
          widths=(X, 6, 5, 4)):
    rng = np.random.default_rng(seed)
    widths = widths[: layers + 1]
    cells = [init_uniform(widths[n], widths[n + 1], rng, -0.5, 0.5) for n in range(layers)]
    H = widths[layers]
    fn = None
    if loss != "toy":
        cls = ReadoutCrossEntropy if loss == "xent" else ReadoutMSE
        fn = cls(rng.normal(0, 0.6, (K, H)), rng.normal(0, 0.2, K), at)
    E = rng.normal(0, 0.7, (V, X)) if embedding else None
    return Model(cells, variant, fn, E) if fn else Model(cells, variant, embedding=E)


@pytest.fixture
def files(tmp_path):
    """A 2-layer character model (embedding, xent read-out) and a batch for it."""
    rng = np.random.default_rng(3)
    model = stack()
    save_model_params(tmp_path / "p.npz", model)
    np.save(tmp_path / "tokens.npy", rng.integers(0, V, (B, T)))
    np.save(tmp_path / "next.npy", rng.integers(0, K, (B, T)))
    return tmp_path, model


def test_record_help_shows_the_required_options_as_required(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["record", "--help"])
    out = capsys.readouterr().out
    required = out[out.index("required arguments:"):]
    for option in ("--params", "--inputs", "--targets", "-o TRACE.npz, --output"):
        assert option in required
    assert "--sequence" not in required and "--loss" not in required


def test_record_takes_the_files_loss_and_records_one_sequence_of_the_batch(capsys, files):
    d, model = files
    code, out, _ = run(capsys, "record", "--params", d / "p.npz", "--inputs",
                       d / "tokens.npy", "--targets", d / "next.npy", "--sequence", 3,
                       "-o", d / "t.npz")
    assert code == 0
    first, second = out.splitlines()
    assert first == f"model: {model.describe()}"
    want = record_model(model, np.load(d / "tokens.npy"), np.load(d / "next.npy"),
                        sequence=3)
    assert f"loss {want.total_loss:.10e} (xent)" in second and "sequence 3 of 5" in second
    back = load_model_trace(d / "t.npz")
    assert back.sequence == 3 and back.batch == 5 and back.loss_name == "xent"
    for k, g in want.grads().items():           # sequence 3's gradients alone
        np.testing.assert_array_equal(back.grads()[k], g, err_msg=k)
    alone = record_model(model, np.load(d / "tokens.npy")[3], np.load(d / "next.npy")[3])
    np.testing.assert_array_equal(back.grads()["L0.wi"], alone.grads()["L0.wi"])
    code, out, _ = run(capsys, "info", d / "t.npz")
    assert code == 0 and "trace (format 2): 2 layers (X=3 → H=6 → H=5)" in out
    assert "sequence 3 of a batch of 5" in out and "variant standard" in out


def test_loss_and_position_can_be_chosen_on_the_files_read_out(capsys, files):
    d, model = files
    np.save(d / "last.npy", np.load(d / "next.npy")[:, -1])             # (B,) class ids
    code, out, _ = run(capsys, "record", "--params", d / "p.npz", "--inputs",
                       d / "tokens.npy", "--targets", d / "last.npy", "--at", "last",
                       "-o", d / "t.npz")
    assert code == 0 and "sequence 0 of 5" in out
    back = load_model_trace(d / "t.npz")
    assert back.model.loss.at == "last" and np.count_nonzero(back.loss) == 1
    np.save(d / "real.npy", np.random.default_rng(0).standard_normal((B, T, K)))
    code, out, _ = run(capsys, "record", "--params", d / "p.npz", "--inputs",
                       d / "tokens.npy", "--targets", d / "real.npy", "--loss", "mse",
                       "-o", d / "t.npz")
    assert code == 0 and "(mse)" in out


@pytest.mark.parametrize("targets,options,words", [
    (np.arange(B * T).reshape(B, T) % K + 0.0, [],
     ["next2.npy", "float64 targets do not fit the xent loss"]),
    (np.full((B, T), K), [], ["class targets must lie in [0, 4)"]),
    (np.zeros((B, T - 1), int), [], ["the xent loss at every step needs targets of shape (7,)"]),
    (np.zeros((B + 1, T), int), [], ["the inputs hold 5 sequences", "expected 5 first"]),
    (np.zeros((B, T), int), ["--sequence", "5"], ["--sequence 5 is out of range", "(0 … 4)"]),
    (np.zeros((B, T), int), ["--loss", "mse"], ["integer targets (int64) do not fit the mse loss"]),
    (np.zeros((B, T), int), ["--loss", "toy"], ["integer targets (int64) do not fit the toy loss"]),
    (np.zeros((B, T), int), ["--loss", "toy", "--at", "last"], ["--at needs a read-out loss"]),
    (np.zeros((B, T), int), ["--variant", "seed"], ["p.npz", "--variant seed contradicts"]),
])
def test_targets_and_options_that_do_not_fit_are_refused_in_one_line(capsys, files, targets,
                                                                     options, words):
    d, _ = files
    np.save(d / "next2.npy", targets)
    one_line_error(capsys, "record", "--params", d / "p.npz", "--inputs", d / "tokens.npy",
                   "--targets", d / "next2.npy", *options, "-o", d / "t.npz", words=words)
    assert not (d / "t.npz").exists()


@pytest.mark.parametrize("inputs,words", [
    (np.zeros((B, T, X)), ["the model reads token ids", "float64"]),
    (np.full((B, T), V), ["token ids must lie in [0, 9)"]),
    (np.zeros((B, T, 2), int), ["token ids must have shape (T,) or (B, T)"]),
])
def test_inputs_that_do_not_fit_the_embedding_are_refused(capsys, files, inputs, words):
    d, _ = files
    np.save(d / "x.npy", inputs)
    one_line_error(capsys, "record", "--params", d / "p.npz", "--inputs", d / "x.npy",
                   "--targets", d / "next.npy", "-o", d / "t.npz", words=words)


def test_dense_inputs_one_sequence_and_a_sequence_option_that_does_not_apply(capsys,
                                                                            tmp_path):
    rng = np.random.default_rng(0)
    io.save_params(tmp_path / "p.npz", init_uniform(X, 4, rng))          # format 1
    np.save(tmp_path / "x.npy", rng.standard_normal((T, X)))
    np.save(tmp_path / "y.npy", rng.standard_normal(T))
    np.save(tmp_path / "ids.npy", rng.integers(0, 3, T))
    base = ["record", "--params", tmp_path / "p.npz", "--targets", tmp_path / "y.npy",
            "-o", tmp_path / "t.npz"]
    one_line_error(capsys, *base, "--inputs", tmp_path / "x.npy", "--sequence", "2",
                   words=["holds one sequence", "(B, T, 3)"])
    one_line_error(capsys, *base, "--inputs", tmp_path / "ids.npy",
                   words=["token ids need a model with an embedding"])
    code, out, _ = run(capsys, *base, "--inputs", tmp_path / "x.npy", "--variant", "standard")
    assert code == 0 and "T=7 X=3 H=4 standard float64: loss" in out
    # a single cell on the toy loss: the format-1 trace, the same as ever
    want = record(io.load_params(tmp_path / "p.npz"), np.load(tmp_path / "x.npy"),
                  np.load(tmp_path / "y.npy"), "standard")
    got = io.load_trace(tmp_path / "t.npz")
    np.testing.assert_array_equal(got.ds, want.ds)


def test_gradcheck_covers_every_layer_the_embedding_and_the_read_out(capsys, files):
    d, _ = files
    code, out, _ = run(capsys, "gradcheck", "--params", d / "p.npz", "--inputs",
                       d / "tokens.npy", "--targets", d / "next.npy", "--sequence", 2,
                       "--sample", 30)
    assert code == 0, out
    names = [line.split()[0] for line in out.splitlines()[1:-1]]
    assert names == ([f"L{n}.{k}" for n in range(2) for k in
                      ("wg", "wi", "wf", "wo", "bg", "bi", "bf", "bo")]
                     + ["embedding", "loss.wy", "loss.by"])
    assert out.splitlines()[-1].startswith("verdict: correct")
    one_line_error(capsys, "gradcheck", "--demo", "--loss", "xent",
                   words=["--demo is the published example", "--loss"])


def test_gradcheck_of_a_format_1_file_in_either_variant_on_a_batch(capsys, tmp_path):
    """A format-1 file does not state its variant: --variant chooses it, and the check
    holds for either, on a sequence of a batch."""
    rng = np.random.default_rng(1)
    io.save_params(tmp_path / "p.npz", init_uniform(X, 4, rng, -0.5, 0.5))
    np.save(tmp_path / "x.npy", rng.standard_normal((B, T, X)))
    np.save(tmp_path / "y.npy", rng.standard_normal((B, T)))
    for variant in ("seed", "standard"):
        code, out, _ = run(capsys, "gradcheck", "--params", tmp_path / "p.npz", "--inputs",
                           tmp_path / "x.npy", "--targets", tmp_path / "y.npy",
                           "--variant", variant, "--sequence", 4)
        assert code == 0 and out.splitlines()[1].startswith("wg ")


def test_info_describes_parameters_batches_and_runs(capsys, files):
    d, model = files
    code, out, _ = run(capsys, "info", d / "p.npz")
    assert code == 0 and f"parameters (format 2): {model.describe()}" in out
    code, out, _ = run(capsys, "info", d / "tokens.npy")
    assert code == 0 and "array (5, 7) int64" in out and "a batch of 5 sequences" in out
    code, out, _ = run(capsys, "train", "--task", "sine", "--layers", "2", "--steps", "2",
                       "--hidden", "5", "-o", d / "run.npz")
    assert code == 0 and "H=5, 2 layers" in out
    code, out, _ = run(capsys, "info", d / "run.npz")
    assert code == 0 and "training run, task sine, 2 iterations" in out
    assert "(format 2); model: 2 layers (X=1 → H=5 → H=5)" in out and "mse read-out" in out
    # the run serves as parameters: record from it, its variant known
    np.save(d / "x.npy", np.zeros((4, 1)))
    np.save(d / "y.npy", np.zeros((4, 1)))
    code, out, _ = run(capsys, "record", "--params", d / "run.npz", "--inputs", d / "x.npy",
                       "--targets", d / "y.npy", "-o", d / "t.npz")
    assert code == 0 and "variant seed" in out and "(mse)" in out


# ---- PyTorch state dicts, as .npz (no torch needed) ----------------------------------------

def torch_like_state(bidirectional=False):
    """A character model's state dict as PyTorch names it, with two keys it has beside."""
    model = stack(variant="standard", widths=(X, 5, 5))
    state = model_to_torch_state(model, lstm="rnn", embedding="embed", decoder="fc")
    state["norm.weight"] = np.ones(5)                 # a LayerNorm's, say: not the model's
    state["rnn.weight_ih_l0_reverse"] = state["rnn.weight_ih_l0"] if bidirectional else None
    return model, {k: v for k, v in state.items() if v is not None}


def test_import_torch_takes_a_whole_model_and_says_what_became_what(capsys, tmp_path):
    model, state = torch_like_state()
    np.savez(tmp_path / "m.npz", **state)
    code, out, _ = run(capsys, "import-torch", tmp_path / "m.npz", "-o", tmp_path / "p.npz")
    assert code == 0
    lines = out.splitlines()
    assert "  embed.weight -> embedding (9×3)" in lines
    assert "  fc.weight -> loss.wy (read-out, xent at every step)" in lines
    assert "  rnn.weight_hh_l1 -> L1.wi wf wg wo, recurrent columns (gates i f g o)" in lines
    assert "  norm.weight: ignored" in lines
    assert lines[-1] == f"model: {model.describe()} -> {tmp_path / 'p.npz'}"
    source = load_model(tmp_path / "p.npz")
    assert source.version == 2 and source.model.variant == "standard"
    want, _ = model_from_torch_state(state)
    for k, v in want.arrays().items():
        np.testing.assert_array_equal(source.model.arrays()[k], v, err_msg=k)
    code, out, _ = run(capsys, "import-torch", tmp_path / "m.npz", "-o", tmp_path / "q.npz",
                       "--decoder", "", "--at", "last")
    assert code == 0 and load_model(tmp_path / "q.npz").model.loss_name == "toy"


def test_import_torch_refuses_a_bidirectional_lstm_in_one_line(capsys, tmp_path):
    _, state = torch_like_state(bidirectional=True)
    np.savez(tmp_path / "m.npz", **state)
    one_line_error(capsys, "import-torch", tmp_path / "m.npz", "-o", tmp_path / "p.npz",
                   words=["bidirectional"])
    assert not (tmp_path / "p.npz").exists()


def test_export_torch_writes_the_whole_model_back_and_a_bare_lstm_as_before(capsys, tmp_path):
    model = stack(variant="standard", widths=(X, 5, 5))
    save_model_params(tmp_path / "p.npz", model)
    code, out, _ = run(capsys, "export-torch", tmp_path / "p.npz", "-o", tmp_path / "m.npz")
    assert code == 0 and "lstm., embedding., decoder. keys" in out
    with np.load(tmp_path / "m.npz") as f:
        got = dict(f)
    want = model_to_torch_state(model)
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    io.save_params(tmp_path / "cell.npz", model.layers[0])             # format 1: one cell
    code, out, _ = run(capsys, "export-torch", tmp_path / "cell.npz", "-o", tmp_path / "c.npz")
    assert code == 0
    with np.load(tmp_path / "c.npz") as f:
        assert sorted(f.files) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    save_model_params(tmp_path / "seed.npz", stack(variant="seed", widths=(X, 5, 5)))
    one_line_error(capsys, "export-torch", tmp_path / "seed.npz", "-o", tmp_path / "s.npz",
                   words=["variant is seed"])
