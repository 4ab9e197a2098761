"""Exceptions raised for problems a user can fix."""


class SpaIMInputError(ValueError):
    """Invalid user input: the message names the problem and the fix in one line."""
