"""ONNX export of the sampling generator: inputs ``z`` (N, z_dim) float32 [and ``y`` (N,) int64 class
indices for conditional models], output ``x`` in the model's space (images (N, C, H, W) in [-1, 1]),
with a dynamic batch axis N. Written by torch's TorchScript-based exporter, which needs only the
``onnx`` package (``pip install ganforge[export]``)."""
from __future__ import annotations

import copy
import os
import warnings

import torch
from torch import nn

from ..core.errors import ConfigError

DEFAULT_OPSET = 17


class _Sampler(nn.Module):
    """The generator with the input names and order the ONNX graph exposes."""

    def __init__(self, G: nn.Module, conditional: bool) -> None:
        super().__init__()
        self.G, self.conditional = G, conditional

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z, y if self.conditional else None)


def export_module(recipe, path: str, opset: int = DEFAULT_OPSET, net: str | None = None) -> str:
    """Write ``recipe.nets[net or sampler]`` as an ONNX graph to ``path`` and return the path."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise ConfigError("ONNX export needs the onnx package: pip install onnx (or ganforge[export])") from None
    G = copy.deepcopy(recipe.nets[net or recipe.sampler_net()]).cpu().eval()
    G.to(memory_format=torch.contiguous_format)
    conditional = bool(getattr(recipe, "num_classes", 0))
    example = {k: v.cpu() for k, v in recipe.latents_for(2, seed=0).items()}  # N=2: no size-1 shortcuts
    names = ["z", "y"] if conditional else ["z"]
    args = tuple(example[k] for k in names)
    dynamic = {k: {0: "batch"} for k in names + ["x"]}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes are not the user's concern
        torch.onnx.export(_Sampler(G, conditional), args, path, dynamo=False, input_names=names,
                          output_names=["x"], dynamic_axes=dynamic, opset_version=opset)
    return path


def export_onnx(run: str, out: str, opset: int = DEFAULT_OPSET) -> str:
    """Export the G_ema of a run folder or checkpoint to the ONNX file ``out``."""
    from ..api import load
    if not out.lower().endswith(".onnx"):
        raise ConfigError(f"--out for ONNX export must end in .onnx, got {out}")
    return export_module(load(run).recipe, out, opset=opset)


__all__ = ["export_module", "export_onnx", "DEFAULT_OPSET"]
