"""Evaluation metrics on feature arrays (N, D): each returns plain floats / dicts (JSON-able).

Distances: FD and FD-infinity (fd.py), KID (kid.py), precision/recall, density/coverage, 1-NN
accuracy and memorisation (prdc.py, on the chunked k-NN of knn.py); mode statistics (modes.py).
``compute`` (registry.py) runs several by name and adds the real-vs-real floor of each distance.
Bad feature arrays raise :class:`MetricInputError`, both a ValueError and a ``DataError``.
"""
from .fd import FDStats, fd_from_stats, fd_infinity, fd_stats, frechet_distance, load_fd_stats, save_fd_stats
from .kid import kid
from .knn import MetricInputError, knn_cross, knn_self
from .modes import label_kl_split, label_modes, reverse_kl_uniform, toy_modes
from .prdc import density_coverage, memorisation, one_nn_accuracy, prdc, precision_recall
from .registry import available, compute, default_metrics, floor_split, get_metric, register, with_floor

__all__ = [
    "FDStats", "fd_from_stats", "fd_infinity", "fd_stats", "frechet_distance", "load_fd_stats", "save_fd_stats",
    "kid", "MetricInputError", "knn_cross", "knn_self", "label_kl_split", "label_modes", "reverse_kl_uniform",
    "toy_modes",
    "density_coverage", "memorisation", "one_nn_accuracy", "prdc", "precision_recall",
    "available", "compute", "default_metrics", "floor_split", "get_metric", "register", "with_floor",
]
