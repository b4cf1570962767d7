"""Checkpoints: one safetensors file per step, tensors in the body, everything else as JSON metadata.

Nothing here executes code on load: safetensors holds plain arrays, the metadata is JSON. Files are
written to a temporary name, fsynced, then renamed, so a kill at any moment leaves either the old
set of checkpoints or the new one, never half a file.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import CheckpointError

FORMAT = "ganforge-checkpoint"
FORMAT_VERSION = 1
_CKPT_RE = re.compile(r"^ckpt-(\d{8})\.safetensors$")


def ckpt_name(step: int) -> str:
    return f"ckpt-{step:08d}.safetensors"


def list_checkpoints(folder: str) -> list[tuple[int, str]]:
    """(step, path) of the complete checkpoints in ``folder``, oldest first."""
    if not os.path.isdir(folder):
        return []
    out = [(int(m.group(1)), os.path.join(folder, n)) for n in os.listdir(folder) if (m := _CKPT_RE.match(n))]
    return sorted(out)


def find_checkpoint(path: str) -> str:
    """A checkpoint file, or the newest checkpoint of a run folder."""
    if not os.path.exists(path):
        raise CheckpointError(f"no such run or checkpoint: {path}")
    if os.path.isfile(path):
        return path
    for folder in (os.path.join(path, "checkpoints"), path):
        found = list_checkpoints(folder)
        if found:
            return found[-1][1]
    raise CheckpointError(f"{path} holds no checkpoint (checkpoints/ckpt-*.safetensors); was the run started?")


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_leftover(name: str) -> bool:
    """A temporary file that a killed write leaves behind: ours end in ``.tmp-<pid>[.ext]``, and the
    safetensors writer (0.8) goes through a hidden ``.tmpXXXXXX`` file in the same folder."""
    return ".tmp-" in name or name.startswith(".tmp")


def atomic_write_bytes(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def save(path: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors + JSON metadata atomically."""
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "meta": json.dumps(meta)}
    save_tensors(path, tensors, header)


def save_tensors(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """A safetensors file written to a temporary name, fsynced, then renamed over ``path``."""
    body = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        save_file(body, tmp, metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def load(path: str, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save`; every failure is a one-line CheckpointError."""
    path = find_checkpoint(path)
    try:
        with safe_open(path, framework="pt", device=str(device)) as f:
            header = f.metadata() or {}
            if header.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a ganforge checkpoint")
            version = int(header.get("format_version", "0"))
            if version != FORMAT_VERSION:
                raise CheckpointError(f"{path} has checkpoint format {version}; this ganforge reads format "
                                      f"{FORMAT_VERSION}: use the ganforge version that wrote it")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(header["meta"])
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {why}") from None
    return tensors, meta


def prune(folder: str, keep: int, protect: tuple[str, ...] = ()) -> None:
    """Delete all but the newest ``keep`` checkpoints (paths in ``protect`` stay)."""
    for _, p in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        if os.path.abspath(p) not in {os.path.abspath(q) for q in protect}:
            os.remove(p)


# ------------------------------------------------------------------------------------------------
# Module and optimizer state <-> flat tensor dicts.

def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: str = "") -> None:
    sd = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    if not sd:
        raise CheckpointError(f"checkpoint {path} holds no '{prefix}' network")
    own = module.state_dict()
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own))
    bad = [k for k in own if k in sd and own[k].shape != sd[k].shape]
    if missing or extra or bad:
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra
                else f"{bad[0]} is {tuple(sd[bad[0]].shape)}, config wants {tuple(own[bad[0]].shape)}")
        raise CheckpointError(f"checkpoint {path} does not match the config's '{prefix}' network ({what}); "
                              "was it written with other model settings or another ganforge version?")
    module.load_state_dict(sd, strict=True)


def optimizer_state(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict, dict[str, torch.Tensor]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{prefix}.{idx}.{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = v
    return {"param_groups": sd["param_groups"], "scalars": scalars}, tensors


def load_optimizer(prefix: str, opt: torch.optim.Optimizer, meta: dict, tensors: dict[str, torch.Tensor]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith(prefix + "."):
            idx, name = k[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[name] = v
    for idx, sc in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(sc)
    try:
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"optimizer state '{prefix}' does not match the config: {e}") from None
