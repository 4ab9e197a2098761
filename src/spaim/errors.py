"""Exceptions and warnings for problems a user can fix."""

from __future__ import annotations


class SpaIMInputError(ValueError):
    """Invalid user input: the message names the problem and the fix in one line.

    Parameters
    ----------
    message
        One line: the problem, a colon, the fix.
    option
        The keyword argument at fault, if any; the command line names its flag instead.
    """

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class SpaIMWarning(UserWarning):
    """A usable result with a caveat the user should know about (one line, with the fix)."""
