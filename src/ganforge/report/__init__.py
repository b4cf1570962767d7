"""``ganforge report RUN``: one self-contained HTML page about a run (RUN/report.html).

What was trained (data, network sizes, config), training curves (losses, D outputs, augmentation
probability and gradient norms when logged), evaluation metrics with their protocol and floor when
present (``eval/*`` stats keys, RUN/eval/*.json), the fixed-latent sample grids as a timeline, the
newest explore pictures, the machine and the training time; MODEL_CARD.md beside the page (report/card.py),
linked from it. Pictures are inlined as base64 data
URIs and the page has no scripts, so it opens offline and can be mailed as one file.
"""
from __future__ import annotations

import os

from ..core.checkpoint import atomic_write_bytes
from ..core.errors import ConfigError
from .card import CARD, model_card
from .collect import RunFacts, collect
from .html import render


def build_report(run_dir: str, out: str | None = None) -> str:
    """Write the report of ``run_dir`` to ``out`` (default RUN/report.html) and return its path."""
    run_dir = os.fspath(run_dir)
    if os.path.isfile(run_dir):
        ckpt_dir = os.path.dirname(os.path.abspath(run_dir))
        run_dir = os.path.dirname(ckpt_dir) if os.path.basename(ckpt_dir) == "checkpoints" else ckpt_dir
    facts = collect(run_dir)
    path = out or os.path.join(run_dir, "report.html")
    if not path.lower().endswith((".html", ".htm")):
        raise ConfigError(f"--out must end in .html, got {path}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    card = os.path.join(os.path.dirname(os.path.abspath(path)), CARD)
    if facts.checkpoint:                    # a card needs weights to describe
        atomic_write_bytes(card, model_card(facts).encode("utf-8"))
        facts.card = card
    atomic_write_bytes(path, render(facts).encode("utf-8"))
    return path


__all__ = ["build_report", "collect", "render", "RunFacts"]
