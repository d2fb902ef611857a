"""The lstm-engine command line: output formats, exit codes, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lstm_engine import init_uniform, io, published_example, record
from lstm_engine.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_prints_the_seeds_format(capsys):
    code, out, _ = run(capsys, "demo", "--iterations", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("iter  0: y_pred = [ 0.04135,  0.06930,  0.11699,  0.16562], "
                        "loss: 7.535e-01")
    assert lines[1].startswith("iter  1:") and lines[1].endswith("loss: 5.991e-01")


def test_demo_json_has_full_precision(capsys):
    code, out, _ = run(capsys, "demo", "--iterations", "2", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["iter"] for r in rows] == [0, 1]
    params, x, y = published_example()
    trace = record(params, x, y)
    assert rows[0]["loss"] == trace.total_loss
    assert rows[0]["y_pred"] == list(trace.h[:, 0])
    np.testing.assert_allclose(rows[1]["loss"], 0.599065083953, rtol=1e-6)


@pytest.fixture
def run_files(tmp_path):
    rng = np.random.default_rng(1)
    params = init_uniform(3, 4, rng, -0.5, 0.5)
    io.save_params(tmp_path / "p.npz", params)
    np.save(tmp_path / "x.npy", rng.standard_normal((6, 3)))
    np.save(tmp_path / "y.npy", rng.standard_normal(6))
    return tmp_path, params


def test_record_then_info(capsys, run_files):
    d, params = run_files
    code, out, _ = run(capsys, "record", "--params", str(d / "p.npz"), "--inputs",
                       str(d / "x.npy"), "--targets", str(d / "y.npy"), "--variant", "standard",
                       "--dtype", "float32", "-o", str(d / "t.npz"))
    assert code == 0 and "T=6 X=3 H=4 standard float32" in out
    trace = io.load_trace(d / "t.npz")
    assert trace.variant == "standard" and trace.dtype == np.float32
    want = record(params, np.load(d / "x.npy"), np.load(d / "y.npy"), "standard",
                  dtype="float32")
    np.testing.assert_array_equal(trace.ds, want.ds)
    code, out, _ = run(capsys, "info", str(d / "t.npz"))
    assert code == 0 and "trace, variant standard" in out and "T=6 X=3 H=4" in out
    code, out, _ = run(capsys, "info", str(d / "p.npz"))
    assert code == 0 and "parameters X=3 H=4" in out


def test_gradcheck_passes_and_returns_1_when_over_tolerance(capsys, run_files):
    d, _ = run_files
    files = ["--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
             "--targets", str(d / "y.npy")]
    code, out, _ = run(capsys, "gradcheck", *files)
    assert code == 0 and "verdict: correct" in out
    code, out, _ = run(capsys, "gradcheck", *files, "--tolerance", "1e-30")
    assert code == 1 and "FAIL" in out


@pytest.mark.parametrize("argv,needle", [
    (["info", "missing.npz"], "no such file"),
    (["record", "-o", "t.npz"], "required: --params, --inputs, --targets"),
    (["gradcheck", "--params", "p.npz"], "needs --inputs, --targets (or --demo)"),
    (["demo", "--iterations", "-1"], "--iterations"),
    (["nonsense"], "invalid choice"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    usage = argv[0] in ("nonsense", "record")              # refused by argparse itself
    with pytest.raises(SystemExit) if usage else _no_raise() as ctx:
        code = main(argv)
    code = ctx.value.code if usage else code
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and needle in err


def test_mismatched_inputs_are_refused(capsys, run_files):
    d, _ = run_files
    np.save(d / "bad.npy", np.zeros((6, 5)))
    code, _, err = run(capsys, "record", "--params", str(d / "p.npz"), "--inputs",
                       str(d / "bad.npy"), "--targets", str(d / "y.npy"), "-o", str(d / "t.npz"))
    assert code == 2 and "must have shape (T, 3)" in err


def test_module_entry_point_reports_bad_files_without_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04garbage")
    proc = subprocess.run([sys.executable, "-m", "lstm_engine", "info", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("lstm-engine: error:") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_subcommands_of_the_experiments_are_wired_and_info_reads_a_run(capsys, tmp_path):
    code, out, _ = run(capsys, "tasks")
    assert code == 0 and "adding" in out and "published" in out
    code, out, _ = run(capsys, "train", "--task", "sine", "--steps", "3", "-o",
                       str(tmp_path / "run.npz"))
    assert code == 0
    code, out, _ = run(capsys, "info", str(tmp_path / "run.npz"))
    assert code == 0 and "training run, task sine, 3 iterations" in out
