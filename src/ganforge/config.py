"""Typed configuration: dataclasses, presets, TOML/YAML files and ``key=value`` overrides.

A resolved :class:`Config` is saved as JSON in every run folder and checkpoint, so a checkpoint can
rebuild its own networks. Unknown keys fail with the nearest valid name suggested.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from .core.errors import ConfigError


@dataclass
class DataConfig:
    source: str = "digits"      # digits | mnist | ring8 | grid25 | stacked-mnist | folder | idx | npz | auto (from path)
    path: str = ""              # file or folder; "" = built in, or searched for on GANFORGE_DATA
    size: int = 0               # image side to train at; 0 = the data's own (all images must agree)
    resize: str = "error"       # error | resize | crop: what to do with images whose size differs from `size`
    channels: int = 0           # 0 = infer from the data; 1 or 3 converts every image
    limit: int = 0              # keep this many examples after a seeded shuffle (0 = all)
    labels: bool = True         # read class labels when the source has them
    n_points: int = 100_000     # size of the toy 2-D training sets


@dataclass
class ModelConfig:
    recipe: str = "auto"        # auto | gan: how a batch flows through the networks
    arch: str = "auto"          # auto | dcgan | mlp (auto: dcgan for images, mlp for vectors)
    z_dim: int = 64             # latent size
    g_width: int = 64           # dcgan: channels of G's last hidden block; mlp: hidden units
    d_width: int = 64           # dcgan: channels of D's first block; mlp: hidden units
    g_norm: str = "batch"       # batch | none
    d_norm: str = "spectral"    # batch | spectral | none
    mlp_layers: int = 3         # hidden layers of the MLP networks
    conditional: bool = False   # class-conditional G and D (needs labelled data)
    cond_g: str = "embed"       # embed (label embedding joined to z) | cbn (conditional batch norm)
    cond_d: str = "projection"  # projection discriminator (Miyato & Koyama 2018)
    pack: int = 1               # PacGAN: D judges this many samples at once (Lin et al. 2018); 1 = off
    mbstd: int = 0              # minibatch standard-deviation layer group size in D (Karras et al. 2018); 0 = off
    g_sn: bool = False          # spectral normalisation in G too (Zhang et al. 2019)
    g_convs: int = 0            # dcgan: extra 3x3 convolutions (+ norm, ReLU) after each of G's hidden blocks
    d_convs: int = 0            # dcgan: extra 3x3 convolutions (+ norm, LeakyReLU) after each of D's down-samplings


@dataclass
class LossConfig:
    kind: str = "ns"            # minimax | ns | lsgan | hinge | wgan | rpgan | ragan (relativistic)


@dataclass
class RegConfig:
    gp: float = 0.0             # WGAN-GP weight (Gulrajani et al. 2017); 0 = off
    r1: float = 0.0             # R1 zero-centred penalty on real data (Mescheder et al. 2018); 0 = off
    r2: float = 0.0             # R2 zero-centred penalty on generated data; 0 = off
    interval: int = 16          # lazy regularisation: penalties every k steps, scaled by k
    label_smooth: float = 0.0   # one-sided label smoothing: real target 1 - s (Salimans et al. 2016)
    inst_noise: float = 0.0     # instance noise std at step 0 (Sonderby et al. 2017); 0 = off
    inst_noise_steps: int = 0   # steps over which the noise decays linearly to 0 (0 = never decays)


@dataclass
class AugmentConfig:
    policy: str = ""            # DiffAugment policies, comma-separated: color,translation,cutout (Zhao et al. 2020)
    ada: bool = False           # adaptive augmentation probability (Karras et al. 2020)
    ada_target: float = 0.6     # target of the overfitting signal r_t = E[sign(D(real))]
    ada_interval: int = 4       # steps between p adjustments
    ada_speed: int = 10_000     # images over which p can move from 0 to 1 (Karras et al. use 500k on far longer runs)
    p: float = 0.0              # fixed augmentation probability when ada is off (1 with a policy and no ada)


@dataclass
class EvalConfig:
    every: int = 0              # steps between evaluations during training; 0 = off
    metrics: str = ""           # comma-separated metric names; "" = the default for the data kind
    n: int = 2000               # generated samples per evaluation
    extractor: str = "auto"     # feature space: auto | raw | digits | lenet-mnist | random-conv | inception
    best: str = ""              # metric whose best value keeps checkpoints/best.safetensors ("" = first metric)


@dataclass
class TabularConfig:
    discrete: str = ""          # comma-separated columns to model as categories (besides the inferred ones)
    target: str = ""            # column to predict in evaluation; kept categorical when it holds whole numbers
    target_share: float = 0.5   # share of training conditions on a discrete target (0 = all columns alike)
    types: str = ""             # type overrides "col:type,..." (continuous|integer|categorical|boolean|datetime)
    epochs: int = 0             # > 0: train.steps = epochs * max(rows // batch, 1) when the run starts
    epoch_steps: int = 4        # with epochs: smaller batches for small tables so a pass is >= this many steps
    max_modes: int = 10         # mixture components fitted per continuous column
    mode_threshold: float = 0.005  # mixture weight below which a mode is dropped
    gmm_rows: int = 10_000      # rows used to fit each column's mixture (0 = all)
    tau: float = 0.2            # Gumbel-softmax temperature of G's one-hot outputs
    dropout: float = 0.5        # dropout after each hidden layer of D
    pool: int = 2               # training-by-sampling pool, as a multiple of the rows
    clip: bool = True           # clip sampled numbers to the range seen in training


@dataclass
class OptimConfig:
    g_lr: float = 2e-4          # generator learning rate
    d_lr: float = 2e-4          # discriminator learning rate (TTUR: set it apart from g_lr)
    g_betas: tuple[float, float] = (0.5, 0.999)  # Adam betas for G
    d_betas: tuple[float, float] = (0.5, 0.999)  # Adam betas for D
    n_critic: int = 1           # D steps per G step
    clip_grad: float = 0.0      # max gradient norm per phase; 0 = off
    lr_decay: float = 0.0       # share of the final steps over which both rates fall linearly to 0; 0 = constant
    share_fakes: bool = False   # G's phase reuses the samples D's phase just judged: one G forward per step, not two
    topk: float = 1.0           # top-k G updates (Sinha et al. 2020): the least share of G's batch, the ones D scores
                                # most real, that G's loss keeps once annealed; 1 = every sample
    topk_gamma: float = 0.99    # the kept share starts at 1 and is multiplied by this per epoch, down to optim.topk


@dataclass
class TrainConfig:
    steps: int = 2000           # D steps (iterations) in all
    batch: int = 64             # real examples per step
    seed: int = 0               # every random thing derives from it
    ema_beta: float = 0.999     # EMA decay for G_ema; 0 = G_ema is a plain copy of G
    ema_warmup: int = 100       # steps over which the EMA decay ramps up from 0
    log_every: int = 50         # steps between stats.jsonl lines
    sample_every: int = 500     # steps between sample grids (0 = only at the end)
    ckpt_every: int = 500       # steps between checkpoints (0 = only at the end)
    keep_ckpts: int = 3         # checkpoints kept (the newest)
    n_grid: int = 64            # images in each sample grid (fixed latents)
    device: str = "auto"        # auto | cpu | cuda | mps
    threads: int = 0            # torch intra-op threads; 0 = leave torch's default
    progress: bool = True       # progress bar on stderr
    nan_retries: int = 3        # NaN/Inf guard: roll back to the last good checkpoint this many times
    nan_lr_factor: float = 0.5  # learning rates are multiplied by this after each rollback
    collapse_every: int = 0     # steps between diversity checks on the fixed-latent samples; 0 = off
    collapse_threshold: float = 0.3  # warn when sample diversity falls below this fraction of the data's
    collapse_drop: float = 0.5  # also warn when diversity falls below this fraction of the run's best so far; 0 = off


@dataclass
class Config:
    preset: str = "custom"      # name the run folder and `info` report
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    reg: RegConfig = field(default_factory=RegConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tabular: TabularConfig = field(default_factory=TabularConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


# ----------------------------------------------------------------------------------------------
# Presets: small override dicts on top of the defaults.

PRESETS: dict[str, dict[str, Any]] = {
    # 8x8 digits: a one-layer DCGAN is too shallow at this size, an MLP on the 64 pixels learns better
    "digits": {
        "data": {"source": "digits"},
        "model": {"arch": "mlp", "z_dim": 32, "g_width": 256, "d_width": 256, "mlp_layers": 3},
        # lazy R1 on top of D's spectral norm: FD 12.7 against 21.5 without, 5 and 4 seeds (docs/stability.md)
        "reg": {"r1": 1.0, "interval": 4},
        "train": {"steps": 4000, "batch": 64, "sample_every": 500, "ckpt_every": 500},
    },
    "digits-cond": {
        "data": {"source": "digits"},
        "model": {"arch": "mlp", "z_dim": 32, "g_width": 256, "d_width": 256, "conditional": True},
        "train": {"steps": 4000, "batch": 64},
    },
    "mnist": {
        "data": {"source": "mnist"},
        "model": {"z_dim": 64, "g_width": 32, "d_width": 32},
        "train": {"steps": 3000, "batch": 64},
    },
    # toy presets tuned with benchmarks/toy2d.py (docs/benchmarks.md, toy2d): lazy R1 keeps the modes
    # balanced, Adam without momentum (beta1 = 0) and a high rate sharpen G's jumps between modes
    "ring8": {
        "data": {"source": "ring8"},
        "model": {"arch": "mlp", "z_dim": 2, "g_width": 128, "d_width": 128, "g_norm": "none",
                  "d_norm": "none", "mlp_layers": 3},
        "reg": {"r1": 0.01, "interval": 16},
        "optim": {"g_lr": 2e-3, "d_lr": 2e-3, "g_betas": (0.0, 0.99), "d_betas": (0.0, 0.99)},
        "train": {"steps": 8000, "batch": 128, "ema_beta": 0.99},
    },
    "grid25": {
        "data": {"source": "grid25"},
        "model": {"arch": "mlp", "z_dim": 2, "g_width": 128, "d_width": 128, "g_norm": "none",
                  "d_norm": "none", "mlp_layers": 3},
        "reg": {"r1": 0.1, "interval": 4},      # benchmarks/toy2d.py: lifted rKL from ~0.4 to ~0.005
        # lr_decay: rates fall linearly to 0 over the last half (95.5% high quality over 10 seeds, 94.6% without)
        "optim": {"g_lr": 1e-3, "d_lr": 1e-3, "lr_decay": 0.5},
        "train": {"steps": 12000, "batch": 256, "ema_beta": 0.998},   # 8,000 steps: 91.6% high quality
    },
    # 1,000-mode Stacked MNIST (Metz et al. 2017) in the PacGAN protocol; benchmarks/stacked_mnist.py
    "stacked-mnist": {
        "data": {"source": "stacked-mnist"},
        # G at width 48, D at 32: KL 0.076 / 0.066 / 0.084 on seeds 0-2 against 0.101 / 0.083 / 0.087 at width 32,
        # 0.75x the steps per second
        "model": {"z_dim": 64, "g_width": 48, "d_width": 32, "pack": 2},
        # G's phase reuses D's generated batch (1.18x the steps per second on 2 threads); top-k G updates
        # down to half the batch (at G width 32): KL 0.101 / 0.083 / 0.087 on seeds 0-2 against 0.119 / 0.120 / 0.107
        "optim": {"share_fakes": True, "topk": 0.5},
        # 48,000 steps (16.2 min by a 2-thread probe, Intel Xeon), EMA over ~100 steps (docs/stability.md)
        "train": {"steps": 48000, "batch": 64, "ema_beta": 0.99},
    },
    "folder": {
        "data": {"source": "folder", "size": 32, "resize": "resize"},
        "train": {"steps": 5000},
    },
    "tabular": {  # CTGAN's settings (Xu et al. 2019): WGAN-GP, pack 10, batch 500, Adam (0.5, 0.9)
        "data": {"source": "tabular"},
        "model": {"recipe": "tabular", "z_dim": 128, "g_width": 256, "d_width": 256, "mlp_layers": 2, "pack": 10},
        "loss": {"kind": "wgan"},
        "reg": {"gp": 10.0, "interval": 1},
        "optim": {"g_betas": (0.5, 0.9), "d_betas": (0.5, 0.9)},
        "train": {"batch": 500, "sample_every": 0, "ckpt_every": 2000, "ema_beta": 0.99},
        "tabular": {"epochs": 300},
    },
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


# ----------------------------------------------------------------------------------------------
# Building and overriding.

def _section_types() -> dict[str, type]:
    hints = get_type_hints(Config)
    return {f.name: hints[f.name] for f in fields(Config) if f.name != "preset"}


def _coerce(value: Any, typ: Any, key: str) -> Any:
    """Convert a parsed value (from TOML/YAML/JSON or a --set string) to the field's type."""
    typ_s = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ_s in ("bool", "<class 'bool'>") or typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int or typ_s == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(str(value).replace("_", "")) if isinstance(value, str) else int(value)
        if typ is float or typ_s == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ is str or typ_s == "str":
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
        if "tuple" in typ_s:
            if isinstance(value, str):
                value = [v for v in value.strip("()[] ").split(",") if v.strip()]
            vals = tuple(float(v) for v in value)
            if len(vals) != 2:
                raise ValueError
            return vals
    except (ValueError, TypeError):
        pass
    else:
        return value
    raise ConfigError(f"config key '{key}' expects {typ_s}, got {value!r}")


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(valid)})"


