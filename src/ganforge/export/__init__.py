"""Exporting a run's sampling generator (G_ema): ONNX for runtimes outside PyTorch, and a
Hugging Face style folder (model.safetensors + config.json) that ``ganforge.load`` reads back."""
from __future__ import annotations

from .hf import export_hf, is_pretrained_folder, load_pretrained
from .onnx import export_module, export_onnx

__all__ = ["export_onnx", "export_module", "export_hf", "load_pretrained", "is_pretrained_folder"]
