"""The training loop, EMA and batching. Knows recipes, never concrete networks."""
from .loop import Trainer, data_info, load_run_config, resolve_device, write_run_files

__all__ = ["Trainer", "data_info", "load_run_config", "resolve_device", "write_run_files"]
