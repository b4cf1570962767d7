"""A Hugging Face style folder for the sampling generator, and its reader.

    out/model.safetensors   G_ema's state dict (tensor names as in the network)
    out/config.json         {"library_name": "ganforge", "config": <resolved ganforge config>,
                             "data": <data info>, "net": "G_ema", "step": ..., ...}

``ganforge.load(out)`` rebuilds the generator from these two files alone (no pickle, no code).
"""
from __future__ import annotations

import json
import os

from safetensors import SafetensorError
from safetensors.torch import load_file

from .. import __version__
from ..core.checkpoint import atomic_write_bytes, is_leftover, save_tensors
from ..core.errors import CheckpointError, ConfigError

WEIGHTS, CONFIG = "model.safetensors", "config.json"
MODEL_TYPE = "ganforge-generator"


def is_pretrained_folder(path: str) -> bool:
    path = os.fspath(path)
    return os.path.isfile(os.path.join(path, WEIGHTS)) and os.path.isfile(os.path.join(path, CONFIG))


def export_hf(run: str, out: str) -> str:
    """Write ``out``/model.safetensors and ``out``/config.json for the run's G_ema; returns ``out``."""
    from ..api import load
    if os.path.isfile(out):
        raise ConfigError(f"--out for hf export is a folder, but {out} is a file")
    g = load(run)
    name = g.recipe.sampler_net()
    net = g.recipe.nets[name]
    os.makedirs(out, exist_ok=True)
    for entry in os.listdir(out):  # temporary files of an earlier export that was killed
        if is_leftover(entry):
            os.remove(os.path.join(out, entry))
    save_tensors(os.path.join(out, WEIGHTS), net.state_dict(), {"format": "pt"})
    inputs = {"z": [None, g.recipe.z_dim]}
    if g.num_classes:
        inputs["y"] = [None]
    doc = {"library_name": "ganforge", "model_type": MODEL_TYPE, "ganforge_version": __version__,
           "net": name, "recipe": g.meta.get("recipe", "gan"), "step": g.step, "inputs": inputs,
           "output": "images (N, C, H, W) in [-1, 1]" if g.data_info.get("kind") == "image" else "vectors",
           "config": g.config.to_dict(), "data": g.data_info}
    atomic_write_bytes(os.path.join(out, CONFIG), json.dumps(doc, indent=2).encode())
    return out


def load_pretrained(path: str, device: str = "cpu"):
    """A :class:`ganforge.api.Generator` from a folder written by :func:`export_hf`."""
    from .. import config as C
    from ..api import Generator
    from ..engine import resolve_device
    from ..engine.speed import use_channels_last
    from ..recipes import build_recipe
    path = os.fspath(path)
    try:
        with open(os.path.join(path, CONFIG)) as f:
            doc = json.load(f)
        cfg, data = C.from_dict(doc["config"]), doc["data"]
        tensors = load_file(os.path.join(path, WEIGHTS))
    except (OSError, ValueError, KeyError, SafetensorError) as e:
        raise CheckpointError(f"cannot read exported generator {path}: {str(e).splitlines()[0]}") from None
    if doc.get("model_type") != MODEL_TYPE:
        raise CheckpointError(f"{path}/{CONFIG} is not a ganforge generator export (model_type "
                              f"{doc.get('model_type')!r})")
    g = Generator.__new__(Generator)  # the same object a checkpoint gives, filled from the folder
    g.checkpoint, g.config, g.data_info, g.step = path, cfg, data, int(doc.get("step", 0))
    g.meta = {"config": doc["config"], "data": data, "step": g.step, "version": doc.get("ganforge_version"),
              "recipe": doc.get("recipe")}
    g.device = resolve_device(device)
    g.recipe = build_recipe(cfg, data, g.device)
    name = doc.get("net", g.recipe.sampler_net())
    try:
        for target in {name, "G"} & set(g.recipe.nets):  # G mirrors G_ema so net="G" is not random
            g.recipe.nets[target].load_state_dict({k: v.to(g.device) for k, v in tensors.items()})
    except RuntimeError as e:
        raise CheckpointError(f"{path}/{WEIGHTS} does not match its config.json: {str(e).splitlines()[0]}") from None
    for net in g.recipe.nets.values():
        net.eval()
    use_channels_last(g.recipe.nets, None, g.device)  # as api.Generator does
    return g


__all__ = ["export_hf", "load_pretrained", "is_pretrained_folder"]
