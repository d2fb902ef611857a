"""The researcher's path as README.md shows it: examples/train_char.py run (a few steps),
then the README's commands to the window (the session lstm-viz builds) and to a trace, no
hand-made arrays. The loss of sequence 3 must be PyTorch's (summed over its steps) to
1e-9."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_engine.cli import main
from lstm_engine.io import load_model_trace

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Debug your own PyTorch model")
    return text[start:text.index("\n## ", start + 1)]


def test_the_readmes_script_and_commands_record_pytorchs_loss(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is not installed")
    from lstm_viz.widgets.app import build_session, parse_args

    part = section()
    blocks = re.findall(r"```sh\n(.*?)```", part, re.S)
    to_window = blocks[0].strip().splitlines()
    engine_alone = blocks[1].strip().splitlines()
    assert len(to_window) <= 3
    argv = shlex.split(to_window[0])
    assert argv[:2] == ["python", "examples/train_char.py"]
    corpus = ROOT / argv[2]                                  # the text the README names
    # the script the README names, run as written with 3 training steps instead of 300
    done = subprocess.run([sys.executable, str(ROOT / argv[1]), str(corpus), "3"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    torch_loss = float(re.search(r"PyTorch, sequence 3: (\S+)", done.stdout)[1])
    assert np.load(tmp_path / "tokens.npy").shape == (32, 100)

    monkeypatch.chdir(tmp_path)
    argv = shlex.split(to_window[1])
    assert argv[0] == "lstm-engine"
    assert main(argv[1:]) == 0, capsys.readouterr().err
    imported = capsys.readouterr().out
    assert "  embed.weight -> embedding (76×32)" in imported.splitlines()
    assert "vocab.json -> vocab (76 tokens)" in imported.splitlines()
    argv = shlex.split(to_window[2])                         # the window's session
    assert argv[0] == "lstm-viz"
    session = build_session(parse_args(argv[1:]))
    shown = session.model_trace
    assert shown.num_layers == 2 and shown.sequence == 3 and shown.batch == 32
    assert shown.total_loss == pytest.approx(torch_loss, rel=1e-9)
    assert "".join(shown.vocab[:3]) == "abc" and len(shown.vocab) == 76
    assert session.frame_text == "fwd:0:L0:xc"

    outputs = []
    for line in engine_alone:
        argv = shlex.split(line)
        assert argv[0] == "lstm-engine"
        assert main(argv[1:]) == 0, capsys.readouterr().err
        outputs.append(capsys.readouterr().out)
    trace = load_model_trace(tmp_path / "trace.npz")
    assert trace.num_layers == 2 and trace.model.vocab == 76 and trace.model.outputs == 76
    assert trace.sequence == 3 and trace.batch == 32 and trace.variant == "standard"
    assert trace.total_loss == pytest.approx(torch_loss, rel=1e-9)
    assert f"loss {trace.total_loss:.10e} (xent)" in outputs[0]
    assert "sequence 3 of a batch of 32" in outputs[-1]
