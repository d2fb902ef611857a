"""Messages are one safe line naming the file or the option (issue 14, classes 18-22).

A file name or a file's text may hold a newline, an escape sequence or a bidi override:
the message shows them escaped. Every option with a type refuses hostile text in one line
that names the option; derived from the parser, so a new option is covered too."""

import argparse

import numpy as np
import pytest

from lstm_engine import cli, io, tasks
from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line, quote

HOSTILE_CHARS = ["\n", "\r", "\x1b[31m", "\x85", "\u2028", "\u202e", "\x00", "\t", "\udcff"]


def _safe(message: str) -> bool:
    return message.isprintable() and len(message.splitlines()) <= 1


@pytest.mark.parametrize("ch", HOSTILE_CHARS)
def test_one_line_escapes_every_line_breaking_or_invisible_character(ch):
    text = f"a{ch}b é \\ 日本"
    shown = one_line(text)
    assert _safe(shown), repr(shown)
    assert shown.startswith("a\\") and shown.endswith("b é \\ 日本")
    shown.encode("utf-8")                                 # no lone surrogate left


def test_quote_cuts_text_from_a_file_and_user_errors_are_one_line():
    assert len(quote("x" * 10**6)) < 100
    err = UserError("first\nsecond\x1b[2J third")
    assert str(err) == "first\\nsecond\\x1b[2J third"


@pytest.mark.parametrize("ch", HOSTILE_CHARS[:6])
def test_reader_messages_escape_control_characters_in_the_file_name(tmp_path, ch):
    for suffix, load in ((".npz", io.load_trace), (".npy", io.load_npy),
                         (".csv", tasks.read_table)):
        path = tmp_path / f"bad{ch}name{suffix}"
        path.write_bytes(b"PK\x03\x04 garbage \xff" if suffix != ".csv" else b"1,2\n3,\x1b\n")
        with pytest.raises(UserError) as info:
            load(path)
        message = str(info.value)
        assert _safe(message), repr(message)
        assert one_line(str(path)) in message


