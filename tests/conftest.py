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


def pytest_terminal_summary(terminalreporter):
    """One closing line when tests skipped for want of the real data sets, and how to give them."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = [r for r in skipped if "GANFORGE_DATA" in str(getattr(r, "longrepr", ""))]
    if missing:
        terminalreporter.write_line(
            f"{len(missing)} test(s) skipped: the real data sets were not found; point GANFORGE_DATA at the "
            "folder that holds mnist/, adult/, fsdd/, seqgan_oracle/ ... "
            "(e.g. export GANFORGE_DATA=../shared/datasets)")
