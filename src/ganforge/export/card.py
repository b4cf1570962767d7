"""The model card that travels with exported weights: MODEL_CARD.md in a model folder, ``<name>.MODEL_CARD.md``
beside an ONNX file (report/card.py writes it from the run's own records)."""
from __future__ import annotations

import os
import shutil

from ..core import bundle
from ..core.checkpoint import atomic_write_bytes
from ..report.card import CARD, model_card
from ..report.collect import collect


def run_folder(path: str) -> str:
    """The run folder of a run folder or one of its checkpoint files."""
    if os.path.isfile(path):
        folder = os.path.dirname(os.path.abspath(path))
        return os.path.dirname(folder) if os.path.basename(folder) == "checkpoints" else folder
    return path


def write_card(source: str, target: str, weights: str) -> str | None:
    """Write the card of ``source`` (a run, or a model folder that has one) to ``target``; its path, or None when
    the source is a model folder without a card."""
    if bundle.is_bundle(source):
        have = os.path.join(source, CARD)
        if not os.path.isfile(have):
            return None
        if os.path.abspath(have) != os.path.abspath(target):
            shutil.copyfile(have, target)
        return target
    atomic_write_bytes(target, model_card(collect(run_folder(source)), weights).encode("utf-8"))
    return target


__all__ = ["write_card", "run_folder"]
