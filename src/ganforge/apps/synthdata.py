"""Synthetic training data: class-balanced samples from a class-conditional GAN.

``ganforge augment`` and :func:`augment_data` take a small labelled image set (the built-in
``digits`` or ``mnist``, an NPZ with keys ``x`` and ``y``, an IDX file with its labels file, or a
folder with one sub-folder per class), optionally keep ``per_class`` images of each class (a
seeded pick), train a class-conditional GAN on them with the ordinary training loop, and write
``n_per_class`` generated images of every class. An already trained class-conditional run can be
sampled instead (``run=``).

The GAN is the ``digits-cond`` preset (an MLP generator with a label embedding, a projection
discriminator) for images up to 16 pixels a side; larger images get DCGAN networks with the
``mnist`` preset's widths. Either way ``--set`` overrides win.

Outputs are written whole or not at all: an NPZ (``x`` uint8 N x C x H x W, ``y`` int64, as
``ganforge sample`` writes) or a new folder with one sub-folder per class, built beside its final
place and renamed into it.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image

from .. import api
from .. import config as C
from ..core import checkpoint as ckpt
from ..core.errors import ConfigError, DataError
from ..core.registry import SOURCES
from ..core.runs import new_run_dir, prepare_out_dir
from ..core.writers import stamp_tree, write_sidecar
from ..data import Dataset, infer_source, load_dataset, resolve_path, to_uint8

BUILTIN = ("digits", "mnist")
BASE_PRESET = "digits-cond"
SMALL_SIDE = 16  # above this side the MLP networks give way to DCGAN ones
LARGE_MODEL = {"model.arch": "dcgan", "model.z_dim": 64, "model.g_width": 32, "model.d_width": 32}
LABELLED_DIR = "labelled"  # inside the run folder: the picked training images, one sub-folder per class


@dataclass
class AugmentResult:
    out: str                  # the NPZ file or folder written
    run_dir: str              # the class-conditional run the samples came from
    n_per_class: int
    class_names: list[str]
    shape: tuple[int, ...]    # one image: (C, H, W)
    trained: bool             # False when an existing run was sampled
    n_train: int | None       # labelled images the GAN was trained on (None for an existing run)

    def __fspath__(self) -> str:
        return self.out


# ----------------------------------------------------------------------------------------------
# The labelled training set

def data_config(data: str) -> C.DataConfig:
    """``digits``/``mnist`` or a path (NPZ, IDX, image folder) -> the DataConfig that reads it."""
    if data in BUILTIN:
        return C.DataConfig(source=data)
    try:
        path = resolve_path(str(data), "auto")
    except DataError:
        raise DataError(f"no such data: {data}; give 'digits', an NPZ with keys x and y, "
                        "or a folder with one sub-folder of images per class") from None
    source = infer_source(path)
    kind = SOURCES.get(source).kind
    if kind not in ("image", ""):
        raise DataError(f"{data} is {kind} data; augment takes labelled images (NPZ x/y, IDX or a class folder)")
    return C.DataConfig(source=source, path=os.path.abspath(path))


def check_labelled(ds: Dataset, data: str) -> Dataset:
    """Refuse what a class-conditional image GAN cannot learn from, with the fix in the message."""
    if ds.kind != "image":
        raise DataError(f"{data} holds vectors of shape {tuple(ds.shape)}, not images; "
                        "augment takes images (N, H, W) or (N, C, H, W)")
    if ds.y is None:
        raise DataError(f"{data} has no class labels; put the images in one sub-folder per class, "
                        "or save the labels as NPZ key y")
    counts = torch.bincount(ds.y, minlength=ds.num_classes)
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        raise DataError(f"{data}: class {class_names(ds)[empty[0]]!r} has no images; "
                        "labels must be 0..K-1 with every class present")
    return ds


def class_names(ds_or_info) -> list[str]:
    """Class names whose sorted order is the label order, so a folder written with them reads
    back with the same labels: numbered classes are zero-padded ("00".."11")."""
    info = ds_or_info.info() if isinstance(ds_or_info, Dataset) else ds_or_info
    k = int(info.get("num_classes") or 0)
    names = list(info.get("class_names") or [])
    if len(names) != k or sorted(names) != names or len(set(names)) != k:
        width = len(str(k - 1))
        names = [str(i).zfill(width) for i in range(k)]
    return names


def pick_per_class(y: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """Indices of ``k`` examples of every class (seeded, uniform without replacement), sorted."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"--per-class must be a positive number of images, got {k}")
    g = torch.Generator().manual_seed(int(seed))
    picked = []
    for c in range(int(y.max()) + 1):
        members = (y == c).nonzero().flatten()
        if len(members) < k:
            raise DataError(f"class {c} has {len(members)} images, fewer than --per-class {k}; "
                            "lower --per-class")
        picked.append(members[torch.randperm(len(members), generator=g)[:k]])
    return torch.cat(picked).sort().values


