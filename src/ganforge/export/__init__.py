"""Exporting a run's generators (their averaged copies): ONNX for runtimes outside PyTorch, one file
per generator, and a Hugging Face style model folder (model_index.json + one safetensors file per
generator) that ``ganforge.load`` reads back."""
from __future__ import annotations

from .hf import export_hf, is_pretrained_folder
from .onnx import export_module, export_onnx

__all__ = ["export_onnx", "export_module", "export_hf", "is_pretrained_folder"]
