"""The command line's output under stress (issue 14, classes 7, 21, 24 and 25): a closed
pipe or a full disk stops a command as Ctrl+C does (train still writes its run), the
gradient check's verdict follows the tolerance, demo stops at the first NaN/Inf, and text
an ASCII terminal cannot show is escaped."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lstm_engine import cli, init_uniform, io

ENGINE = [sys.executable, "-m", "lstm_engine"]


def _env(**extra):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.pop("LSTM_VIZ_DEBUG", None)
    return env


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "Exception ignored" not in err, err
    return lines[0]


# ---- class 7: output errors ------------------------------------------------------------------

def test_train_into_a_closed_pipe_writes_the_run(tmp_path):
    """``lstm-engine train … -o run.npz | head -1``: the reader goes away after the first
    line; training stops after that iteration and the run is written."""
    out = tmp_path / "run.npz"
    proc = subprocess.Popen([*ENGINE, "train", "--task", "adding", "--steps", "1000000",
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env())
    try:
        first = proc.stdout.readline()
        assert first.startswith(b"task adding")
        proc.stdout.close()                                  # head -1 exits
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    line = _one_line(err.decode())
    assert proc.returncode == 130, line
    assert "standard output closed (Broken pipe)" in line and str(out) in line
    with np.load(out, allow_pickle=False) as run:
        meta = json.loads(str(run["meta"]))
        assert meta["interrupted"] is True
        assert run["history.loss"].shape == (meta["iterations_done"],)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_train_onto_a_full_disk_writes_the_run(tmp_path):
    out = tmp_path / "run.npz"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*ENGINE, "train", "--task", "sine", "--steps", "100000",
                               "-o", str(out)], stdout=full, stderr=subprocess.PIPE,
                              env=_env(), timeout=120)
    line = _one_line(proc.stderr.decode())
    assert proc.returncode == 130 and "No space left" in line
    with np.load(out, allow_pickle=False) as run:
        assert json.loads(str(run["meta"]))["interrupted"] is True


@pytest.mark.parametrize("argv", [
    ["demo", "--iterations", "100000"],
    ["demo", "--json", "--iterations", "100000"],
    ["gradcheck", "--demo", "--sample", "2"],
    ["tasks"],
    ["train", "--task", "sine", "--steps", "100000"],
    ["--help"],
])
def test_every_printing_command_ends_quietly_on_a_closed_pipe(argv):
    """The pipe is closed before the command writes a byte: one line on stderr, no
    traceback, no 'Exception ignored' at exit."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([*ENGINE, *argv], stdout=write, stderr=subprocess.PIPE,
                              env=_env(), timeout=300)
    finally:
        os.close(write)
    err = proc.stderr.decode()
    if argv == ["--help"]:                     # argparse's own exit: silent is fine
        assert "Traceback" not in err and "Exception ignored" not in err, err
        return
    line = _one_line(err)
    assert proc.returncode == 130 and "standard output closed" in line, (proc.returncode, line)


# ---- class 21: the verdict follows the tolerance ---------------------------------------------

@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    io.save_params(d / "p.npz", init_uniform(3, 4, rng))
    np.save(d / "x.npy", rng.standard_normal((6, 3)))
    np.save(d / "y.npy", rng.standard_normal(6))
    return ["--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
            "--targets", str(d / "y.npy")]


@pytest.mark.parametrize("tolerance", ["5e-324", "1e-300", "1e-20", "1e-12", "1e-9", "1e-6",
                                       "1e-3", "0.5", "1e300"])
def test_flags_verdict_and_exit_code_agree_for_any_tolerance(capsys, run_files, tolerance):
    code = cli.main(["gradcheck", *run_files, "--tolerance", tolerance])
    out = capsys.readouterr().out
    fails = out.count("FAIL")
    verdict = out.splitlines()[-1]
    assert verdict.startswith("verdict: ")
    if fails:
        assert code == 1 and not verdict.startswith("verdict: correct"), out
    else:
        assert code == 0 and verdict.startswith("verdict: correct"), out
    assert f"tolerance {float(tolerance):.3g}" in verdict


def test_the_smallest_tolerance_fails_every_array_and_says_so(capsys, run_files):
    assert cli.main(["gradcheck", *run_files, "--tolerance", "5e-324"]) == 1
    out = capsys.readouterr().out
    assert "verdict: correct" not in out and "verdict: suspect" in out


@pytest.mark.parametrize("bad", ["0", "-1e-6", "nan", "inf", "abc"])
def test_a_tolerance_that_makes_no_sense_is_refused_in_one_line(capsys, run_files, bad):
    with pytest.raises(SystemExit) as stop:
        cli.main(["gradcheck", *run_files, "--tolerance", bad])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "--tolerance" in err


# ---- class 24: demo stops at the first non-finite value --------------------------------------