def load_labelled(data: str, per_class: int | None = None, seed: int = 0,
                  overrides: dict | None = None) -> tuple[Dataset, C.DataConfig]:
    """The labelled images of ``data`` after any ``data.*`` overrides (or ``per_class`` of each
    class), and the DataConfig that reads all of them."""
    dcfg = data_config(data)
    data_ov = {k: v for k, v in (overrides or {}).items()
               if k.startswith("data.") and k not in ("data.path", "data.source")}
    if data_ov:
        dcfg = C.validate(C.apply_dict(C.Config(data=dcfg), data_ov, "--set")).data
    dcfg = replace(dcfg, labels=True)
    ds = check_labelled(load_dataset(dcfg, seed=seed), data)
    if per_class is not None:
        ds = ds.subset(pick_per_class(ds.y, per_class, seed))
    return ds, dcfg


def write_class_folder(x: np.ndarray, y: np.ndarray, names: list[str], folder: str) -> None:
    """uint8 (N, C, H, W) images as ``folder/<class>/<index>.png``; every class gets a sub-folder."""
    for name in names:
        os.makedirs(os.path.join(folder, name), exist_ok=True)
    counts = [0] * len(names)
    for img, label in zip(x, y.tolist()):
        arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)  # (H, W) or (H, W, 3)
        Image.fromarray(arr).save(os.path.join(folder, names[label], f"{counts[label]:05d}.png"))
        counts[label] += 1


# ----------------------------------------------------------------------------------------------
# Training

def training_config(ds: Dataset, preset: str | None, steps: int | None, seed: int,
                    overrides: dict | None) -> C.Config:
    """The preset (default ``digits-cond``) made class-conditional, sized to the data, then overrides."""
    ov: dict = {}
    if preset is None and max(ds.shape[1:]) > SMALL_SIDE:
        ov.update(LARGE_MODEL)
    batch = C.resolve(preset or BASE_PRESET).train.batch
    ov.update({"model.conditional": True, "train.batch": min(batch, len(ds))})  # tiny sets: one batch = all
    ov.update(overrides or {})
    cfg = api.resolve_config(preset or BASE_PRESET, steps=steps, seed=seed, overrides=ov)
    if preset is None:
        cfg.preset = "augment"
    if not cfg.model.conditional:
        raise ConfigError("augment trains a class-conditional GAN; drop model.conditional=false")
    return cfg


def train_conditional(data: str, *, per_class: int | None = None, seed: int = 0, preset: str | None = None,
                      steps: int | None = None, overrides: dict | list | None = None, out: str | None = None,
                      runs_root: str = "runs", progress: bool | None = None) -> api.TrainResult:
    """Train a class-conditional GAN on ``data`` (or ``per_class`` images of each class of it).

    The run folder keeps the picked images under ``labelled/`` and trains from them, so the run
    resumes and evaluates against exactly the images it saw."""
    overrides = C.parse_set(overrides) if isinstance(overrides, list) else dict(overrides or {})
    ds, cfg_data = load_labelled(data, per_class, seed, overrides)
    cfg = training_config(ds, preset, steps, seed, overrides)
    cfg.data = cfg_data
    run_dir = prepare_out_dir(out) if out else new_run_dir(runs_root, cfg.preset)
    fresh = not os.listdir(run_dir)
    try:
        if per_class is not None:
            folder = os.path.join(os.path.abspath(run_dir), LABELLED_DIR)
            write_class_folder(to_uint8(ds.x), ds.y.numpy(), class_names(ds), folder)
            cfg.data = replace(cfg.data, source="folder", path=folder, size=0, channels=0, limit=0, labels=True)
        return api.train(cfg, out=run_dir, progress=progress)
    except BaseException:
        if fresh and not ckpt.list_checkpoints(os.path.join(run_dir, "checkpoints")):
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing worth keeping: no half-made run
        raise


# ----------------------------------------------------------------------------------------------
# Sampling and writing

def conditional_generator(run: str) -> api.Generator:
    """Load ``run``, refusing runs that cannot draw images of a chosen class."""
    g = api.load(run)
    if g.data_info.get("kind") != "image":
        raise ConfigError(f"{run} was trained on {g.data_info.get('kind')} data; augment needs an image run")
    if not g.num_classes:
        raise ConfigError(f"{run} is unconditional and cannot draw a chosen class; train a class-conditional "
                          "run with `ganforge augment DATA` (or preset digits-cond, --set model.conditional=true)")
    return g


