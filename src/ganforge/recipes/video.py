"""The video recipe: MoCoGAN-class clips (Tulyakov et al. 2018) and a 3-D convolutional generator baseline
(TGAN / VGAN-like: Saito et al. 2017, Vondrick et al. 2016), nets/video.py.

D phase: the video discriminator D (3-D convolutions over the whole clip) and, with video.image_d > 0, the image
discriminator D_img (the DCGAN discriminator) on video.image_frames frames drawn at random from each clip, both
learn to score real above generated with loss.kind; one optimizer over both. G phase (every optim.n_critic steps):
G raises both scores, D_img's weighted by video.image_d. G_ema, an average of G's weights, draws the samples users
see. Class-conditional (model.conditional, the digit of Moving MNIST): G embeds the label, both Ds project it.

Sampling: z (content and the GRU's start) and per-frame noise eps, each sample from its own seed; ``frames``
(``ganforge sample --frames 32``) draws clips longer than trained, the GRU running on (MoCoGAN only). Files: an
animated GIF grid (``.gif``, the training grid), an MP4 grid (``.mp4``), a PNG strip of frames (``.png``), a
folder of one GIF or MP4 per clip (no extension, ``--format gif|mp4``) and ``.npz``. Evaluation compares with the
held-out Moving MNIST clips (digits the training clips never use) and adds metrics/video.py's figures.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core import video as _video_writers  # noqa: F401  (register the GIF / MP4 writers)
from ..core.errors import ConfigError
from ..losses import g_loss, is_relativistic
from ..losses.regularizers import add_noise, instance_noise_std, smoothed_d_loss
from ..nets.dcgan import DCGANDiscriminator
from ..nets.video import Conv3dGenerator, MoCoGenerator, VideoDiscriminator
from .base import Batch, ExportSpec, OptimSpec, Phase, Recipe, register_recipe
from .video_presets import PRESETS

GENERATORS = ("mocogan", "3d")


@dataclass
class VideoConfig:
    frames: int = 16            # frames per clip
    size: int = 32              # frame side (moving-mnist: the canvas; folders: 0 keeps the files' size)
    resize: str = "error"       # folders: error | resize | crop, for frames of another size than video.size
    stride: int = 1             # folders: keep every stride-th frame
    hop: int = 0                # folders: a clip starts every hop kept frames (0 = video.frames, back to back)
    fps: float = 8.0            # frames per second of written GIF / MP4 files
    digits: int = 1             # moving-mnist: digits per clip (1 or 2)
    digit_size: int = 16        # moving-mnist: side a digit's central 20x20 is resized to
    mm_speed: int = 2           # moving-mnist: largest speed per axis in pixels per frame (each axis 1..v, +-)
    mm_clips: int = 4096        # moving-mnist: training clips
    mm_heldout: int = 1000      # moving-mnist: held-out clips (from MNIST digits the training clips never use)
    mm_seed: int = 0            # moving-mnist: seed of the construction (fixed apart from the run seed)
    generator: str = "mocogan"  # mocogan (content + GRU motion, a frame generator) | 3d (3-D transposed convs)
    content: int = 48           # mocogan: content code size
    motion: int = 16            # mocogan: motion code size (the GRU's state)
    noise: int = 8              # mocogan: per-frame noise fed to the GRU
    image_d: float = 1.0        # weight of the image discriminator's term in G's loss (0: no image D)
    image_frames: int = 2       # frames per clip the image discriminator judges

    def validate(self) -> None:
        if self.generator not in GENERATORS:
            raise ConfigError(f"video.generator = {self.generator!r} is not one of: {', '.join(GENERATORS)}")
        if self.resize not in ("error", "resize", "crop"):
            raise ConfigError(f"video.resize = {self.resize!r} is not one of: error, resize, crop")
        for key in ("frames", "stride", "fps", "digit_size", "mm_speed", "mm_clips", "mm_heldout", "content",
                    "motion", "noise", "image_frames"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"video.{key} must be positive, got {getattr(self, key)}")
        if self.size < 0 or self.hop < 0 or self.image_d < 0:
            raise ConfigError("video.size, video.hop and video.image_d must not be negative")
        if self.digits not in (1, 2):
            raise ConfigError(f"video.digits must be 1 or 2, got {self.digits}")


@register_recipe
class VideoRecipe(Recipe):
    name = "video"
    section, config = "video", VideoConfig
    data_kinds = ("video",)
    presets = PRESETS
    ema = {"G_ema": "G"}
    truncation_keys = ("z", "eps")   # the clip's latent and the per-frame motion noise
    formats = {".gif": "gif-grid", ".png": "frame-strip", ".mp4": "mp4-grid", "": "clip-folder", ".npz": "npz"}

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        s, m = self.settings(), cfg.model
        C, T, H, W = (int(v) for v in data_info["shape"])
        if H != W:
            raise ConfigError(f"the video networks draw square frames, the data's are {W}x{H}; set video.size")
        if m.pack != 1:
            raise ConfigError("the video recipe does not pack samples; set model.pack=1")
        self.shape, self.frames = (C, T, H, W), T
        self.num_classes = int(data_info.get("num_classes") or 0) if m.conditional else 0
        if m.conditional and not self.num_classes:
            raise ConfigError("model.conditional needs labelled clips (moving-mnist, or a folder whose videos sit in "
                              "class sub-folders); set model.conditional=false")
        self.recurrent = s.generator == "mocogan"
        self.z_dim = s.content + s.motion if self.recurrent else m.z_dim
        self.nets = {"G": self._make_g(),
                     "D": VideoDiscriminator(C, T, H, m.d_width, m.d_norm, self.num_classes, m.mbstd)}
        if s.image_d > 0:
            self.nets["D_img"] = DCGANDiscriminator((C, H, W), m.d_width, m.d_norm, self.num_classes, m.mbstd)
        self.nets["G_ema"] = self._make_g()
        self.nets["G_ema"].load_state_dict(self.nets["G"].state_dict())
        self.nets["G_ema"].eval().requires_grad_(False)
        self.nets = {k: v.to(device) for k, v in self.nets.items()}

    def _make_g(self):
        s, m, (C, T, H, _) = self.settings(), self.cfg.model, self.shape
        if self.recurrent:
            return MoCoGenerator(C, H, s.content, s.motion, s.noise, m.g_width, self.num_classes, m.g_norm)
        return Conv3dGenerator(C, T, H, m.z_dim, m.g_width, self.num_classes)

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o = self.cfg.optim
        return {"G": OptimSpec(("G",), o.g_lr, tuple(o.g_betas)),
                "D": OptimSpec(tuple(k for k in ("D", "D_img") if k in self.nets), o.d_lr, tuple(o.d_betas))}

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", tuple(k for k in ("D", "D_img") if k in self.nets), self.d_step),
                Phase("G", "G", ("G",), self.g_step, interval=self.cfg.optim.n_critic)]

    def _latents(self, n: int, frames: int) -> dict[str, torch.Tensor]:
        out = {"z": torch.randn(n, self.z_dim, generator=self.gen, device=self.device)}
        if self.recurrent:
            out["eps"] = torch.randn(n, frames, self.settings().noise, generator=self.gen, device=self.device)
        if self.num_classes:
            out["y"] = torch.randint(0, self.num_classes, (n,), generator=self.gen, device=self.device)
        return out

    def _run_g(self, G, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return G(inputs["z"], inputs.get("eps"), inputs.get("y"))

    def _frames_of(self, clips: torch.Tensor) -> torch.Tensor:
        """video.image_frames random frames of each clip (N, C, T, H, W) -> (N * k, C, H, W), from the run's noise."""
        N, C, T, H, W = clips.shape
        k = self.settings().image_frames
        t = torch.randint(0, T, (N, k), generator=self.gen, device=self.device)
        idx = t.view(N, 1, k, 1, 1).expand(N, C, k, H, W)
        return clips.gather(2, idx).transpose(1, 2).reshape(N * k, C, H, W)

    def _scores(self, clips: torch.Tensor, y: torch.Tensor | None,
                step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(video scores (N,), image scores (N * k,) or None); both Ds see instance noise (reg.inst_noise)."""
        reg = self.cfg.reg
        clips = add_noise(clips, instance_noise_std(reg.inst_noise, step, reg.inst_noise_steps), self.gen)
        video = self.nets["D"](clips, y)
        if "D_img" not in self.nets:
            return video, None
        k = self.settings().image_frames
        yy = None if y is None else y.repeat_interleave(k)
        return video, self.nets["D_img"](self._frames_of(clips), yy)

    def d_step(self, batch: Batch, step: int):
        kind, smooth = self.cfg.loss.kind, self.cfg.reg.label_smooth
        y_real = batch.y if self.num_classes else None
        inputs = self._latents(batch.x.shape[0], self.frames)
        with torch.no_grad():
            fake = self._run_g(self.nets["G"], inputs)
        rv, ri = self._scores(batch.x, y_real, step)
        fv, fi = self._scores(fake, inputs.get("y"), step)
        loss_v = smoothed_d_loss(kind, rv, fv, smooth)
        stats = {"loss_D_video": loss_v.detach(), "D_real": rv.detach().mean(), "D_fake": fv.detach().mean()}
        loss = loss_v
        if ri is not None:
            loss_i = smoothed_d_loss(kind, ri, fi, smooth)
            loss = loss + loss_i
            stats.update({"loss_D_image": loss_i.detach(), "D_img_real": ri.detach().mean()})
        stats["loss_D"] = loss.detach()
        return loss, stats

    def g_step(self, batch: Batch, step: int):
        kind = self.cfg.loss.kind
        inputs = self._latents(batch.x.shape[0], self.frames)
        fv, fi = self._scores(self._run_g(self.nets["G"], inputs), inputs.get("y"), step)
        rv = ri = None
        if is_relativistic(kind):   # G's loss compares with a real batch, scored by D as it is now
            with torch.no_grad():
                rv, ri = self._scores(batch.x, batch.y if self.num_classes else None, step)
        loss_v = g_loss(kind, fv, rv)
        stats = {"loss_G_video": loss_v.detach()}
        loss = loss_v
        if fi is not None:
            loss_i = g_loss(kind, fi, ri)
            loss = loss + self.settings().image_d * loss_i
            stats["loss_G_image"] = loss_i.detach()
        stats["loss_G"] = loss.detach()
        return loss, stats

    # -- sampling -------------------------------------------------------------------------------
    def accepts(self) -> dict[str, str]:
        out = {"frames": f"clip length (trained: {self.frames})", "format": "gif | mp4, for a folder of clips"}
        if self.num_classes:
            out["label"] = f"class index 0..{self.num_classes - 1}"
        return out

    def refusal(self, key: str) -> str:
        return " (it is not class-conditional)" if key == "label" else ""

    def latent_parts(self) -> dict[str, list[tuple[str, slice | None]]]:
        """MoCoGAN: the content code, and the motion (the GRU's start and the per-frame noise); 3-D: z whole."""
        if not self.recurrent:
            return {"all": [("z", None)]}
        c = self.settings().content
        content, motion = [("z", slice(0, c))], [("z", slice(c, None)), ("eps", None)]
        return {"all": content + motion, "content": content, "motion": motion}

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
                      conditions: dict | None = None) -> dict:
        """z (and per-frame noise eps, drawn after z from the same seed) for ``n`` clips from one seed or one per
        seed; conditions: ``label``, ``frames`` (longer or shorter clips, MoCoGAN only), ``format``. The noise is drawn
        frame after frame, so a longer clip from the same seeds begins with the shorter one."""
        cond = conditions or {}
        frames = self.frames if cond.get("frames") is None else int(cond["frames"])
        if frames <= 0:
            raise ConfigError(f"--frames must be positive, got {frames}")
        if frames != self.frames and not self.recurrent:
            raise ConfigError(f"the 3-D generator draws clips of exactly {self.frames} frames (it was trained so); "
                              "--frames needs video.generator=mocogan")
        noise = self.settings().noise
        gens = [torch.Generator().manual_seed(s) for s in seeds] if seeds is not None else \
            [torch.Generator().manual_seed(seed)]
        if seeds is not None:
            z = torch.stack([torch.randn(self.z_dim, generator=g) for g in gens])
            eps = torch.stack([torch.randn(frames, noise, generator=g) for g in gens])
        else:
            z = torch.randn(n, self.z_dim, generator=gens[0])
            eps = torch.randn(frames, n, noise, generator=gens[0]).transpose(0, 1)   # drawn time-major
        out: dict = {"z": z.to(self.device)}
        if self.recurrent:
            out["eps"] = eps.to(self.device)
        if self.num_classes:
            out["y"] = self._labels(cond.get("label"), seeds if seeds is not None else range(len(z))).to(self.device)
        if cond.get("format"):
            out["format"] = cond["format"]
        return out

    def _labels(self, labels, base) -> torch.Tensor:
        count = len(base)
        if labels is None:
            return torch.tensor([s % self.num_classes for s in base], dtype=torch.long)
        y = torch.as_tensor(labels).long()
        y = y.reshape(-1).expand(count) if np.ndim(labels) == 0 else y
        if y.shape[0] != count or y.min() < 0 or y.max() >= self.num_classes:
            raise ConfigError(f"labels must be {count} class indices in 0..{self.num_classes - 1}")
        return y

    @torch.no_grad()
    def generate(self, inputs: dict, net: str | None = None, batch: int = 256) -> torch.Tensor:
        G = self.nets[net or self.sampler_net()]
        was = G.training
        G.eval()
        z, n = inputs["z"], inputs["z"].shape[0]
        part = lambda k, i: None if inputs.get(k) is None else inputs[k][i:i + batch]  # noqa: E731
        out = torch.cat([G(z[i:i + batch], part("eps", i), part("y", i)) for i in range(0, n, batch)])
        G.train(was)
        return out

    def to_output(self, outputs: torch.Tensor, inputs: dict | None = None) -> dict:
        x = ((outputs.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()    # (N, C, T, H, W)
        out = {"x": x, "fps": self.settings().fps}
        if inputs is not None and "y" in inputs:
            out["y"] = inputs["y"].cpu().numpy()
        if inputs is not None and inputs.get("format"):
            out["format"] = inputs["format"]
        return out

    def save_samples(self, outputs, path: str, inputs=None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        if ext != "" and out.get("format"):
            raise ConfigError(f"--format picks the files of a folder of clips; {path} names one {ext} file "
                              "(give --out a folder name without extension)")
        if ext == ".npz":
            out = {k: out[k] for k in ("x", "y") if k in out}
        nrow = {"nrow": self.num_classes} if self.num_classes and self.num_classes <= 16 and ext in (".gif", ".mp4") \
            else {}
        return self.write(self.formats[ext], path, out, **nrow)

    def save_grid(self, outputs, stem: str, inputs=None) -> list[str]:
        out = self.to_output(outputs, inputs)
        strip = {"x": out["x"][:8], "fps": out["fps"]}
        return [self.write("gif-grid", stem + ".gif", out), self.write("frame-strip", stem + ".png", strip)]

    # -- export ---------------------------------------------------------------------------------
    def export_spec(self, component: str) -> ExportSpec:
        """G(z[, eps][, y]) with a dynamic batch axis: z (N, z_dim) float32; MoCoGAN also eps (N, frames, noise)
        float32, the per-frame noise, its GRU unrolled for the trained number of frames; y (N,) int64 class
        indices when conditional. Output x: clips (N, C, frames, H, W) in [-1, 1]."""
        import copy
        G = copy.deepcopy(self.nets[self.generators()[component]]).cpu().eval()
        example = {k: v.cpu() for k, v in self.sample_inputs(2, seed=0).items()}   # N=2: no size-1 shortcuts
        names = ["z"] + (["eps"] if self.recurrent else []) + (["y"] if self.num_classes else [])
        return ExportSpec(_ClipSampler(G, self.recurrent), names, tuple(example[k] for k in names), ["x"],
                          f"clips (N, C, {self.frames}, H, W) in [-1, 1]")

    # -- evaluation -----------------------------------------------------------------------------
    def eval_samples(self, data, n: int, seed: int, truncation: float | None = None):
        """Generated clips against the held-out Moving MNIST clips (the training clips for other data)."""
        real = data
        if data.name == "moving-mnist" or self.data_info.get("name") == "moving-mnist":
            from ..data.moving_mnist import load_moving_mnist
            real = load_moving_mnist(self.cfg, self.cfg.train.seed, part="test")
        drawn = self.sample_inputs(n, seed=seed)
        fake = self.generate(self.truncate(drawn, truncation))
        return real.x, fake, {"fake_labels": drawn.get("y"), "real_labels": real.y}

    def eval_checks(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict[str, float]:
        from ..metrics.video import video_checks
        return video_checks(real, fake, seed, digit_size=int(self.data_info.get("digit_size") or real.shape[-1] // 2))


class _ClipSampler(torch.nn.Module):
    """The video generator with the input names and order the exported graph exposes."""

    def __init__(self, G: torch.nn.Module, recurrent: bool) -> None:
        super().__init__()
        self.G, self.recurrent = G, recurrent

    def forward(self, z: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        eps = rest[0] if self.recurrent else None
        y = rest[-1] if len(rest) > int(self.recurrent) else None
        return self.G(z, eps, y)


__all__ = ["VideoRecipe", "VideoConfig", "GENERATORS"]
