"""Values read from a file, checked for type, finiteness and range before anything adopts
them. No Qt.

A saved session's ``meta`` is JSON anyone can edit: a number may be NaN, ±Infinity,
``1e999`` (which JSON reads as infinity), a bool where a count belongs, or a count beyond
what the window's controls hold (Qt's ints are 32-bit); a text may be megabytes long or
hold markup and control characters. ``check_tree`` refuses what no field may hold
anywhere (a non-finite number, an integer beyond 64 bits, a very long text, too many
entries); the field checks (``count``, ``number``, ``flag``, ``text``) then check each
field against its own range. Every problem is one ``UserError`` line naming the file,
the field and the value (cut and escaped: ``textsafe.show``).
"""

from __future__ import annotations

import math

from lstm_engine.errors import UserError
from lstm_engine.textsafe import show

QT_INT = 2**31 - 1             # the largest value a Qt spin box, slider or progress bar holds
MAX_TEXT = 4096                # characters of any one text in a saved session's meta
MAX_ITEMS = 100_000            # entries of any one list or object in it
INT64 = 2**63


def _walk(value, where: str):  # noqa: PLR0912 - one branch per JSON value type, each refusing its own kind of hostile value
    """Yield (where, problem) for each value no field may hold (an explicit stack, not
    recursion: JSON nested as deep as the parser allows is walked too)."""
    stack = [(value, where)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                yield where, f"holds {value!r}, not a finite number"
        elif isinstance(value, int):
            if abs(value) >= INT64:
                yield where, "holds an integer beyond 64 bits"
        elif isinstance(value, str):
            if len(value) > MAX_TEXT:
                yield where, f"holds a text of {len(value)} characters (at most {MAX_TEXT})"
        elif isinstance(value, list | dict):
            if len(value) > MAX_ITEMS:
                yield where, f"holds {len(value)} entries (at most {MAX_ITEMS})"
                continue
            if isinstance(value, dict):
                stack.extend((v, f"{where}.{k}") for k, v in reversed(value.items()))
            else:
                stack.extend((v, f"{where}[{k}]") for k, v in reversed(list(enumerate(value))))
        else:
            yield where, f"holds a {type(value).__name__}"


def check_tree(value, path, name: str = "meta") -> None:
    """UserError for the first value anywhere in ``value`` that no field may hold."""
    for where, problem in _walk(value, name):
        raise UserError(f"{path}: {show(where, 120)} {problem}")


def count(value, what: str, high: int = QT_INT, low: int = 0) -> int:
    """An integer from ``low`` to ``high`` (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{what} must be an integer from {low} to {high}, got {show(value)}")
    return value


def number(value, what: str, low: float, high: float) -> float:
    """A finite number from ``low`` to ``high`` (an int or a float, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not low <= value <= high:
        raise UserError(f"{what} must be a number from {low:g} to {high:g}, got {show(value)}")
    return float(value)


def flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{what} must be true or false, got {show(value)}")
    return value


def text(value, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise UserError(f"{what} must be a text of at most {limit} characters, "
                        f"got {show(value)}")
    return value
