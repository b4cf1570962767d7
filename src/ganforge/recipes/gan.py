"""The adversarial recipe for images and vectors, unconditional or class-conditional.

D phase: D learns to score real examples above G's samples (plus the WGAN gradient penalty when
reg.gp > 0). G phase (every n_critic-th step): G learns to raise D's score of its samples (with
optim.topk < 1, of the share D already scores highest; with a relativistic loss, relative to D's
score of a real batch). D_reg
phase (every reg.interval steps, when reg.r1 or reg.r2 > 0): the lazy R1/R2 penalties. G_reg phase (every
reg.interval steps, when reg.pl > 0, for a G with a W space): StyleGAN2's path-length penalty. G_ema, an
exponential moving average of G, draws the samples users see. Augmentation, instance noise and
packing of D's inputs live in gan_options.py.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from ..core.errors import ConfigError
from ..losses import g_loss, is_relativistic
from ..losses.regularizers import gradient_penalty, lazy_scale, path_length_penalty, zero_centred_penalty
from ..nets import build_discriminator, build_generator
from .base import Batch, ExportSpec, OptimSpec, Phase, Recipe, check_psi, frozen_stats, register_recipe
from .dscore import score_real_fake
from .gan_options import GANOptions

_SCATTER_REFERENCE = 2000   # real points drawn behind the samples of a 2-D grid


@register_recipe
class GANRecipe(Recipe):
    name = "gan"
    data_kinds = ("image", "vector")
    explorable = True
    truncation_keys = ("z",)
    ema = {"G_ema": "G"}

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        m = cfg.model
        self.shape = tuple(data_info["shape"])
        self.num_classes = int(data_info.get("num_classes", 0)) if m.conditional else 0
        if m.conditional and self.num_classes == 0:
            raise ConfigError("model.conditional needs labelled data (class sub-folders, an IDX labels file "
                              "or an NPZ key 'y'); set model.conditional=false for unlabelled data")
        self.z_dim = m.z_dim
        G = build_generator(m, self.shape, self.num_classes).to(device)
        D = build_discriminator(m, self.shape, self.num_classes).to(device)
        G_ema = build_generator(m, self.shape, self.num_classes).to(device)
        G_ema.load_state_dict(G.state_dict())
        G_ema.eval().requires_grad_(False)
        self.nets = {"G": G, "D": D, "G_ema": G_ema}
        if cfg.reg.pl > 0 and getattr(G, "latent_space", "z") != "w":
            raise ConfigError("reg.pl (path-length regularisation) needs a generator with a W space: "
                              "set model.arch=style or reg.pl=0")
        self.pl_mean = torch.zeros([], device=device)  # running mean of the path lengths (reg.pl)
        self.options = GANOptions(cfg, data_info, device)
        self._shared: tuple[torch.Tensor, torch.Tensor | None] | None = None  # optim.share_fakes

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o = self.cfg.optim
        return {"G": OptimSpec(("G",), o.g_lr, tuple(o.g_betas)),
                "D": OptimSpec(("D",), o.d_lr, tuple(o.d_betas))}

    def phases(self) -> list[Phase]:
        # D_reg runs before D in its step, so D's gradients seen by after_step are the D phase's own
        reg = [Phase("D_reg", "D", ("D",), self.d_reg_step, interval=self.cfg.reg.interval, reads_real=True)]
        return (reg if self.options.lazy else []) + [
            Phase("D", "D", ("D",), self.d_step, reads_real=True),
            Phase("G", "G", ("G",), self.g_step, interval=self.cfg.optim.n_critic)] + (
            [Phase("G_reg", "G", ("G",), self.g_reg_step, interval=self.cfg.reg.interval)] if self.cfg.reg.pl > 0
            else [])

    def g_trains(self, step: int) -> bool:
        """Whether the G phase runs at ``step`` (its interval is optim.n_critic)."""
        return (step + 1) % self.cfg.optim.n_critic == 0

    def after_step(self, step: int, stats: dict[str, torch.Tensor]) -> None:
        self.options.after_step(step, stats, self.nets, self.g_trains(step))

    def state_dict(self) -> dict:
        state = self.options.state_dict()
        return {**state, "pl_mean": float(self.pl_mean)} if self.cfg.reg.pl > 0 else state

    def load_state_dict(self, state: dict) -> None:
        self.options.load_state_dict(state)
        if "pl_mean" in state:
            self.pl_mean = torch.tensor(state["pl_mean"], device=self.device)

    def real_x(self, batch: Batch) -> torch.Tensor:
        """A batch's real examples in the space G writes to (a recipe may transform them, e.g. waveforms
        into spectrograms)."""
        return batch.x

    def _latents(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.z_dim, generator=self.gen, device=self.device)  # (B, z_dim)
        y = (torch.randint(0, self.num_classes, (n,), generator=self.gen, device=self.device)
             if self.num_classes else None)
        return z, y

    def _fake(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z, y_fake = self._latents(n)
        G = self.nets["G"]
        with torch.no_grad(), (frozen_stats(G) if self.private else contextlib.nullcontext()):
            return G(z, y_fake), y_fake

    def _fake_for_d(self, n: int, step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's generated batch. With optim.share_fakes, on a step where G's phase also runs, G's
        forward keeps its graph and the G phase reuses it: one G forward per step instead of two
        (as in the PyTorch DCGAN example). G's parameters are switched on for that forward only;
        D's loss sees the detached copy, so no gradient reaches G in this phase."""
        if not (self.cfg.optim.share_fakes and self.g_trains(step)) or self.private:   # G's batch must not
            return self._fake(n)                                                        # follow the real one's size
        z, y_fake = self._latents(n)
        G = self.nets["G"]
        G.requires_grad_(True)
        fake = G(z, y_fake)
        G.requires_grad_(False)
        self._shared = (fake, y_fake)
        return fake.detach(), y_fake

    def d_step(self, batch: Batch, step: int):
        D, o = self.nets["D"], self.options
        y_real = batch.y if self.num_classes else None
        fake, y_fake = self._fake_for_d(batch.x.shape[0], step)
        real_in = o.d_input(self.real_x(batch), step, self.gen)       # (B/pack, pack*C, ...)
        fake_in = o.d_input(fake, step, self.gen)
        if self.private:   # two equal calls: each example's gradient is that of its (real, fake) pair's loss
            real_logits, fake_logits = D(real_in, y_real), D(fake_in, y_fake)
            if real_logits.shape[0] == 0:   # an empty Poisson sample still takes its (noise-only) step
                loss = (real_logits.sum() + fake_logits.sum()) * 0.0
                return loss, {}
        else:
            real_logits, fake_logits = score_real_fake(D, real_in, fake_in, y_real, y_fake)  # (B/pack,) each
        adv = o.d_adv_loss(real_logits, fake_logits)
        loss = adv
        stats = {"loss_D_adv": adv.detach(), "D_real": real_logits.detach().mean(),
                 "D_fake": fake_logits.detach().mean()}
        if self.cfg.reg.gp > 0:
            # interpolates are scored with the real labels: one label per interpolate is needed
            gp = gradient_penalty(D, real_in, fake_in, y_real, self.gen)
            loss = loss + self.cfg.reg.gp * gp
            stats["loss_D_gp"] = gp.detach()
        o.observe_real(real_logits, stats)
        stats["loss_D"] = loss.detach()
        return loss, stats

    def d_reg_step(self, batch: Batch, step: int):
        """Lazy R1 (real) / R2 (fake) penalties; the logged terms are the per-step values, the
        optimised loss is their sum times reg.interval."""
        D, o, reg = self.nets["D"], self.options, self.cfg.reg
        terms: dict[str, torch.Tensor] = {}
        if reg.r1 > 0:
            y_real = batch.y if self.num_classes else None
            terms["loss_D_r1"] = zero_centred_penalty(D, o.d_input(self.real_x(batch), step, self.gen), y_real,
                                                      reg.r1)
        if reg.r2 > 0:
            fake, y_fake = self._fake(batch.x.shape[0])
            terms["loss_D_r2"] = zero_centred_penalty(D, o.d_input(fake, step, self.gen), y_fake, reg.r2)
        loss = lazy_scale(sum(terms.values()), reg.interval)
        return loss, {k: v.detach() for k, v in terms.items()}

    def g_reg_step(self, batch: Batch, step: int):
        """Lazy path-length penalty on half a batch (StyleGAN2's shrink), one w per layer, no style mixing."""
        G, reg = self.nets["G"], self.cfg.reg
        z, y = self._latents(max(1, batch.x.shape[0] // 2))
        w = G.mapping(z, y).unsqueeze(1).repeat(1, G.num_ws, 1)               # (B/2, num_ws, w_dim)
        pen, self.pl_mean = path_length_penalty(G.synthesis(w), w, self.pl_mean, generator=self.gen)
        return lazy_scale(pen * reg.pl, reg.interval), {"loss_G_pl": pen.detach(), "pl_mean": self.pl_mean}

    def g_step(self, batch: Batch, step: int):
        G, D = self.nets["G"], self.nets["D"]
        if self._shared is not None:
            fake, y_fake = self._shared
            self._shared = None
        else:   # a private run's G batch is the planned size, not the real sample's
            z, y_fake = self._latents(self.cfg.train.batch if self.private else batch.x.shape[0])
            fake = G(z, y_fake)
        o, kind = self.options, self.cfg.loss.kind
        fake_logits = D(o.d_input(fake, step, self.gen), y_fake)
        real_logits = None
        if is_relativistic(kind):   # G's loss compares its samples with a real batch, scored by D as it is now
            with torch.no_grad():
                real_logits = D(o.d_input(self.real_x(batch), step, self.gen),
                                batch.y if self.num_classes else None)
        loss = g_loss(kind, *o.g_scores(fake_logits, step, real_logits))
        return loss, {"loss_G": loss.detach()}

    # -- sampling -------------------------------------------------------------------------------
    @property
    def formats(self) -> dict[str, str]:
        kind, shape = self.data_info["kind"], self.data_info["shape"]
        if kind == "image":
            return {".png": "png-grid", ".npz": "npz"}
        if kind == "vector" and list(shape) == [2]:
            return {".png": "scatter", ".npz": "npz"}
        return {".npz": "npz"}   # no picture of D-dimensional vectors: the grid is the arrays

    def accepts(self) -> dict[str, str]:
        return {"label": f"class index 0..{self.num_classes - 1}"} if self.num_classes else {}

    def refusal(self, key: str) -> str:
        return " (it is not class-conditional)" if key == "label" else ""

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
                      conditions: dict | None = None) -> dict[str, torch.Tensor]:
        """Latents for ``n`` samples from one seed, or one latent per seed so any sample can be redrawn alone;
        ``conditions={"label": k}`` (one class, or one per sample) for class-conditional runs."""
        labels = (conditions or {}).get("label")
        if seeds is not None:
            z = torch.stack([torch.randn(self.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
        else:
            z = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(seed))
        out = {"z": z.to(self.device)}
        if self.num_classes:
            count = z.shape[0]
            if labels is None:
                base = seeds if seeds is not None else range(count)
                y = torch.tensor([s % self.num_classes for s in base])
            else:
                y = torch.as_tensor(labels)
                y = y.reshape(-1).expand(count) if np.ndim(labels) == 0 else y
                if y.shape[0] != count or y.min() < 0 or y.max() >= self.num_classes:
                    raise ConfigError(f"labels must be {count} class indices in 0..{self.num_classes - 1}")
            out["y"] = y.long().to(self.device)
        return out

    def truncate(self, inputs: dict[str, torch.Tensor], psi: float | None, net: str | None = None) -> dict:
        """z-space truncation, or W-space for a generator with a mapping network (``latent_space == "w"``:
        w' = w_avg + psi * (w - w_avg), Karras et al. 2019), which G applies itself from ``psi``."""
        G = self.nets[net or self.sampler_net()]
        if psi is None or getattr(G, "latent_space", "z") != "w":
            return super().truncate(inputs, psi, net)
        return {**inputs, "psi": check_psi(psi)}

    def grid_examples(self, n: int) -> int:
        return _SCATTER_REFERENCE if self.formats.get(".png") == "scatter" else 0

    def grid_inputs(self, n: int, seed: int,
                    examples: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        inputs = self.sample_inputs(n, seed=seed + 7919)  # a stream apart from the training noise
        if examples is not None:
            self._reference = examples["x"].cpu().numpy()
        return inputs

    @torch.no_grad()
    def generate(self, inputs: dict[str, torch.Tensor], net: str | None = None, batch: int = 1024) -> torch.Tensor:
        G = self.nets[net or self.sampler_net()]
        was_training = G.training
        G.eval()
        z, y = inputs["z"], inputs.get("y")
        extra = {"psi": float(inputs["psi"])} if "psi" in inputs else {}
        out = torch.cat([G(z[i:i + batch], None if y is None else y[i:i + batch], **extra)
                         for i in range(0, z.shape[0], batch)])
        G.train(was_training)
        return out

    def to_numpy(self, x: torch.Tensor) -> np.ndarray:
        """Samples as arrays: images uint8 (N, C, H, W); vectors float32 (N, D)."""
        if self.data_info["kind"] == "image":
            return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
        return x.float().cpu().numpy()

    def to_output(self, outputs: torch.Tensor, inputs: dict[str, torch.Tensor] | None = None) -> dict:
        out = {"x": self.to_numpy(outputs)}
        if inputs is not None and "y" in inputs:
            out["y"] = inputs["y"].cpu().numpy()
        return out

    def save_samples(self, outputs: torch.Tensor, path: str, inputs: dict[str, torch.Tensor] | None = None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        writer = self.formats[ext]
        if writer == "png-grid":
            nrow = self.num_classes if self.num_classes and self.num_classes <= 16 else None
            return self.write(writer, path, out, nrow=nrow)
        if writer == "scatter":
            modes = self.data_info.get("modes")
            out["reference"] = getattr(self, "_reference", None)
            out["modes"] = np.asarray(modes) if modes is not None else None
        return self.write(writer, path, out)

    # -- export ---------------------------------------------------------------------------------
    def export_spec(self, component: str) -> ExportSpec:
        """G(z[, y]) with a dynamic batch axis; inputs z (N, z_dim) float32 and y (N,) int64 class indices."""
        import copy
        G = copy.deepcopy(self.nets[self.generators()[component]]).cpu().eval()
        G.to(memory_format=torch.contiguous_format)
        conditional = bool(self.num_classes)
        example = {k: v.cpu() for k, v in self.sample_inputs(2, seed=0).items()}  # N=2: no size-1 shortcuts
        names = ["z", "y"] if conditional else ["z"]
        what = "images (N, C, H, W) in [-1, 1]" if self.data_info.get("kind") == "image" else "vectors (N, D)"
        return ExportSpec(_Sampler(G, conditional), names, tuple(example[k] for k in names), ["x"], what)


class _Sampler(nn.Module):
    """The generator with the input names and order the exported graph exposes."""

    def __init__(self, G: nn.Module, conditional: bool) -> None:
        super().__init__()
        self.G, self.conditional = G, conditional

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z, y if self.conditional else None)