def test_a_csv_cell_of_escape_sequences_and_megabytes_is_quoted_short(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2\n3,\x1b[2J" + "9" * 2_000_000 + "x\n")
    with pytest.raises(UserError) as info:
        tasks.read_table(path)
    message = str(info.value)
    assert _safe(message) and len(message) < 300 and "\\x1b[2J" in message


def test_meta_text_of_a_trace_is_quoted_short(tmp_path):
    from lstm_engine import init_uniform, record

    rng = np.random.default_rng(0)
    trace = record(init_uniform(2, 3, rng), rng.standard_normal((4, 2)),
                   rng.standard_normal(4))
    io.save_trace(tmp_path / "t.npz", trace)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    meta = io._parse_meta(arrays, tmp_path / "t.npz")
    meta["variant"] = "\x1b]0;owned\x07" + "v" * 100_000
    with pytest.raises(UserError) as info:
        io.trace_from_arrays(arrays, meta, "t.npz")
    assert _safe(str(info.value)) and len(str(info.value)) < 200


def test_the_cli_prints_file_names_and_errors_as_one_line(tmp_path, capsys):
    from lstm_engine import init_uniform

    name = tmp_path / "two\nlines\x1b[31m.npz"
    io.save_params(name, init_uniform(2, 3, np.random.default_rng(0)))
    assert cli.main(["info", str(name)]) == 0
    out, _ = capsys.readouterr()
    assert len(out.splitlines()) == 1 and _safe(out.rstrip("\n")), repr(out)
    assert cli.main(["info", str(tmp_path / "missing\n\x1b[2J.npz")]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and _safe(err.rstrip("\n")), repr(err)


def test_an_unforeseen_error_with_control_characters_is_one_line(capsys, monkeypatch):
    def boom(args):
        raise RuntimeError("first\nsecond\x1b[31m")
    monkeypatch.setattr(cli, "cmd_info", boom)
    monkeypatch.delenv("LSTM_VIZ_DEBUG", raising=False)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), boom))
    assert cli.main(["info", "x.npz"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and _safe(err.rstrip("\n")) and "RuntimeError" in err


def _with_func(parser, func):
    parser._subparsers._group_actions[0].choices["info"].set_defaults(func=func)
    return parser


# ---- every typed option of every subcommand -------------------------------------------------

def _typed_options():
    parser = cli.build_parser()
    sub = parser._subparsers._group_actions[0]
    for command, p in sub.choices.items():
        for action in p._actions:
            if action.option_strings and action.type is not None:
                yield command, action.option_strings[-1]


HOSTILE_VALUES = ["-1", "abc", "nan", "inf", "-inf", "1e999", "0", "9" * 5000, "1\n2\x1b[31m",
                  "", "0x10", "1.5e308"]


@pytest.mark.parametrize("command,option", list(_typed_options()))
def test_every_typed_option_refuses_hostile_text_in_one_line_naming_it(capsys, command,
                                                                       option):
    """Each value is either accepted (and the command then fails or runs, but in one
    line) or refused by argparse with exit 2 in one line that names the option."""
    parser = cli.build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    # the command's required options, given, so that only the value under test can fail
    required = [f"{a.option_strings[-1]}=f.npz" for a in sub._actions
                if a.required and a.option_strings]
    for value in HOSTILE_VALUES:
        try:
            parser.parse_args([command, *required, f"{option}={value}"])
        except SystemExit as stop:
            _, err = capsys.readouterr()
            assert stop.code == 2
            assert err.count("\n") == 1 and _safe(err.rstrip("\n")), (option, value, err)
            assert option in err and len(err) < 300, (option, value, err)
        else:
            capsys.readouterr()


@pytest.mark.parametrize("argv,words", [
    (["gradcheck", "--demo", "--seed", "-1"], "--seed: expected an integer from 0 to"),
    (["train", "--seed", "-1"], "--seed: expected an integer from 0 to"),
    (["train", "--seed", str(2**40)], "--seed: expected an integer from 0 to"),
    (["train", "--lr", "1e999"], "--lr: expected a positive finite number"),
    (["train", "--steps", "9" * 5000], "--steps: expected an integer"),
    (["demo", "--lr", "nan"], "--lr: expected a positive finite number"),
])
def test_options_named_with_their_valid_range(capsys, argv, words):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    _, err = capsys.readouterr()
    assert stop.value.code == 2 and err.count("\n") == 1 and words in err, err


@pytest.mark.parametrize("argv", [
    ["nonsense"], [], ["train", "--task"], ["train", "--task", "x\n\x1b"], ["record"],
    ["info"], ["info", "a", "b"], ["gradcheck", "--bogus"], ["train", "--t", "1"],
    ["export-torch"], ["import-torch", "m.npz"], ["demo", "--variant", "\u202e"],
])
def test_argument_errors_of_every_subcommand_are_one_line(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    _, err = capsys.readouterr()
    assert stop.value.code == 2
    assert err.count("\n") == 1 and _safe(err.rstrip("\n")), repr(err)
    assert err.startswith("lstm-engine")


def test_task_options_that_overflow_are_refused_in_one_line(capsys):
    for option in ("length=" + "9" * 5000, "noise=1e999", "period=1e400,1e401",
                   "delay=-1", "length=\x1b[2J"):
        code = cli.main(["train", "--task", "sine" if "delay" not in option else "copy",
                         "--steps", "1", "--task-option", option])
        _, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and _safe(err.rstrip("\n")), (option, err)
        assert len(err) < 300, err


def test_argparse_type_errors_stay_argument_type_errors():
    from lstm_engine.cli_experiments import count, positive_float, seed
    for fn, text in ((count, "-1"), (seed, "-1"), (positive_float, "0")):
        with pytest.raises(argparse.ArgumentTypeError):
            fn(text)


def test_the_file_task_without_data_names_the_option(capsys):
    assert cli.main(["train", "--task", "file", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--task file needs --data" in err