def _all_keys() -> list[str]:
    keys = ["preset"]
    for sec, typ in _section_types().items():
        keys += [f"{sec}.{f.name}" for f in fields(typ)]
    return keys


def apply_dict(cfg: Config, overrides: dict[str, Any], where: str = "config") -> Config:
    """Apply a nested {section: {key: value}} dict (or dotted keys) to ``cfg`` in place."""
    sections = _section_types()
    for key, value in overrides.items():
        if "." in key:
            sec, _, sub = key.partition(".")
            apply_dict(cfg, {sec: {sub: value}}, where)
            continue
        if key == "preset":
            cfg.preset = _coerce(value, str, "preset")
            continue
        if key not in sections:
            raise ConfigError(f"unknown {where} section '{key}'" + _suggest(key, list(sections) + ["preset"]))
        if not isinstance(value, dict):
            raise ConfigError(f"{where} section '{key}' must be a table of keys, got {value!r}")
        obj = getattr(cfg, key)
        hints = get_type_hints(type(obj))
        names = [f.name for f in fields(obj)]
        for sub, v in value.items():
            if sub not in names:
                full = [f"{key}.{n}" for n in names]
                raise ConfigError(f"unknown {where} key '{key}.{sub}'"
                                  + _suggest(f"{key}.{sub}", full))
            setattr(obj, sub, _coerce(v, hints[sub], f"{key}.{sub}"))
    return cfg


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["optim.d_lr=4e-4", "train.steps=100"]`` -> {"optim.d_lr": "4e-4", ...} (strings; coerced later)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key = key.strip()
        if "." not in key and key != "preset":
            # allow a bare key when it is unique across sections
            owners = [k for k in _all_keys() if k.split(".")[-1] == key]
            if len(owners) == 1:
                key = owners[0]
            else:
                raise ConfigError(f"unknown config key '{key}'" + _suggest(key, _all_keys()))
        out[key] = value.strip()
    return out


