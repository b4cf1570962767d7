"""Model folders: a trained model's generators as plain files, the inverse of opening them.

    out/model_index.json          {"library_name": "ganforge", "model_type": "ganforge-model", "recipe",
                                   "step", "config", "data", "components": {name: {"net", "weights", ...}},
                                   "frozen": {name: {"weights", "sha256"}}}
    out/<component>/model.safetensors   one generator's state dict (tensor names as in the network)
    out/frozen/<name>.safetensors       the frozen networks sampling needs (copied, checked by sha256)

Every generator a recipe declares is a component, so a two-generator translator exports whole (as
diffusers' model_index.json lists a pipeline's parts). Folders written by earlier versions
(``config.json`` + ``model.safetensors``, one generator) are read too. Nothing here runs code:
JSON and safetensors only.
"""
from __future__ import annotations

import json
import os
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from .errors import CheckpointError

INDEX = "model_index.json"
MODEL_TYPE = "ganforge-model"
OLD_CONFIG, OLD_WEIGHTS, OLD_TYPE = "config.json", "model.safetensors", "ganforge-generator"


def is_bundle(path: str) -> bool:
    path = os.fspath(path)
    if not os.path.isdir(path):
        return False
    if os.path.isfile(os.path.join(path, INDEX)):
        return True
    return os.path.isfile(os.path.join(path, OLD_WEIGHTS)) and os.path.isfile(os.path.join(path, OLD_CONFIG))


def read_index(path: str) -> dict[str, Any]:
    """The folder's index, in the current layout whichever layout the folder has."""
    new = os.path.join(path, INDEX)
    name = new if os.path.isfile(new) else os.path.join(path, OLD_CONFIG)
    try:
        with open(name) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot read model folder {path}: {str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{name} does not hold a ganforge model index")
    if name == new:
        if doc.get("model_type") != MODEL_TYPE:
            raise CheckpointError(f"{name} is not a ganforge model index (model_type {doc.get('model_type')!r})")
        return doc
    if doc.get("model_type") != OLD_TYPE:
        raise CheckpointError(f"{name} is not a ganforge generator export (model_type {doc.get('model_type')!r})")
    doc = dict(doc)
    doc["components"] = {"generator": {"net": doc.get("net", "G_ema"), "weights": OLD_WEIGHTS}}
    return doc


def check_index(doc: dict[str, Any], path: str) -> None:
    for key in ("config", "data", "components"):
        if key not in doc:
            raise CheckpointError(f"model folder {path} has no '{key}' in its index")


def read_weights(path: str, rel: str) -> dict[str, torch.Tensor]:
    full = os.path.join(path, rel)
    try:
        return load_file(full)
    except (OSError, SafetensorError, ValueError) as e:
        raise CheckpointError(f"cannot read {full}: {str(e).splitlines()[0]}") from None


__all__ = ["INDEX", "MODEL_TYPE", "is_bundle", "read_index", "check_index", "read_weights"]
