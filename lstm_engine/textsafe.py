"""Text that is safe to show as one line: the message rule of docs/file-formats.md.

A file name may hold a newline, an ANSI escape sequence or a right-to-left override, and a
file's own text (a CSV cell, a ``meta`` string, a zip member's name) may hold anything.
``one_line`` writes every such character as its escape (``\\n``, ``\\x1b``, ``\\u202e``),
the way ``repr`` would, and leaves everything else (backslashes, accents, other scripts)
as it is, so a message stays one readable line on a terminal and in a dialog.
"""

from __future__ import annotations

import unicodedata

# The categories that move the cursor, end a line or change how the rest is drawn:
# controls (Cc: \n \r \x1b \x85 …), format characters (Cf: bidi overrides, zero-width
# marks), line and paragraph separators (Zl, Zp) and lone surrogates (Cs: the bytes of
# a non-UTF-8 file name, which no terminal encoding can print).
_UNSAFE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# A message longer than this is cut (a path is at most a few thousand characters; a
# longer message is text from a file that nobody reads to the end).
MESSAGE_LIMIT = 8000


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def one_line(text, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` (anything; str() is taken) with every unsafe character escaped, cut to
    ``limit`` characters with an ellipsis."""
    text = str(text)
    if not text.isprintable() or any(unicodedata.category(c) in _UNSAFE for c in text):
        text = "".join(_escape(c) if unicodedata.category(c) in _UNSAFE else c for c in text)
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


def quote(text, limit: int = 80) -> str:
    """Text from a file, quoted for a message: ``'abc'``, escaped like ``one_line`` and
    cut to about ``limit`` characters (a megabyte-long cell must not become the message)."""
    text = str(text)
    cut = len(text) > limit
    shown = one_line(text[:limit] if cut else text).replace("'", "\\'")
    return f"'{shown}…'" if cut else f"'{shown}'"


def show(value, limit: int = 80) -> str:
    """Any value from a file or the user, for a message: a string quoted (``quote``),
    anything else as its ``repr``, escaped and cut the same way."""
    if isinstance(value, str):
        return quote(value, limit)
    text = repr(value)
    return one_line(text[:limit] + "…" if len(text) > limit else text)