def load_file(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        if path.endswith(".toml"):
            with open(path, "rb") as f:
                return tomllib.load(f)
        if path.endswith((".yaml", ".yml")):
            import yaml
            with open(path) as f:
                data = yaml.safe_load(f) or {}
        elif path.endswith(".json"):
            with open(path) as f:
                data = json.load(f)
        else:
            raise ConfigError(f"config file must end in .toml, .yaml, .yml or .json: {path}")
    except ConfigError:
        raise
    except Exception as e:  # parse errors from any of the three formats
        raise ConfigError(f"cannot parse config file {path}: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of sections")
    return data


def from_dict(d: dict[str, Any]) -> Config:
    """Exact inverse of Config.to_dict (used to rebuild a run's config from its JSON)."""
    return apply_dict(Config(), d)


def resolve(name_or_file: str, overrides: dict[str, Any] | None = None) -> Config:
    """A preset name or a config file, then overrides, then validation."""
    cfg = Config()
    if name_or_file in PRESETS:
        apply_dict(cfg, PRESETS[name_or_file], f"preset '{name_or_file}'")
        cfg.preset = name_or_file
    elif name_or_file.endswith((".toml", ".yaml", ".yml", ".json")) or os.path.sep in name_or_file:
        data = load_file(name_or_file)
        base = data.pop("base", data.pop("preset", None))
        if base is not None:
            if base not in PRESETS:
                raise ConfigError(f"unknown preset '{base}' in {name_or_file}" + _suggest(str(base), preset_names()))
            apply_dict(cfg, PRESETS[base], f"preset '{base}'")
        cfg.preset = base or os.path.splitext(os.path.basename(name_or_file))[0]
        apply_dict(cfg, data, f"config file {name_or_file}")
    else:
        raise ConfigError(f"unknown preset '{name_or_file}'" + _suggest(name_or_file, preset_names())
                          + "; or give a .toml/.yaml config file")
    apply_dict(cfg, overrides or {}, "--set")
    validate(cfg)
    return cfg


_CHOICES = {
    "data.source": ["digits", "mnist", "ring8", "grid25", "stacked-mnist", "folder", "idx", "npz", "auto",
                    "tabular"],
    "data.resize": ["error", "resize", "crop"],
    "model.arch": ["auto", "dcgan", "mlp"],
    "model.g_norm": ["batch", "none"],
    "model.d_norm": ["batch", "spectral", "none"],
    "model.cond_g": ["embed", "cbn"],
    "model.cond_d": ["projection"],
    "loss.kind": ["minimax", "ns", "lsgan", "hinge", "wgan", "rpgan", "ragan"],
    "train.device": ["auto", "cpu", "cuda", "mps"],
}

_POSITIVE = ["model.pack", "reg.interval", "augment.ada_interval", "augment.ada_speed", "eval.n",
             "model.z_dim", "model.g_width", "model.d_width", "model.mlp_layers", "optim.n_critic",
             "train.batch", "train.log_every", "train.keep_ckpts", "train.n_grid", "data.n_points"]
_NON_NEGATIVE = ["train.steps", "train.sample_every", "train.ckpt_every", "train.ema_warmup",
                 "train.threads", "data.size", "data.limit", "optim.clip_grad", "optim.g_lr", "optim.d_lr",
                 "model.mbstd", "model.g_convs", "model.d_convs", "reg.gp", "reg.r1", "reg.r2", "reg.label_smooth",
                 "reg.inst_noise", "reg.inst_noise_steps", "eval.every", "train.nan_retries", "train.collapse_every"]


def get(cfg: Config, key: str) -> Any:
    sec, _, sub = key.partition(".")
    return getattr(getattr(cfg, sec), sub)


def validate(cfg: Config) -> Config:
    for key, choices in _CHOICES.items():
        v = get(cfg, key)
        if v not in choices:
            raise ConfigError(f"{key} = {v!r} is not one of: {', '.join(choices)}" + _suggest(str(v), choices))
    for key in _POSITIVE:
        if get(cfg, key) <= 0:
            raise ConfigError(f"{key} must be positive, got {get(cfg, key)}")
    for key in _NON_NEGATIVE:
        if get(cfg, key) < 0:
            raise ConfigError(f"{key} must not be negative, got {get(cfg, key)}")
    if cfg.data.channels not in (0, 1, 3):
        raise ConfigError(f"data.channels must be 0 (infer), 1 or 3, got {cfg.data.channels}")
    if not 0.0 <= cfg.optim.lr_decay <= 1.0:
        raise ConfigError(f"optim.lr_decay must be in [0, 1], got {cfg.optim.lr_decay}")
    for key in ("optim.topk", "optim.topk_gamma"):
        if not 0.0 < get(cfg, key) <= 1.0:
            raise ConfigError(f"{key} must be in (0, 1], got {get(cfg, key)}")
    if not 0.0 <= cfg.train.collapse_drop < 1.0:
        raise ConfigError(f"train.collapse_drop must be in [0, 1), got {cfg.train.collapse_drop}")
    if not 0.0 <= cfg.train.ema_beta < 1.0:
        raise ConfigError(f"train.ema_beta must be in [0, 1), got {cfg.train.ema_beta}")
    for key in ("optim.g_betas", "optim.d_betas"):
        b = get(cfg, key)
        if not all(0.0 <= x < 1.0 for x in b):
            raise ConfigError(f"{key} must be two numbers in [0, 1), got {b}")
    return cfg