def synthesize(g: api.Generator, n_per_class: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n_per_class`` images of every class, grouped by class: {"x": uint8 (N, C, H, W), "y": int64 (N,)}."""
    if n_per_class < 1:
        raise ConfigError(f"--n-per-class must be a positive number of images, got {n_per_class}")
    labels = torch.arange(g.num_classes).repeat_interleave(n_per_class)  # (K * n,)
    out = g.sample(len(labels), seed=seed, labels=labels, numpy=True)
    return {"x": out["x"], "y": out["y"].astype(np.int64)}


def check_out(out: str) -> str:
    """``npz`` or ``folder``; refuses anything that would overwrite data or is not one of the two."""
    if not out:
        raise ConfigError("give --out FILE.npz or --out FOLDER for the synthetic images")
    if out.lower().endswith(".npz"):
        if os.path.isdir(out):
            raise ConfigError(f"--out {out} is a folder; give a file name ending in .npz")
        return "npz"
    if os.path.isdir(out):
        if os.listdir(out):
            raise ConfigError(f"--out folder {out} is not empty; give a new folder (nothing is overwritten)")
        return "folder"
    if os.path.exists(out):
        raise ConfigError(f"--out {out} is an existing file; give FILE.npz or a new folder")
    if os.path.splitext(out)[1]:
        raise ConfigError(f"--out must be a .npz file or a folder name without an extension, got {out}")
    return "folder"


def write_samples(arrays: dict[str, np.ndarray], out: str, names: list[str], rec: dict | None = None) -> str:
    """Write the samples whole: an NPZ via an atomic rename, or a class folder built beside ``out``; the
    provenance record ``rec`` goes into every PNG (the NPZ gets a sidecar)."""
    kind = check_out(out)
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    if kind == "npz":
        buf = io.BytesIO()
        np.savez(buf, x=arrays["x"], y=arrays["y"])
        ckpt.atomic_write_bytes(out, buf.getvalue())
        write_sidecar(out, rec)
        return out
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out))}.tmp-", dir=parent)
    try:
        write_class_folder(arrays["x"], arrays["y"], names, tmp)
        stamp_tree(tmp, rec)
        if os.path.isdir(out):
            os.rmdir(out)  # empty (check_out); rename cannot replace a folder
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def augment_data(data: str | None = None, *, out: str, n_per_class: int = 100, run: str | None = None,
                 per_class: int | None = None, seed: int = 0, preset: str | None = None, steps: int | None = None,
                 overrides: dict | list | None = None, run_out: str | None = None, runs_root: str = "runs",
                 progress: bool | None = None) -> AugmentResult:
    """Train a class-conditional GAN on labelled images ``data`` (or sample the trained ``run``) and
    write ``n_per_class`` synthetic images of every class to ``out`` (.npz or a new folder).

    ``seed`` drives the per-class pick, the training and the sampling."""
    if (data is None) == (run is None):
        raise ConfigError("give labelled DATA to train on, or --run RUN to sample, not both" if data
                          else "give labelled DATA to train on (e.g. digits), or --run RUN to sample")
    out = os.fspath(out) if out else out
    check_out(out)  # before minutes of training
    if n_per_class < 1:
        raise ConfigError(f"--n-per-class must be a positive number of images, got {n_per_class}")
    n_train = None
    if run is not None:
        if per_class is not None or preset or steps is not None or overrides or run_out:
            raise ConfigError("--run samples a trained run; --per-class, --preset, --steps, --set and "
                              "--run-out apply only when training from DATA")
    else:
        res = train_conditional(data, per_class=per_class, seed=seed, preset=preset, steps=steps,
                                overrides=overrides, out=run_out, runs_root=runs_root, progress=progress)
        run = res.run_dir
    g = conditional_generator(run)
    if data is not None:
        n_train = int(g.data_info.get("n", 0))
    names = class_names(g.data_info)
    with g.recipe.stamped(seed=seed, n_per_class=n_per_class):
        write_samples(synthesize(g, n_per_class, seed), out, names, g.recipe.provenance())
    return AugmentResult(out=out, run_dir=os.fspath(run), n_per_class=n_per_class, class_names=names,
                         shape=tuple(g.data_info["shape"]), trained=data is not None, n_train=n_train)


__all__ = ["AugmentResult", "augment_data", "train_conditional", "conditional_generator", "synthesize",
           "write_samples", "load_labelled", "pick_per_class", "class_names"]
