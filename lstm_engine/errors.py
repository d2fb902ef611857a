"""The one exception type for bad input: its message is a single line for the user."""


class UserError(ValueError):
    """Bad input (a file, a size, an option): ``str(err)`` is shown to the user as it is."""
