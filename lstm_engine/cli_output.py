"""The command line's standard output and error, guarded.

``guarded_streams()`` wraps ``sys.stdout`` and ``sys.stderr`` for one command:

* text the terminal's encoding cannot show (a non-ASCII file name under ``LANG=C`` or
  ``PYTHONIOENCODING=ascii``) is written with backslash escapes instead of raising
  ``UnicodeEncodeError``;
* a failed write to standard output (``BrokenPipeError`` when ``… | head -1`` has
  closed the pipe, ``ENOSPC`` on ``> /dev/full``, any other OSError) raises
  ``OutputClosed`` once, for the command to stop as Ctrl+C stops it; later writes are
  dropped, and the descriptor is pointed at the null device so that the interpreter's
  last flush at exit has nothing to complain about;
* a failed write to standard error is dropped: there is nowhere left to report it.
"""

from __future__ import annotations

import contextlib
import os
import sys


class OutputClosed(Exception):
    """Standard output can no longer be written; ``reason`` says why (``Broken pipe``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GuardedStream:
    """A text stream that escapes what its encoding cannot hold and turns an output error
    into one ``OutputClosed`` (``raises=True``) or silence."""

    def __init__(self, stream, raises: bool):
        self._stream, self._raises = stream, raises
        self.error: str | None = None          # why writing stopped, once it has

    def write(self, text: str) -> int:
        if self.error is None:
            self._guard(self._write, text)
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            self._guard(self._stream.flush)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            self._stream.write(text.encode(encoding, "backslashreplace")
                               .decode(encoding, "replace"))

    def _guard(self, call, *args) -> None:
        try:
            call(*args)
        except (OSError, ValueError) as err:        # ValueError: the file was closed
            self.error = " ".join(str(getattr(err, "strerror", None) or err).split()) \
                or type(err).__name__
            self._silence()
            if self._raises:
                raise OutputClosed(self.error) from None

    def _silence(self) -> None:
        with contextlib.suppress(Exception):
            fd = self._stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)

    def isatty(self) -> bool:
        try:
            return self.error is None and self._stream.isatty()
        except (OSError, ValueError, AttributeError):
            return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_streams():
    """``sys.stdout`` and ``sys.stderr`` guarded for the ``with`` block, restored after."""
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = GuardedStream(old_out, raises=True) if old_out is not None else None
    sys.stderr = GuardedStream(old_err, raises=False) if old_err is not None else None
    try:
        yield sys.stdout
    finally:
        sys.stdout, sys.stderr = old_out, old_err
