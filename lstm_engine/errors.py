"""The one exception type for bad input: its message is a single line for the user."""

import math

from .textsafe import one_line, show


class UserError(ValueError):
    """Bad input (a file, a size, an option): ``str(err)`` is shown to the user as it is.

    The message is made one safe line here, once for every message: a file name or a
    file's text with a newline or an escape sequence in it cannot break the one-line
    rule wherever the message is shown (``textsafe.one_line``)."""

    def __init__(self, message="", *args):
        super().__init__(one_line(message), *args)


def finite_number(text: str, what: str) -> float:
    """``text`` (a breakpoint's or an intervention's field) as a finite float, or a
    UserError naming ``what`` and quoting the text safely."""
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{what} must be a number, got {show(text)}") from None
    if not math.isfinite(value):
        raise UserError(f"{what} must be a finite number, got {show(text)}")
    return value
