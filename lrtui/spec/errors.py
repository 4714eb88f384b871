"""The one exception type that reaches the user as a single `lrtui: error:` line."""


class SpecError(ValueError):
    """Bad user input: the message names what was wrong and is shown without a traceback."""
