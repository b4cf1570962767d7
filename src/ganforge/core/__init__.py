"""Seeding, run folders, checkpoints, logging: the parts every other layer may use."""
from .errors import CheckpointError, ConfigError, DataError, GanforgeError

__all__ = ["GanforgeError", "ConfigError", "DataError", "CheckpointError"]
