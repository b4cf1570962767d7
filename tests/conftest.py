"""Shared fixtures: tiny configurations that train in a second or two."""
from __future__ import annotations

import os

import pytest

TINY = ["model.z_dim=8", "model.g_width=8", "model.d_width=8", "train.batch=16",
        "train.log_every=5", "train.sample_every=0", "train.ema_warmup=5", "train.progress=false"]


@pytest.fixture
def tiny():
    """--set overrides for a very small model; add your own steps."""
    return list(TINY)


@pytest.fixture(scope="session")
def datasets_dir():
    """The shared real data sets (MNIST, ...), or skip when this machine does not have them."""
    for root in os.environ.get("GANFORGE_DATA", "").split(os.pathsep):
        if root and os.path.isdir(os.path.join(root, "mnist")):
            return root
    pytest.skip("real data sets not found on GANFORGE_DATA")
