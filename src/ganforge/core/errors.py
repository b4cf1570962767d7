"""Errors a user can cause. The CLI prints them as one line and exits non-zero; anything else is a bug."""


class GanforgeError(Exception):
    """Base class: a message that tells the user what is wrong and how to fix it."""


class ConfigError(GanforgeError):
    """A wrong config key, type or value."""


class DataError(GanforgeError):
    """A missing, empty, corrupt or inconsistent data source."""


class CheckpointError(GanforgeError):
    """A missing, corrupt or incompatible checkpoint or run folder."""
