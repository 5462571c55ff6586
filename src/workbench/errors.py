"""Errors a user can cause. The CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """A problem with the user's input: names what is wrong, where, and what to do."""


class ConfigError(UserError):
    """A config value or override that cannot be used."""
