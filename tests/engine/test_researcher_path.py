"""The researcher's path as README.md shows it: the training script saved from the README,
run (a few steps), then the README's lstm-engine commands, no hand-made arrays. The
recorded loss of sequence 3 must be PyTorch's (summed over its steps) to 1e-9."""

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
    part = section()
    script = re.search(r"```python\n(.*?)```", part, re.S)[1]
    commands = re.search(r"```sh\n(.*?)```", part, re.S)[1].strip().splitlines()
    assert commands[0].split()[:2] == ["python", "train_char.py"]
    (tmp_path / "train_char.py").write_text(script, encoding="utf-8")
    corpus = ROOT / shlex.split(commands[0])[2]              # the text the README names
    # the script as the README runs it, with 3 training steps instead of 300
    done = subprocess.run([sys.executable, "train_char.py", str(corpus), "3"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    torch_loss = float(re.search(r"PyTorch, sequence 3: (\S+)", done.stdout)[1])
    assert np.load(tmp_path / "tokens.npy").shape == (32, 100)

    monkeypatch.chdir(tmp_path)
    outputs = []
    for line in commands[1:]:
        argv = shlex.split(line)
        assert argv[0] == "lstm-engine"
        assert main(argv[1:]) == 0, capsys.readouterr().err
        outputs.append(capsys.readouterr().out)
    trace = load_model_trace(tmp_path / "trace.npz")
    assert trace.num_layers == 2 and trace.model.vocab == 76 and trace.model.outputs == 76
    assert trace.sequence == 3 and trace.batch == 32 and trace.variant == "standard"
    assert trace.total_loss == pytest.approx(torch_loss, rel=1e-9)
    assert "  embed.weight -> embedding (76×32)" in outputs[0].splitlines()
    assert f"loss {trace.total_loss:.10e} (xent)" in outputs[1]
    assert "sequence 3 of a batch of 32" in outputs[-1]
