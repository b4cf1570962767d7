"""ONNX export of every generator a recipe declares, each with the recipe's own input names (for the
GAN recipe: ``z`` (N, z_dim) float32 [and ``y`` (N,) int64 class indices]; output ``x`` in the
model's space, images (N, C, H, W) in [-1, 1]) and a dynamic batch axis N. Written by torch's
TorchScript-based exporter, which needs only the ``onnx`` package (``pip install ganforge[export]``).

A recipe with one generator gives the one file asked for; with several (a translator's G_AB and
G_BA), ``out.onnx`` becomes ``out-G_AB.onnx``, ``out-G_BA.onnx``.
"""
from __future__ import annotations

import os
import warnings

import torch

from ..core.errors import ConfigError
from ..engine import open_run
from .card import write_card

DEFAULT_OPSET = 17


def export_module(recipe, path: str, opset: int = DEFAULT_OPSET, component: str | None = None) -> str:
    """Write one generator of ``recipe`` (default: its first) as an ONNX graph to ``path``."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise ConfigError("ONNX export needs the onnx package: pip install onnx (or ganforge[export])") from None
    spec = recipe.export_spec(component or next(iter(recipe.generators())))
    dynamic = {k: {0: "batch"} for k in spec.inputs + spec.outputs}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes are not the user's concern
        torch.onnx.export(spec.module, spec.example, path, dynamo=False, input_names=spec.inputs,
                          output_names=spec.outputs, dynamic_axes=dynamic, opset_version=opset)
    return path


def export_onnx(run: str, out: str, opset: int = DEFAULT_OPSET) -> str | list[str]:
    """Export a run's generators (their averaged copies) to ONNX: the path written, or one per generator."""
    if not out.lower().endswith(".onnx"):
        raise ConfigError(f"--out for ONNX export must end in .onnx, got {out}")
    recipe = open_run(run).recipe
    components = list(recipe.generators())
    stem = out[:-len(".onnx")]
    if len(components) == 1:
        written = [export_module(recipe, out, opset, components[0])]
    else:
        written = [export_module(recipe, f"{stem}-{name}.onnx", opset, name) for name in components]
    write_card(run, card_path(out), ", ".join(os.path.basename(w) for w in written))
    return written[0] if len(written) == 1 else written


def card_path(out: str) -> str:
    """Where the model card of an ONNX export ``out`` goes: ``<name>.MODEL_CARD.md`` beside it."""
    return out[:-len(".onnx")] + ".MODEL_CARD.md"


__all__ = ["export_module", "export_onnx", "card_path", "DEFAULT_OPSET"]
