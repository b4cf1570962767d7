"""The music recipe: MuseGAN-class GANs on multi-track piano-rolls (Dong et al. 2018), and the maximum-likelihood
baseline they must beat (music.adversarial=false).

- GAN (nets/musegan.py): G draws a phrase from shared and private, time-independent and time-dependent latents
  through a temporal network over bars and a bar generator per track; D judges the whole (tracks, steps, pitches)
  roll with 3-D convolutions. Everything else (losses, EMA, TTUR, R1 / GP, packing, top-k) is the GAN recipe's.
  Binarisation of G's output in training: music.binarize (none | hard | bernoulli, straight-through).
- MLE (music.adversarial=false): one phase ``G_mle``, an LSTM over the frames trained by teacher-forced binary
  cross-entropy (every (track, pitch) of a step a Bernoulli given the frames before it); sampling draws each frame
  from the sample's own uniforms, so every sample is reproducible alone.

Samples are 0 / 1 rolls: the GAN's probabilities thresholded at 0.5, or with music.binarize=bernoulli drawn as
in training (each cell 1 with its probability, from the sample's own uniform numbers). Files: MIDI (``.mid``: all
phrases in one file; no extension: a folder, one file per phrase), a piano-roll picture (``.png``), sound (``.wav``,
core/synth.py) and ``.npz``. The training grid is the picture and the sound of its first four phrases. Evaluation
compares with the phrases of the held-out scores and adds the symbolic statistics of metrics/music.py beside theirs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..core import midi, synth  # noqa: F401  (register the MIDI, piano-roll and sound writers)
from ..core.errors import ConfigError
from ..nets.musegan import BINARIZE, VOICING, FrameLSTM, MuseDiscriminator, MuseGenerator, choose
from .base import Batch, OptimSpec, Phase, Recipe, register_recipe
from .gan import GANRecipe
from .gan_options import GANOptions
from .music_presets import PRESETS

_U_OFFSET = 1_000_003   # the seed of a sample's uniform numbers is its seed plus this (z takes the seed itself)


@dataclass
class MusicConfig:
    steps_per_beat: int = 4     # grid steps per quarter note (4: sixteenth notes)
    bars: int = 4               # bars per phrase
    hop_bars: int = 1           # a phrase starts every this many bars
    meters: str = "4/4"         # time signatures accepted, comma-separated (all with the bar length of the first)
    pitch_low: int = 36         # lowest MIDI pitch kept (36 = C2)
    pitches: int = 48           # pitches kept from pitch_low up (a multiple of 12)
    tracks: int = 4             # tracks per phrase
    track_names: str = "soprano,alto,tenor,bass"   # one name per track
    track_by: str = "part"      # part: the k-th part of a score | program: the part playing the k-th of music.programs
    programs: str = ""          # track_by=program: General MIDI programs (0-127), one per track, comma-separated
    transpose: bool = True      # every score to C major / A minor (Krumhansl-Schmuckler key)
    on_bad: str = "refuse"      # refuse | skip: a score that is unreadable, empty, in another meter or part count
    holdout: float = 0.1        # share of the SCORES held out for evaluation (seeded by split_seed)
    split_seed: int = 0         # seed of the held-out choice (fixed apart from the run seed, so runs share it)
    voicing: str = "poly"       # poly: a track plays any set of pitches | mono: one pitch or a rest per step (voices)
    adversarial: bool = True    # false: the maximum-likelihood baseline (an LSTM over frames)
    latent: int = 32            # GAN: numbers in each of the 2 + 2 * tracks latent parts
    binarize: str = "hard"      # GAN: none | hard | bernoulli (straight-through) for what D sees in training
    mle_hidden: int = 256       # MLE: LSTM units
    mle_lr: float = 1e-3        # MLE: Adam rate
    tempo: float = 100.0        # quarter notes per minute in MIDI and sound
    out_programs: str = ""      # General MIDI program of each track in MIDI files ("" = 0, piano)
    synth: str = "auto"         # sound: auto (FluidSynth when installed) | fluidsynth | builtin
    rate: int = 16000           # sound: sample rate

    def validate(self) -> None:
        for key, allowed in (("track_by", ("part", "program")), ("on_bad", ("refuse", "skip")),
                             ("binarize", BINARIZE), ("voicing", VOICING),
                             ("synth", ("auto", "fluidsynth", "builtin"))):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"music.{key} = {getattr(self, key)!r} is not one of: {', '.join(allowed)}")
        for key in ("steps_per_beat", "bars", "hop_bars", "pitches", "tracks", "latent", "mle_hidden", "tempo", "rate"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"music.{key} must be positive, got {getattr(self, key)}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"music.holdout must be in [0, 1), got {self.holdout}")
        if len(self.track_names.split(",")) != self.tracks:
            raise ConfigError(f"music.track_names names {len(self.track_names.split(','))} tracks, music.tracks="
                              f"{self.tracks}; give one name per track")
        if self.track_by == "program" and len(self.programs.split(",")) != self.tracks:
            raise ConfigError("music.track_by=program needs music.programs: one General MIDI program per track, "
                              "e.g. '0,33' for piano and bass")
        try:
            bars = {round(int(n) * 4 / int(d) * self.steps_per_beat)
                    for n, d in (m.strip().split("/") for m in self.meters.split(","))}
        except ValueError:
            raise ConfigError(f"music.meters = {self.meters!r}: give time signatures like '4/4,2/2'") from None
        if len(bars) != 1:
            raise ConfigError(f"music.meters = {self.meters!r} mixes bar lengths; give meters of one bar length")
        if self.pitches % 12 or next(iter(bars)) % 4:
            raise ConfigError(f"the music networks need whole octaves (music.pitches a multiple of 12, got "
                              f"{self.pitches}) and bars of a multiple of 4 steps (got {next(iter(bars))})")


@register_recipe
class MusicRecipe(GANRecipe):
    name = "music"
    section, config = "music", MusicConfig
    data_kinds = ("pianoroll",)
    presets = PRESETS
    explorable = False
    condition_help: dict[str, str] = {}

    @property
    def truncation_keys(self) -> tuple[str, ...]:   # the MLE model draws from uniforms, not latents
        return ("z",) if self.adversarial else ()
    formats = {".png": "pianoroll-grid", ".mid": "midi", ".midi": "midi", ".wav": "music-wav", "": "midi-folder",
               ".npz": "npz"}

    def __init__(self, cfg, data_info: dict, device: torch.device):
        Recipe.__init__(self, cfg, data_info, device)
        s, m = self.settings(), cfg.model
        if m.conditional:
            raise ConfigError("the music recipe is not class-conditional; set model.conditional=false")
        self.shape, self.num_classes, self.ema = tuple(data_info["shape"]), 0, {"G_ema": "G"}
        K, T, P = self.shape
        self.adversarial = s.adversarial
        if s.adversarial:
            bars, steps = int(data_info["bars"]), int(data_info["bar_steps"])
            make = lambda: MuseGenerator(K, bars, steps, P, s.latent, m.g_width, s.binarize,  # noqa: E731
                                         s.voicing).to(device)
            self.nets = {"G": make(), "D": MuseDiscriminator(K, bars, steps, P, m.d_width, m.d_norm, m.pack).to(device),
                         "G_ema": make()}
            self.z_dim = self.nets["G"].z_dim
            self.options = GANOptions(cfg, data_info, device)
        else:
            self.nets = {"G": FrameLSTM(K, P, s.mle_hidden, s.voicing).to(device),
                         "G_ema": FrameLSTM(K, P, s.mle_hidden, s.voicing).to(device)}
        self.nets["G_ema"].load_state_dict(self.nets["G"].state_dict())
        self.nets["G_ema"].eval().requires_grad_(False)
        self._shared = None

    @property
    def gen(self) -> torch.Generator | None:
        return self._gen

    @gen.setter
    def gen(self, g: torch.Generator | None) -> None:   # Bernoulli binarisation draws from the loop's noise
        self._gen = g
        if "G" in self.nets and hasattr(self.nets["G"], "generator"):
            self.nets["G"].generator = g

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        if self.adversarial:
            return super().optimizers()
        return {"G": OptimSpec(("G",), self.settings().mle_lr, tuple(self.cfg.optim.g_betas))}

    def phases(self) -> list[Phase]:
        return super().phases() if self.adversarial else [Phase("G_mle", "G", ("G",), self.mle_step)]

    def mle_step(self, batch: Batch, step: int):
        x, (K, T, P) = batch.x, self.shape
        logits = self.nets["G"](x)
        if self.settings().voicing == "mono":     # the pitch a voice sounds (its lowest if a chord), or P: a rest
            target = torch.where(x.amax(-1) > 0, x.argmax(-1), P).transpose(1, 2)    # (B, T, K)
            loss = F.cross_entropy(logits.reshape(-1, P + 1), target.reshape(-1))
        else:
            target = x.permute(0, 2, 1, 3).reshape(x.shape[0], T, K * P)             # (B, T, K*P)
            loss = F.binary_cross_entropy_with_logits(logits, target)
        return loss, {"loss_mle": loss.detach()}

    def after_step(self, step: int, stats: dict) -> None:
        if self.adversarial:
            super().after_step(step, stats)

    def state_dict(self) -> dict:
        return super().state_dict() if self.adversarial else {}

    def load_state_dict(self, state: dict) -> None:
        if self.adversarial:
            super().load_state_dict(state)

    # -- sampling -------------------------------------------------------------------------------
    def sample_inputs(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
                      conditions: dict | None = None) -> dict[str, torch.Tensor]:
        """GAN: latents z; with music.binarize=bernoulli also the uniform numbers that draw each cell. MLE: the
        uniform numbers that draw each frame. Each sample's from its own seed (offset from z's) when seeds are given."""
        K, T, P = self.shape
        out = super().sample_inputs(n, seed, seeds, conditions) if self.adversarial else {}
        if self.adversarial and self.settings().binarize != "bernoulli":
            return out
        size = (K, T, P) if self.adversarial else (T, K * P)
        if seeds is not None:
            u = torch.stack([torch.rand(size, generator=torch.Generator().manual_seed(s + _U_OFFSET)) for s in seeds])
        else:
            u = torch.rand(n, *size, generator=torch.Generator().manual_seed(seed + _U_OFFSET))
        return {**out, "u": u.to(self.device)}

    @torch.no_grad()
    def generate(self, inputs: dict[str, torch.Tensor], net: str | None = None, batch: int = 1024) -> torch.Tensor:
        """0 / 1 rolls (N, K, T, P): G's probabilities drawn with the sample's uniforms (binarize=bernoulli) or
        thresholded at 0.5 (mono: the most probable pitch or rest of each track and step); the MLE model's frames
        drawn one by one."""
        mono, (K, T, P) = self.settings().voicing == "mono", self.shape
        if self.adversarial:
            p = super().generate(inputs, net, batch)
            if mono:
                full = torch.cat([p, (1 - p.sum(-1, keepdim=True)).clamp_min(0)], -1)
                return choose(full, inputs["u"][..., 0] if "u" in inputs else None)[..., :P]
            return (inputs["u"] < p).float() if "u" in inputs else (p > 0.5).float()
        G = self.nets[net or self.sampler_net()]
        u, frames, state = inputs["u"], [], None
        frame = torch.zeros(u.shape[0], K * P, device=self.device)
        for t in range(T):
            logits, state = G.step(frame, state)
            if mono:
                frame = choose(logits.view(-1, K, P + 1).softmax(-1), u[:, t, :K])[..., :P].reshape(-1, K * P)
            else:
                frame = (u[:, t] < torch.sigmoid(logits)).float()
            frames.append(frame)
        return torch.stack(frames, 1).view(u.shape[0], T, K, P).permute(0, 2, 1, 3).contiguous()

    def to_output(self, outputs: torch.Tensor, inputs: dict | None = None) -> dict:
        s, K = self.settings(), self.shape[0]
        programs = [int(p) for p in s.out_programs.split(",")] if s.out_programs else [0] * K
        return {"x": outputs.cpu().to(torch.uint8).numpy(), "steps_per_beat": s.steps_per_beat,
                "pitch_low": s.pitch_low, "tempo": s.tempo, "programs": programs, "names": s.track_names.split(","),
                "rate": s.rate, "synth": s.synth}

    def save_samples(self, outputs, path: str, inputs=None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        return self.write(self.formats[ext], path, {"x": out["x"]} if ext == ".npz" else out)

    def save_grid(self, outputs, stem: str, inputs=None) -> list[str]:
        out = self.to_output(outputs, inputs)
        return [self.write("pianoroll-grid", stem + ".png", out), self.write("music-wav", stem + ".wav", out, most=4)]

    def eval_samples(self, data, n: int, seed: int, truncation: float | None = None):
        """Generated phrases against the held-out scores' phrases (the training phrases when none are held out)."""
        from ..data.music import load_part
        held = int(self.data_info.get("held_out_scores", 0)) > 0
        real = load_part(self.cfg, self.cfg.train.seed, "test") if held else data
        self._train_x = data.x
        return real.x, self.generate(self.truncate(self.sample_inputs(n, seed=seed), truncation)), {"real_labels": None}

    def eval_checks(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict[str, float]:
        from ..metrics.music import memorisation, music_checks
        s = self.settings()
        out = music_checks(real, fake, s.track_names.split(","), int(self.data_info["bar_steps"]), s.pitch_low,
                           s.steps_per_beat)
        train = getattr(self, "_train_x", None)
        if train is not None:
            out.update(memorisation(fake, train))
            out.update({f"{k}_real": v for k, v in memorisation(real, train).items()})
        return out

    def export_spec(self, component: str):
        if not self.adversarial:
            raise ConfigError("the music MLE baseline does not export to ONNX (its sampling is a loop of LSTM steps)")
        spec = super().export_spec(component)
        spec.describe = ("note probabilities (N, tracks, steps, pitches); " +
                         ("each track sounds its most probable pitch, or rests when the rest (1 - the sum) is likelier"
                          if self.settings().voicing == "mono" else "a note sounds where the value exceeds 0.5"))
        return spec


__all__ = ["MusicRecipe", "MusicConfig"]
