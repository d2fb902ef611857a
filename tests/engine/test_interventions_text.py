"""Interventions as text: one grammar, round trips, one-line messages; the command line
(record, gradcheck, info) and trace files that carry them."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_engine import Model, init_uniform, io, record_model
from lstm_engine.cli import main
from lstm_engine.errors import UserError
from lstm_engine.interventions import (
    PARSERS,
    Clamp,
    Cut,
    InputEdit,
    Interventions,
    Knockout,
    Scale,
    Selection,
)
from lstm_engine.model_arrays import model_trace_arrays

# ---- round trips ------------------------------------------------------------------------

spans = st.lists(st.tuples(st.integers(0, 50), st.one_of(st.none(), st.integers(1, 30))),
                 max_size=3).map(lambda v: Selection(tuple((a, None if b is None else a + b)
                                                           for a, b in v)))
layers = st.one_of(st.none(), st.integers(0, 3))
unit = st.floats(0.0, 1.0, allow_nan=False)
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
clamps = st.builds(Clamp, st.sampled_from("ifo"), unit, spans, spans, layers) | st.builds(
    Clamp, st.just("g"), st.floats(-1.0, 1.0), spans, spans, layers)
knockouts = st.builds(Knockout, spans.filter(lambda s: not s.everything), spans, layers)
edits = st.builds(InputEdit, st.just("zero"), st.just(0.0), spans, spans) | st.builds(
    InputEdit, st.sampled_from(["set", "add"]), finite, spans, spans)
scales = st.builds(Scale, st.sampled_from("ifog"), st.sampled_from("xh"), finite, spans, layers)
cuts = st.builds(Cut, st.sampled_from("hs"), spans, spans, layers)
everything = st.builds(Interventions, st.lists(clamps, max_size=2).map(tuple),
                       st.lists(knockouts, max_size=2).map(tuple),
                       st.lists(edits, max_size=2).map(tuple),
                       st.lists(scales, max_size=2).map(tuple),
                       st.lists(cuts, max_size=2).map(tuple),
                       st.one_of(st.none(), st.integers(1, 100)))


@given(everything)
def test_every_text_form_parses_back_to_the_same_value(iv):
    kinds = {"--clamp": "clamp", "--knockout": "knockout", "--edit-input": "edit_input",
             "--scale": "scale", "--cut": "cut"}
    texts: dict = {k: [] for k in kinds.values()}
    truncate = None
    for option, text in iv.items():
        if option == "--truncate":
            truncate = int(text)
        else:
            texts[kinds[option]].append(text)
            assert PARSERS[kinds[option]](text) == getattr(iv, kinds[option])[
                len(texts[kinds[option]]) - 1]
    assert Interventions.parse(**texts, truncate=truncate) == iv
    assert Interventions.from_json(json.loads(json.dumps(iv.to_json()))) == iv
    assert bool(iv) == bool(iv.items())


@pytest.mark.parametrize("kind, text, shown", [
    ("clamp", "f=1", "f=1"), ("clamp", " f = 0.50 @ 3 : 7 # 0,2:4 /L1", "f=0.5@3:7#0,2:4/L1"),
    ("clamp", "g=-1@0:10", "g=-1@:10"), ("clamp", "o=1e-3@5:", "o=0.001@5:"),
    ("knockout", "3", "3"), ("knockout", "0:4,7@10:/L0", ":4,7@10:/L0"),
    ("edit_input", "zero@2", "zero@2"), ("edit_input", "add=-0.5@:5#1", "add=-0.5@:5#1"),
    ("scale", "f.h=0.5", "f.h=0.5"), ("scale", "i.x=2#3/L1", "i.x=2#3/L1"),
    ("cut", "h", "h"), ("cut", "s@10:#0:3/L2", "s@10:#:3/L2"),
])
def test_the_grammar_reads_and_writes_each_form(kind, text, shown):
    assert str(PARSERS[kind](text)) == shown
    assert PARSERS[kind](shown) == PARSERS[kind](text)


@pytest.mark.parametrize("kind, text, words", [
    ("clamp", "q=1", "unknown gate 'q'"),
    ("clamp", "f", "expected GATE=VALUE"),
    ("clamp", "f=2", "takes values in [0, 1]"),
    ("clamp", "g=-1.5", "takes values in [-1, 1]"),
    ("clamp", "f=nan", "finite"),
    ("clamp", "f=inf", "finite"),
    ("clamp", "f=abc", "must be a number"),
    ("clamp", "f=1@5:3", "selects nothing"),
    ("clamp", "f=1@x", "not an index or a slice"),
    ("clamp", "f=1#-2", "not an index or a slice"),
    ("clamp", "f=1/L1@3", "in that order"),
    ("knockout", "", "name the units"),
    ("knockout", "3#2", "takes no units"),
    ("edit_input", "zero=1", "zero takes no value"),
    ("edit_input", "set", "need one"),
    ("edit_input", "mul=2", "unknown input edit"),
    ("edit_input", "zero/L1", "takes no layer"),
    ("scale", "f=0.5", "expected GATE.PART=FACTOR"),
    ("scale", "f.z=0.5", "unknown weight part"),
    ("scale", "f.h=0.5@3", "takes no steps"),
    ("scale", "f.h=nan", "finite"),
    ("cut", "c", "unknown path"),
])
def test_bad_texts_are_one_line_that_says_what_is_wrong(kind, text, words):
    with pytest.raises(ValueError) as err:
        PARSERS[kind](text)
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("options, words", [
    (dict(clamp=["f=1#4"]), "--clamp f=1#4: units 4 out of range: only 0 … 3 (layer 0 has H=4)"),
    (dict(clamp=["f=1#4/L1"]), None),                     # layer 1 has H=5: fine
    (dict(knockout=["5"]), "--knockout 5: units 5 out of range: only 0 … 3 (layer 0 has H=4)"),
    (dict(cut=["h@6"]), "--cut h@6: steps 6 out of range: only 0 … 5 (the pass has T=6)"),
    (dict(edit_input=["zero#3"]), "--edit-input zero#3: inputs 3 out of range: only 0 … 2"),
    (dict(scale=["f.h=2/L2"]), "--scale f.h=2/L2: layer 2 out of range: the model has 2"),
])
def test_sizes_are_checked_against_the_model_and_the_pass(options, words):
    iv = Interventions.parse(**options)
    if words is None:
        iv.check((4, 5), 3, 6)
        return
    with pytest.raises(ValueError) as err:
        iv.check((4, 5), 3, 6)
    assert str(err.value).startswith(words)


def test_programmatic_values_are_checked_too():
    with pytest.raises(ValueError, match="finite"):
        Clamp("f", float("nan"))
    with pytest.raises(ValueError, match="unknown gate"):
        Scale("z", "h", 1.0)
    with pytest.raises(ValueError, match="names its units"):
        Knockout(Selection())
    with pytest.raises(ValueError, match="positive"):
        Interventions(truncate=0)
    with pytest.raises(ValueError, match="not a Clamp"):
        Interventions(clamp=(Cut("h"),))


# ---- trace files ------------------------------------------------------------------------

def _model_and_data(seed=0, layers=1):
    rng = np.random.default_rng(seed)
    ps = [init_uniform(3, 4, rng, -0.5, 0.5)]
    if layers == 2:
        ps.append(init_uniform(4, 5, rng, -0.5, 0.5))
    return Model(tuple(ps)), rng.standard_normal((6, 3)), rng.standard_normal(6)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_trace_file_carries_its_interventions_and_loads_back_the_same_pass(tmp_path, layers):
    model, x, y = _model_and_data(layers=layers)
    iv = Interventions.parse(clamp=["f=1@1:4#1"], knockout=["2@3:/L0"], cut=["h"],
                             edit_input=["zero@2"], scale=["o.h=0.5"])
    trace = record_model(model, x, y, interventions=iv)
    io.save_model_trace(tmp_path / "t.npz", trace)
    back = io.load_model_trace(tmp_path / "t.npz")
    assert back.interventions == iv and all(tr.interventions == iv for tr in back.layers)
    np.testing.assert_array_equal(back.x, trace.x)                 # the edited input
    for a, b in zip(back.layers, trace.layers, strict=True):
        for key in ("s", "ds", "bottom_diff_h", "wf_diff"):
            np.testing.assert_array_equal(a[key], b[key])
    meta = json.loads(str(np.load(tmp_path / "t.npz")["meta"]))
    assert meta["version"] == 3 and meta["interventions"]["cut"] == ["h"]
    if layers == 1:
        assert io.load_trace(tmp_path / "t.npz").interventions == iv


def test_an_ordinary_pass_is_written_as_before_and_old_files_load_without_interventions(
        tmp_path):
    model, x, y = _model_and_data()
    io.save_model_trace(tmp_path / "t.npz", record_model(model, x, y))
    meta = json.loads(str(np.load(tmp_path / "t.npz")["meta"]))
    assert meta["version"] == 1 and "interventions" not in meta
    assert not io.load_model_trace(tmp_path / "t.npz").interventions
    two, x2, y2 = _model_and_data(layers=2)
    io.save_model_trace(tmp_path / "t2.npz", record_model(two, x2, y2))
    meta = json.loads(str(np.load(tmp_path / "t2.npz")["meta"]))
    assert meta["version"] == 2 and "interventions" not in meta
    assert not io.load_model_trace(tmp_path / "t2.npz").interventions


@pytest.mark.parametrize("bad, words", [
    ({"clamp": ["q=1"]}, "unknown gate"),
    ({"clamp": "f=1"}, "must be a list of texts"),
    ({"knockout": ["9"]}, "units 9 out of range"),
    ({"frobnicate": []}, "unknown intervention"),
    ({"truncate": -1}, "positive"),
    ([], "must be a JSON object"),
])
def test_bad_interventions_in_a_trace_file_are_one_line_naming_the_file(tmp_path, bad, words):
    model, x, y = _model_and_data()
    trace = record_model(model, x, y, interventions=Interventions.parse(cut=["h"]))
    arrays = model_trace_arrays(trace)
    meta = json.loads(str(arrays["meta"]))
    meta["interventions"] = bad
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError) as err:
        io.load_model_trace(tmp_path / "bad.npz")
    assert str(err.value).startswith(str(tmp_path / "bad.npz")) and words in str(err.value)


# ---- the command line -------------------------------------------------------------------

def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as stop:                     # argparse refuses a bad argument
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    model, x, y = _model_and_data()
    io.save_params(tmp_path / "p.npz", model.layers[0])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, model, x, y


def test_record_runs_the_interventions_and_info_shows_them(capsys, files):
    d, model, x, y = files
    options = ["--clamp", "f=1", "--cut", "h", "--knockout", "2@3:", "--edit-input",
               "add=0.5@1#0", "--scale", "g.h=0.5", "--truncate", "4"]
    code, out, err = run(capsys, "record", "--params", str(d / "p.npz"), "--inputs",
                         str(d / "x.npy"), "--targets", str(d / "y.npy"), "-o",
                         str(d / "t.npz"), *options)
    assert code == 0, err
    text = ("--clamp f=1 --knockout 2@3: --edit-input add=0.5@1#0 --scale g.h=0.5 --cut h "
            "--truncate 4")
    assert f"interventions: {text}" in out
    iv = Interventions.parse(clamp=["f=1"], cut=["h"], knockout=["2@3:"],
                             edit_input=["add=0.5@1#0"], scale=["g.h=0.5"], truncate=4)
    back = io.load_model_trace(d / "t.npz")
    assert back.interventions == iv
    np.testing.assert_array_equal(back.layers[0].ds,
                                  record_model(model, x, y, interventions=iv).layers[0].ds)
    code, out, _ = run(capsys, "info", str(d / "t.npz"))
    assert code == 0 and "trace (format 3)" in out and f"interventions: {text}" in out


@pytest.mark.parametrize("argv, words", [
    (["--clamp", "z=1"], "argument --clamp: unknown gate 'z'; choose one of i, f, o, g"),
    (["--clamp", "f=nan"], "argument --clamp: the value of gate f must be a finite number"),
    (["--clamp", "f=1#7"], "--clamp f=1#7: units 7 out of range: only 0 … 3"),
    (["--knockout", "1@9"], "--knockout 1@9: steps 9 out of range: only 0 … 5"),
    (["--cut", "x"], "argument --cut: unknown path 'x'"),
    (["--truncate", "0"], "argument --truncate: expected a positive integer"),
    (["--edit-input", "set=inf"], "argument --edit-input: the set value must be a finite"),
    (["--scale", "f.h=2/L1"], "--scale f.h=2/L1: layer 1 out of range"),
])
def test_bad_interventions_on_the_command_line_are_one_line_and_exit_2(capsys, files, argv,
                                                                        words):
    d, *_ = files
    code, out, err = run(capsys, "record", "--params", str(d / "p.npz"), "--inputs",
                         str(d / "x.npy"), "--targets", str(d / "y.npy"), "-o",
                         str(d / "t.npz"), *argv)
    assert code == 2 and words in err and err.count("\n") == 1
    assert not (d / "t.npz").exists()


def test_gradcheck_passes_forward_interventions_and_names_the_cuts(capsys):
    code, out, _ = run(capsys, "gradcheck", "--demo", "--clamp", "o=0.5#0:50",
                       "--knockout", "3@1:", "--sample", "20")
    assert code == 0 and out.splitlines()[-1].startswith("verdict: correct")
    code, out, _ = run(capsys, "gradcheck", "--demo", "--clamp", "f=1", "--cut", "h",
                       "--sample", "20")
    last = out.splitlines()[-1]
    assert code == 0 and last.startswith("verdict: correct")
    assert "the cuts (--cut h) are definitions, not gradients" in last


def test_record_help_documents_every_intervention(capsys):
    with pytest.raises(SystemExit):
        main(["record", "--help"])
    out = capsys.readouterr().out
    for option in ("--clamp GATE=VALUE", "--knockout UNITS", "--edit-input EDIT",
                   "--scale BLOCK=FACTOR", "--cut h|s", "--truncate K",
                   "GATE=VALUE[@STEPS][#UNITS][/L<layer>]"):
        assert option in out


def test_the_readmes_what_if_commands_print_what_it_shows(tmp_path, capsys, monkeypatch):
    """README.md's "What if" block, run as written on the published example: every output
    line it shows in full is printed, and the pass is the one its text describes."""
    import re
    import shlex
    from pathlib import Path

    from lstm_engine import published_example

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = text.index("### What if")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)[1]
    params, x, y = published_example()
    io.save_params(tmp_path / "params.npz", params)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    monkeypatch.chdir(tmp_path)
    printed, shown = [], []
    for line in block.splitlines():
        if line.startswith("lstm-engine "):
            code, out, err = run(capsys, *shlex.split(line)[1:])
            assert code == 0, err
            printed += out.splitlines()
        elif line.startswith("# ") and not line.startswith("#  ") and "…" not in line:
            shown.append(line[2:])
    assert shown and all(s in printed for s in shown), (shown, printed)
    trace = io.load_model_trace(tmp_path / "what-if.npz")
    assert trace.interventions == Interventions.parse(clamp=["f=1"], cut=["h"])
    assert np.all(trace.layers[0].f == 1.0)
