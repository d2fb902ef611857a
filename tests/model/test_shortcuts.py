"""The key-binding table without Qt: every command is a callable that runs one command
the session, the window or its workbench declares, and no two bindings run the same."""

import inspect

from commands import calls_of

from lstm_viz.model.session import Session
from lstm_viz.model.shortcuts import BINDINGS, BY_ID, WindowCommands, WorkbenchCommands


def _declares(cls, name: str) -> bool:
    return inspect.isfunction(vars(cls).get(name))


def test_every_binding_runs_exactly_one_declared_command():
    for b in BINDINGS:
        assert callable(b.command), b.id
        calls = calls_of(b.command)
        assert len(calls) == 1, (b.id, calls)
        owner, _, name = calls[0].rpartition(".")
        if owner == "session":
            assert not name.startswith("_") and callable(getattr(Session, name, None)), b.id
        elif owner == "workbench":
            assert _declares(WorkbenchCommands, name), b.id
        else:
            assert owner == "" and _declares(WindowCommands, name), b.id


def test_no_two_bindings_run_the_same_command():
    commands = [calls_of(b.command)[0] for b in BINDINGS]
    assert len(set(commands)) == len(commands)


def test_a_motion_and_its_reverse_are_run_by_the_same_owner():
    # F11 and Ctrl+F11 both move the session's cursor; Ctrl+Right and Ctrl+Left both go
    # through the workbench (the iteration)
    assert calls_of(BY_ID["step_into"].command) == ["session.step_into"]
    assert calls_of(BY_ID["step_back_into"].command) == ["session.step_back_into"]
    for b in BINDINGS:
        if b.reverse:
            forward, back = calls_of(b.command)[0], calls_of(BY_ID[b.reverse].command)[0]
            assert forward.rpartition(".")[0] == back.rpartition(".")[0], b.id
