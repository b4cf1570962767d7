"""The training loop, EMA and batching (they know recipes, never concrete networks), and the one
way to train, resume and open a run (runs.py)."""
from . import privacy  # noqa: F401  (registers the privacy training hook)
from .loop import Trainer, data_info, load_run_config, resolve_device, write_run_files
from .runs import OpenedRun, TrainResult, open_run, resume_run, train_run

__all__ = ["Trainer", "data_info", "load_run_config", "resolve_device", "write_run_files", "OpenedRun",
           "TrainResult", "open_run", "resume_run", "train_run"]
