"""The one exception type for bad input: its message is a single line for the user."""

from .textsafe import one_line


class UserError(ValueError):
    """Bad input (a file, a size, an option): ``str(err)`` is shown to the user as it is.

    The message is made one safe line here, once for every message: a file name or a
    file's text with a newline or an escape sequence in it cannot break the one-line
    rule wherever the message is shown (``textsafe.one_line``)."""

    def __init__(self, message="", *args):
        super().__init__(one_line(message), *args)
