"""A stand-in for the window that records which commands a binding runs on it."""

from __future__ import annotations


class CallRecorder:
    """Any attribute path, called, is appended to ``calls`` as its dotted name:
    ``r.session.step_into()`` records ``"session.step_into"``."""

    def __init__(self, calls: list[str] | None = None, path: tuple[str, ...] = ()):
        self._calls = [] if calls is None else calls
        self._path = path

    def __getattr__(self, name: str) -> CallRecorder:
        if name.startswith("__"):
            raise AttributeError(name)
        return CallRecorder(self._calls, self._path + (name,))

    def __call__(self, *args, **kwargs) -> None:
        self._calls.append(".".join(self._path))

    @property
    def calls(self) -> list[str]:
        return self._calls


def calls_of(command) -> list[str]:
    """What ``command`` (a binding's) calls when run on a window."""
    recorder = CallRecorder()
    command(recorder)
    return recorder.calls
