"""What the two image translation recipes share (pix2pix: recipes/translate.py, CycleGAN: recipes/cyclegan.py): the
``[translate]`` config section, building the networks, jitter and flips, reading the user's images to translate
(``ganforge sample RUN --input FILE|DIR``), and writing translations (a grid of rows input | output | target, a folder
of files under the inputs' names, or arrays).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import ConfigError, DataError
from ..nets.translate import NORMS, PatchDiscriminator, ResnetGenerator, UNet
from .base import ExportSpec, Recipe

DIRECTIONS = ("AtoB", "BtoA")


@dataclass
class TranslateConfig:
    size: int = 32              # image side both domains are brought to (0 = the files' own; must be square)
    resize: str = "error"       # error | resize | crop: images of another size than translate.size
    channels_a: int = 0         # channels of domain A (0 = the files' own: all grey -> 1, all colour -> 3)
    channels_b: int = 0         # channels of domain B
    pair_by: str = "name"       # paired folders: name (A/x.png with B/x.*) | order (sorted files by position)
    direction: str = "AtoB"     # paired data: AtoB translates A into B, BtoA the other way
    flip: bool = False          # random horizontal flips while training (one flip for both images of a pair)
    jitter: int = 0             # random shifts while training: pad by this many pixels (reflection), crop back
    generator: str = "unet"     # unet (pix2pix) | resnet (CycleGAN's): nets/translate.py
    res_blocks: int = 6         # resnet generator: residual blocks
    norm: str = "instance"      # instance | batch | none, in G and D
    d_layers: int = 1           # PatchGAN stride-2 layers: 1 -> 16-pixel patches, 2 -> 34, 3 -> 70
    l1_weight: float = 100.0    # pix2pix: weight of L1(G(x), target) in G's loss (Isola et al. 2017: 100); 0 = off
    adversarial: bool = True    # pix2pix: the conditional GAN term (false: L1 only, no D phase)
    conditional_d: bool = True  # pix2pix: D judges (source, image) pairs; false: the image alone
    cycle_weight: float = 10.0  # CycleGAN: weight of each cycle-consistency L1 term (Zhu et al. 2017: 10)
    identity_weight: float = 0.5  # CycleGAN: identity L1 weight, times cycle_weight (0.5 as published); 0 = off
    pool: int = 50              # CycleGAN: past generated images each D also learns from (50 as published; 0 = off)

    def validate(self) -> None:
        choices = {"resize": ("error", "resize", "crop"), "pair_by": ("name", "order"), "direction": DIRECTIONS,
                   "generator": ("unet", "resnet"), "norm": NORMS}
        for key, ok in choices.items():
            if getattr(self, key) not in ok:
                raise ConfigError(f"translate.{key} = {getattr(self, key)!r} is not one of: {', '.join(ok)}")
        for key in ("channels_a", "channels_b"):
            if getattr(self, key) not in (0, 1, 3):
                raise ConfigError(f"translate.{key} must be 0 (the files' own), 1 or 3, got {getattr(self, key)}")
        for key in ("size", "jitter", "l1_weight", "cycle_weight", "identity_weight", "pool"):
            if getattr(self, key) < 0:
                raise ConfigError(f"translate.{key} must not be negative, got {getattr(self, key)}")
        if not 1 <= self.d_layers <= 5 or self.res_blocks < 1:
            raise ConfigError("translate.d_layers must be 1..5 and translate.res_blocks at least 1")


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


class TranslatorBase(Recipe):
    """Sampling, grids and files of a translator. Subclasses set ``self.shapes`` {"A": (C, S, S), "B": ...}, fill
    ``nets`` and implement ``net_for(direction)``."""

    section, config = "translate", TranslateConfig
    formats = {".png": "png-grid", "": "image-folder", ".npz": "npz"}
    sample_options = {"direction": (str, "translation runs: AtoB (default) or BtoA (CycleGAN runs)", DIRECTIONS)}

    def make_g(self, c_in: int, c_out: int) -> torch.nn.Module:
        s, m = self.settings(), self.cfg.model
        size = self.shapes["A"][-1]
        if s.generator == "resnet":
            return ResnetGenerator(c_in, c_out, size, m.g_width, s.res_blocks, s.norm)
        return UNet(c_in, c_out, size, m.g_width, max_width=8 * m.g_width, norm=s.norm)

    def make_d(self, c_in: int) -> torch.nn.Module:
        s = self.settings()
        return PatchDiscriminator(c_in, self.cfg.model.d_width, s.d_layers, s.norm)

    def directions(self) -> tuple[str, ...]:
        return ("AtoB",)

    def net_for(self, direction: str) -> str:
        raise NotImplementedError

    # -- training-time transforms -----------------------------------------------------------------
    def jitter_flip(self, *images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The same random shift (translate.jitter) and horizontal flip (translate.flip) for each example of every
        tensor given (a pair moves together); drawn from the run's noise generator."""
        s = self.settings()
        n = images[0].shape[0]
        if s.jitter:
            j = s.jitter
            dy = torch.randint(0, 2 * j + 1, (n,), generator=self.gen, device=self.device)
            dx = torch.randint(0, 2 * j + 1, (n,), generator=self.gen, device=self.device)
            images = tuple(_shift(x, dy, dx, j) for x in images)
        if s.flip:
            flip = torch.rand(n, generator=self.gen, device=self.device) < 0.5
            images = tuple(torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x) for x in images)
        return images

    # -- sampling ---------------------------------------------------------------------------------
    def accepts(self) -> dict[str, str]:
        c, _, size = self.shapes["A"]
        return {"input": f"images to translate (any size; brought to {size}x{size}, {c} channel(s))",
                "names": "file names of the inputs", "direction": " or ".join(self.directions())}

    def read_input(self, path: str) -> dict[str, Any]:
        """``--input FILE|DIR``: every image file (below DIR), as the run's source side, and their relative names."""
        from ..data.images import IMAGE_EXTS
        from ..data.translate import image_files
        if os.path.isdir(path):
            names = image_files(path)
            files = [os.path.join(path, n) for n in names]
        elif os.path.isfile(path):
            if not path.lower().endswith(IMAGE_EXTS):
                raise DataError(f"--input {path} is not an image file ({' '.join(IMAGE_EXTS)})")
            names, files = [os.path.basename(path)], [path]
        else:
            raise DataError(f"--input {path} does not exist")
        if not files:
            raise DataError(f"--input {path} holds no image files ({' '.join(IMAGE_EXTS)})")
        return {"input": files, "names": names}

    def _load_files(self, files: list[str], side: str) -> torch.Tensor:
        from ..data.images import _decode
        c, _, size = self.shapes[side]
        arr = np.stack([_decode(p, c, size, "resize") for p in files])
        return torch.from_numpy(arr).float().div_(127.5).sub_(1.0)

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds=None, conditions=None) -> dict[str, Any]:
        cond = conditions or {}
        direction = cond.get("direction") or "AtoB"
        if direction not in self.directions():
            raise ConfigError(f"a {self.name} run translates {' and '.join(self.directions())} only, not "
                              f"--direction {direction}")
        src = cond.get("input")
        if src is None:
            raise ConfigError(f"a {self.name} run translates images: give --input FILE|DIR (image files)")
        side = direction[0]
        if isinstance(src, list):          # file paths, from --input
            src = self._load_files(src, side)
        src = torch.as_tensor(src).float()
        want = self.shapes[side]
        if src.ndim != 4 or tuple(src.shape[1:]) != tuple(want):
            raise ConfigError(f"the {direction} generator takes images of shape (N, {', '.join(map(str, want))}), "
                              f"got {tuple(src.shape)}")
        out: dict[str, Any] = {"source": src.to(self.device), "direction": direction}
        if cond.get("names") is not None:
            out["names"] = list(cond["names"])
        return out

    def grid_examples(self, n: int) -> int:
        return n

    @torch.no_grad()
    def generate(self, inputs: dict[str, Any], net: str | None = None, batch: int = 256) -> torch.Tensor:
        G = self.nets[net or self.net_for(inputs.get("direction", "AtoB"))]
        was = G.training
        G.eval()
        src = inputs["source"]
        out = torch.cat([G(src[i:i + batch]) for i in range(0, len(src), batch)])
        G.train(was)
        return out

    def to_output(self, outputs: torch.Tensor, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"x": to_uint8(outputs)}
        if inputs is not None:
            out["source"] = to_uint8(inputs["source"])
            if inputs.get("target") is not None:
                out["target"] = to_uint8(inputs["target"])
            if inputs.get("names") is not None:
                out["names"] = list(inputs["names"])
        return out

    def save_samples(self, outputs, path: str, inputs=None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        if ext == ".png":
            return self.write("png-grid", path, grid_rows(out), nrow=len(out["x"]))
        if ext == ".npz":
            out.pop("names", None)
        return self.write(self.formats[ext], path, out)

    # -- export -----------------------------------------------------------------------------------
    def export_spec(self, component: str) -> ExportSpec:
        import copy
        net = self.generators()[component]
        G = copy.deepcopy(self.nets[net]).cpu().eval()
        side = "B" if component.endswith("BA") else "A"
        other = "A" if side == "B" else "B"
        c, h, w = self.shapes[side]
        co = self.shapes[other]
        return ExportSpec(G, ["source"], (torch.zeros(2, c, h, w),), ["x"],
                          f"translated images (N, {co[0]}, {co[1]}, {co[2]}) in [-1, 1] from images of {side}")


def grid_rows(out: dict[str, Any]) -> dict[str, Any]:
    """One grid of rows: the inputs, their translations, and the targets when there are any (grey rows shown as
    colour when the rows differ in channels)."""
    rows = [out["source"], out["x"]] + ([out["target"]] if out.get("target") is not None else [])
    if len({r.shape[1] for r in rows}) > 1:
        rows = [np.repeat(r, 3, 1) if r.shape[1] == 1 else r for r in rows]
    return {"x": np.concatenate(rows)}


def _shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, j: int) -> torch.Tensor:
    """Each image padded by ``j`` (reflection) and cropped back at its own offset (dy, dx) in 0..2j."""
    n, c, h, w = x.shape
    padded = F.pad(x, (j, j, j, j), mode="reflect")
    rows = (dy.view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1).expand(n, c, h, w + 2 * j)
    cut = padded.gather(2, rows)
    cols = (dx.view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w).expand(n, c, h, w)
    return cut.gather(3, cols)


__all__ = ["TranslateConfig", "TranslatorBase", "DIRECTIONS", "grid_rows", "to_uint8"]
