"""Checkpoints: one safetensors file per step, tensors in the body, everything else as JSON metadata.

Nothing here executes code on load: safetensors holds plain arrays, the metadata is JSON. Files are
written to a temporary name, fsynced, then renamed, so a kill at any moment leaves either the old
set of checkpoints or the new one, never half a file; a full disk leaves the old set and no
temporary file, and says so in one line. Each checkpoint records the sha256 of its tensors, so a
file damaged later (truncated, a flipped bit) is recognised: a run folder then opens its newest
*valid* checkpoint and says which one it skipped and how many steps that costs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from .errors import CheckpointError, write_failed
from .faults import failpoint
from .log import warn

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
    """``data`` written to a temporary name beside ``path``, fsynced and renamed over it. A failed write
    (a full disk) removes the temporary file, leaves ``path`` as it was, and is one WriteError."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        failpoint(f"write:{os.path.basename(path)}")
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)   # first, so the error reports the space there really is
        raise write_failed(path, e, need=len(data)) from None
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k]
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save(path: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors + JSON metadata atomically, with the checksum of the tensors."""
    body = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "meta": json.dumps(meta),
              "sha256": tensors_digest(body)}
    save_tensors(path, body, header)


def save_tensors(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """A safetensors file written to a temporary name, fsynced, then renamed over ``path``."""
    body = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, safetensors_bytes(body, metadata=metadata))


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
        if "sha256" in header and tensors_digest({k: v.cpu() for k, v in tensors.items()}) != header["sha256"]:
            raise CheckpointError(f"checkpoint {path} is damaged: its tensors do not match their recorded sha256")
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {why}") from None
    return tensors, meta


def load_newest_valid(run: str, device: str | torch.device = "cpu", set_aside: bool = False
                      ) -> tuple[str, dict[str, torch.Tensor], dict[str, Any]]:
    """(path, tensors, meta) of a checkpoint file, or of the newest checkpoint of a run folder that reads
    back whole. Damaged newer ones are skipped with a one-line warning naming them and the steps lost
    (``set_aside``: renamed to ``<name>.damaged`` so a resumed run does not meet them again); only
    when none is valid is it an error."""
    if not os.path.isdir(run):
        path = find_checkpoint(run)
        return (path, *load(path, device))
    found = list_checkpoints(os.path.join(run, "checkpoints")) or list_checkpoints(run)
    if not found:
        find_checkpoint(run)  # the usual one-line error
    newest, problems = found[-1][0], []
    for step, path in reversed(found):
        try:
            tensors, meta = load(path, device)
        except CheckpointError as e:
            problems.append(str(e))
            if set_aside:
                os.replace(path, path + ".damaged")
            continue
        if problems:
            lost = newest - step
            more = f", {len(problems)} damaged checkpoints skipped" if len(problems) > 1 else ""
            warn(f"{problems[0]}; using {os.path.basename(path)} instead ({lost} step{'s' if lost != 1 else ''} "
                 f"lost{more})")
        return path, tensors, meta
    raise CheckpointError(f"no valid checkpoint in {run}: {problems[0]}" + (
        f" (and {len(problems) - 1} more damaged)" if len(problems) > 1 else ""))


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
