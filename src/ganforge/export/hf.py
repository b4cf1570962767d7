"""A model folder (Hugging Face style) holding every generator of a run, and the frozen networks
sampling needs; ``ganforge.load(folder)`` reads it back. The layout is in core/bundle.py:

    out/model_index.json, out/<component>/model.safetensors, out/frozen/<name>.safetensors, out/MODEL_CARD.md
"""
from __future__ import annotations

import json
import os
import shutil

from ..core import bundle
from ..core.checkpoint import atomic_write_bytes, is_leftover, save_tensors
from ..core.errors import ConfigError
from ..engine import open_run
from ..report.card import CARD
from ..version import __version__
from .card import write_card

WEIGHTS = "model.safetensors"


def export_hf(run: str, out: str) -> str:
    """Write ``out``/model_index.json and one safetensors file per generator; returns ``out``."""
    if os.path.isfile(out):
        raise ConfigError(f"--out for hf export is a folder, but {out} is a file")
    opened = open_run(run)
    recipe = opened.recipe
    os.makedirs(out, exist_ok=True)
    _clear_leftovers(out)
    components = {}
    for name, net in recipe.generators().items():
        rel = f"{name}/{WEIGHTS}"
        os.makedirs(os.path.join(out, name), exist_ok=True)
        save_tensors(os.path.join(out, rel), recipe.nets[net].state_dict(), {"format": "pt"})
        spec = _describe(recipe, name)
        components[name] = {"net": net, "weights": rel, **spec}
    frozen = {}
    for name, ref in recipe.frozen_refs.items():  # the frozen parts travel with the generators
        rel = f"frozen/{name}.safetensors"
        os.makedirs(os.path.join(out, "frozen"), exist_ok=True)
        shutil.copyfile(ref["file"], os.path.join(out, rel))
        frozen[name] = {"weights": rel, "sha256": ref["sha256"], "file": ref["file"]}
    doc = {"library_name": "ganforge", "model_type": bundle.MODEL_TYPE, "ganforge_version": __version__,
           "recipe": recipe.name, "step": opened.step, "components": components, "frozen": frozen,
           "config": opened.config.to_dict(), "data": opened.data_info}
    write_card(run, os.path.join(out, CARD), os.path.basename(os.path.normpath(out)))
    atomic_write_bytes(os.path.join(out, bundle.INDEX), json.dumps(doc, indent=2).encode())
    return out


def _describe(recipe, component: str) -> dict:
    """The component's input and output names, when the recipe can export it as a graph."""
    try:
        spec = recipe.export_spec(component)
    except ConfigError:
        return {}
    return {"inputs": {k: [None, *v.shape[1:]] for k, v in zip(spec.inputs, spec.example)},
            "outputs": spec.outputs, "output": spec.describe}


def _clear_leftovers(folder: str) -> None:
    """Temporary files of an earlier export that was killed."""
    for root, _, names in os.walk(folder):
        for entry in names:
            if is_leftover(entry):
                os.remove(os.path.join(root, entry))


def is_pretrained_folder(path: str) -> bool:
    return bundle.is_bundle(path)


__all__ = ["export_hf", "is_pretrained_folder"]