@pytest.mark.parametrize("lr", ["1e308", "1.7e308", "5e307"])
@pytest.mark.parametrize("json_lines", [False, True])
def test_demo_with_a_huge_learning_rate_stops_in_one_line(lr, json_lines):
    """The step makes weights near 1e308: the next forward's pre-activations overflow."""
    argv = ["demo", "--lr", lr, "--iterations", "50"] + (["--json"] if json_lines else [])
    proc = subprocess.run([*ENGINE, *argv], capture_output=True, text=True, env=_env(),
                          timeout=120)
    line = _one_line(proc.stderr)
    assert proc.returncode == 1, (proc.returncode, line)
    assert line.startswith("lstm-engine: stopped: iteration ") and "NaN or Inf" in line
    printed = proc.stdout.splitlines()
    stopped_at = int(line.split("iteration ")[1].split(":")[0])
    assert len(printed) in (stopped_at, stopped_at + 1)     # the iterations before it
    for text in printed:                                     # and only finite numbers
        assert "nan" not in text.lower() and "inf" not in text.lower(), text


@pytest.mark.parametrize("lr", ["1e30", "1e100"])
def test_demo_with_large_but_finite_steps_runs_to_the_end_without_warnings(lr):
    proc = subprocess.run([*ENGINE, "demo", "--lr", lr, "--iterations", "20"],
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert len(proc.stdout.splitlines()) == 20


def test_the_published_demo_is_unchanged(capsys):
    assert cli.main(["demo", "--iterations", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("loss: 7.535e-01") and out[1].endswith("loss: 5.991e-01")


# ---- class 25: an ASCII terminal ---------------------------------------------------------------

def test_a_non_ascii_output_name_on_an_ascii_terminal(tmp_path):
    out = tmp_path / "läuf-日本.npz"
    env = _env(LANG="C", LC_ALL="C", PYTHONIOENCODING="ascii")
    proc = subprocess.run([*ENGINE, "train", "--task", "sine", "--steps", "2", "-o", str(out)],
                          capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.exists()
    stdout = proc.stdout.decode("ascii")                    # nothing but ASCII came out
    assert "run written to" in stdout and "l\\xe4uf-\\u65e5\\u672c.npz" in stdout
    assert b"UnicodeEncodeError" not in proc.stderr


def test_a_non_ascii_name_in_an_error_on_an_ascii_terminal(tmp_path):
    env = _env(LANG="C", LC_ALL="C", PYTHONIOENCODING="ascii")
    for argv in (["info", str(tmp_path / "fehlt-ü.npz")], ["train", "--task", "ö"]):
        proc = subprocess.run([*ENGINE, *argv], capture_output=True, env=env, timeout=120)
        assert proc.returncode == 2
        err = proc.stderr.decode("ascii")
        assert err.count("\n") == 1 and "\\xfc" in err or "\\xf6" in err, err


def test_a_nan_error_in_a_later_array_is_never_hidden_by_the_verdict(capsys, run_files,
                                                                     monkeypatch):
    """Python's max() skips a NaN that comes after a number: the last array's NaN error
    must still make the verdict "wrong", like its FAIL flag says."""
    from lstm_engine.gradcheck import ArrayCheck, GradCheckResult

    def fake(*args, **kwargs):
        ok = ArrayCheck("wg", np.array([1e-9]), np.zeros(1), np.zeros(1), 1)
        bad = ArrayCheck("bo", np.array([np.nan]), np.zeros(1), np.full(1, np.nan), 1)
        return GradCheckResult({"wg": ok, "bo": bad})
    monkeypatch.setattr(cli, "gradient_check_model", fake)
    assert cli.main(["gradcheck", *run_files]) == 1
    out = capsys.readouterr().out
    assert "bo" in out and "FAIL" in out and "verdict: wrong" in out, out


def test_train_stops_at_an_overflowing_pre_activation_as_demo_does(capsys):
    code = cli.main(["train", "--lr", "1e308", "--optimizer", "sgd", "--steps", "20"])
    out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1, err
    assert "stopped: iteration 1: first NaN or Inf in w" in err and "forward pass" in err
    assert len([line for line in out.splitlines() if line.startswith("iter")]) == 1


def test_the_pre_activation_check_finds_the_first_overflowing_step():
    from lstm_engine import init_uniform, record
    from lstm_engine.training import first_nonfinite_preactivation

    rng = np.random.default_rng(0)
    params = init_uniform(2, 3, rng)
    x = np.zeros((6, 2))
    x[4] = 1.0                                   # only step 4 sees the huge input weight
    assert first_nonfinite_preactivation(record(params, x, np.zeros(6))) is None
    params.wf[:, 0] = 1e308
    params.wf[:, 1] = 1e308
    with np.errstate(all="ignore"):                 # the pass itself overflows
        found = first_nonfinite_preactivation(record(params, x, np.zeros(6)), iteration=7)
    assert (found.iteration, found.phase, found.step) == (7, "forward", 4)
    assert found.array == "wf·xc + bf"
