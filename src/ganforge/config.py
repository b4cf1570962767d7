"""Typed configuration: dataclasses, presets, TOML/YAML files and ``key=value`` overrides.

A :class:`Config` holds the core sections every run has (data, model, loss, reg, augment, optim,
train, eval) and the sections of the parts in use: a recipe (or data source) registers its own
section in ``SECTIONS`` (``[tabular]``, ``[text]`` ...), and a config holds it once it is set or
read. Allowed values (recipes, data sources, architectures, losses, extractors) and presets come
from the registries (core/registry.py), so a new modality adds names without editing this file.

A resolved config is saved as JSON in every run folder and checkpoint, so a checkpoint can rebuild
its own networks. Unknown keys fail with the nearest valid name suggested. The config also
remembers which keys the user set (config file, ``--set``, API arguments) as opposed to a preset:
a recipe's ``prepare`` step may derive defaults from the data, but never for those keys.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

import tomllib

from .core.errors import ConfigError
from .core.registry import ARCHS, EXTRACTORS, LOSSES, PRESETS, RECIPES, SECTIONS, SOURCES


@dataclass
class DataConfig:
    source: str = "digits"      # a registered data source (`ganforge presets` lists them) or auto (from the path)
    path: str = ""              # file or folder; "" = built in, or searched for on GANFORGE_DATA
    size: int = 0               # image side to train at; 0 = the data's own (all images must agree)
    resize: str = "error"       # error | resize | crop: what to do with images whose size differs from `size`
    channels: int = 0           # 0 = infer from the data; 1 or 3 converts every image
    limit: int = 0              # keep this many examples after a seeded shuffle (0 = all)
    labels: bool = True         # read class labels when the source has them
    n_points: int = 100_000     # size of the toy 2-D training sets
    stream: bool = False        # read examples from disk per batch (folders larger than memory) instead of all at once
    workers: int = 0            # streaming: background processes that read examples (0 = in the training process)


@dataclass
class ModelConfig:
    recipe: str = "auto"        # auto (from the data's kind) | gan | tabular | any registered recipe
    arch: str = "auto"          # auto | dcgan | style | mlp | any registered family (auto: dcgan for images, mlp else)
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
    attention: int = 0          # SAGAN self-attention in G and D at the feature map of this side (16: 16x16); 0 = off
    map_layers: int = 4         # style: layers of the mapping network z -> w (StyleGAN and StyleGAN2 use 8)
    style_mix: float = 0.9      # style: probability of style mixing regularisation per training batch; 0 = off


@dataclass
class LossConfig:
    kind: str = "ns"            # minimax | ns | lsgan | hinge | wgan | rpgan | ragan (relativistic) | registered


@dataclass
class RegConfig:
    gp: float = 0.0             # WGAN-GP weight (Gulrajani et al. 2017); 0 = off
    r1: float = 0.0             # R1 zero-centred penalty on real data (Mescheder et al. 2018); 0 = off
    r2: float = 0.0             # R2 zero-centred penalty on generated data; 0 = off
    interval: int = 16          # lazy regularisation: penalties every k steps, scaled by k
    pl: float = 0.0             # path-length regularisation of G (StyleGAN2 uses 2; model.arch=style only); 0 = off
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
class PrivacyConfig:
    epsilon: float = 0.0        # (epsilon, delta)-DP budget of the networks that read real data; 0 = off
    delta: float = 1e-5         # the delta of the guarantee; keep it well below 1 / rows
    clip: float = 1.0           # per-example gradient norm bound of D's step (DP-SGD, Abadi et al. 2016)
    accountant: str = "rdp"     # rdp (Renyi DP, Mironov 2017) | prv (privacy loss random variables)
    count_share: float = 0.1    # tables: share of epsilon spent on noisy category counts (conditions, sampling)

    def validate(self) -> None:
        if self.epsilon < 0:
            raise ConfigError(f"privacy.epsilon must not be negative (0 = off), got {self.epsilon}")
        if self.epsilon > 0:
            if not 0.0 < self.delta < 1.0:
                raise ConfigError(f"privacy.delta must be in (0, 1), got {self.delta}")
            if self.clip <= 0:
                raise ConfigError(f"privacy.clip must be positive, got {self.clip}")
            if not 0.0 <= self.count_share < 1.0:
                raise ConfigError(f"privacy.count_share must be in [0, 1), got {self.count_share}")

    @property
    def on(self) -> bool:
        return self.epsilon > 0


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


CORE_SECTIONS = ("data", "model", "loss", "reg", "augment", "optim", "train", "eval", "privacy")


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
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)       # registered sections in use
    explicit: set[str] = field(default_factory=set, repr=False, compare=False)  # keys the user set

    def __getattr__(self, name: str) -> Any:
        """``cfg.tabular``: a registered section, made with its defaults on first use."""
        if name.startswith("_") or name in ("extra", "explicit"):
            raise AttributeError(name)
        if name in self.__dict__.get("extra", {}):
            return self.__dict__["extra"][name]
        if name in SECTIONS:
            return self.section(name)
        raise AttributeError(f"'Config' has no section '{name}'")

    def section(self, name: str) -> Any:
        """The section ``name`` (core or registered); a registered one is created with its defaults."""
        if name in CORE_SECTIONS:
            return getattr(self, name)
        if name not in self.extra:
            self.extra[name] = SECTIONS.get(name, "config section")()
        return self.extra[name]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"preset": self.preset}
        out.update({name: dataclasses.asdict(getattr(self, name)) for name in CORE_SECTIONS})
        out.update({name: dataclasses.asdict(sec) for name, sec in self.extra.items()})
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def copy(self) -> Config:
        cfg = from_dict(self.to_dict())
        cfg.explicit = set(self.explicit)
        return cfg


def preset_names() -> list[str]:
    return PRESETS.names()


# ----------------------------------------------------------------------------------------------
# Building and overriding.

def _section_type(name: str) -> type | None:
    if name in CORE_SECTIONS:
        return get_type_hints(Config)[name]
    return SECTIONS.get(name, "config section") if name in SECTIONS else None


def _section_names() -> list[str]:
    return list(CORE_SECTIONS) + SECTIONS.names()


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
    for sec in _section_names():
        keys += [f"{sec}.{f.name}" for f in fields(_section_type(sec))]
    return keys


def apply_dict(cfg: Config, overrides: dict[str, Any], where: str = "config", explicit: bool = True) -> Config:
    """Apply a nested {section: {key: value}} dict (or dotted keys) to ``cfg`` in place.

    ``explicit``: the keys count as set by the user (False for presets)."""
    for key, value in overrides.items():
        if "." in key:
            sec, _, sub = key.partition(".")
            apply_dict(cfg, {sec: {sub: value}}, where, explicit)
            continue
        if key == "preset":
            cfg.preset = _coerce(value, str, "preset")
            continue
        if key == "why" and not explicit:   # a preset's reasons for its values (--dry-run shows them)
            continue
        typ = _section_type(key)
        if typ is None:
            raise ConfigError(f"unknown {where} section '{key}'" + _suggest(key, _section_names() + ["preset"]))
        if not isinstance(value, dict):
            raise ConfigError(f"{where} section '{key}' must be a table of keys, got {value!r}")
        obj = cfg.section(key)
        hints = get_type_hints(type(obj))
        names = [f.name for f in fields(obj)]
        for sub, v in value.items():
            if sub not in names:
                full = [f"{key}.{n}" for n in names]
                raise ConfigError(f"unknown {where} key '{key}.{sub}'"
                                  + _suggest(f"{key}.{sub}", full))
            setattr(obj, sub, _coerce(v, hints[sub], f"{key}.{sub}"))
            if explicit:
                cfg.explicit.add(f"{key}.{sub}")
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
    for name in d:
        if name != "preset" and _section_type(name) is None:
            raise ConfigError(f"the config has a section '{name}' that no installed part defines; install the "
                              "plug-in that adds it (ganforge.recipes entry point) or remove the section")
    cfg = apply_dict(Config(), d, explicit=False)
    return cfg


def preset(name: str) -> dict[str, Any]:
    """A preset's override dict (a copy)."""
    return json.loads(json.dumps(PRESETS.get(name)))


def preset_why(name: str) -> str:
    """Why a preset has the values it has ("" when it does not say): measured choices, with their source."""
    return str(PRESETS.get(name).get("why", "")) if name in PRESETS else ""


def resolve(name_or_file: str, overrides: dict[str, Any] | None = None) -> Config:
    """A preset name or a config file, then overrides, then validation."""
    cfg = Config()
    if name_or_file in PRESETS:
        apply_dict(cfg, PRESETS.get(name_or_file), f"preset '{name_or_file}'", explicit=False)
        cfg.preset = name_or_file
    elif name_or_file.endswith((".toml", ".yaml", ".yml", ".json")) or os.path.sep in name_or_file:
        data = load_file(name_or_file)
        base = data.pop("base", data.pop("preset", None))
        if base is not None:
            if base not in PRESETS:
                raise ConfigError(f"unknown preset '{base}' in {name_or_file}" + _suggest(str(base), preset_names()))
            apply_dict(cfg, PRESETS.get(base), f"preset '{base}'", explicit=False)
        cfg.preset = base or os.path.splitext(os.path.basename(name_or_file))[0]
        apply_dict(cfg, data, f"config file {name_or_file}")
    else:
        raise ConfigError(f"unknown preset '{name_or_file}'" + _suggest(name_or_file, preset_names())
                          + "; or give a .toml/.yaml config file")
    apply_dict(cfg, overrides or {}, "--set")
    validate(cfg)
    return cfg


def choices() -> dict[str, list[str]]:
    """Allowed values of the keys that name a part: the registries' names, plus fixed lists."""
    return {
        "data.source": SOURCES.names() + ["auto"],
        "data.resize": ["error", "resize", "crop"],
        "model.recipe": ["auto"] + RECIPES.names(),
        "model.arch": ["auto"] + ARCHS.names(),
        "model.g_norm": ["batch", "none"],
        "model.d_norm": ["batch", "spectral", "none"],
        "model.cond_g": ["embed", "cbn"],
        "model.cond_d": ["projection"],
        "loss.kind": LOSSES.names(),
        "eval.extractor": ["auto"] + EXTRACTORS.names(),
        "train.device": ["auto", "cpu", "cuda", "mps"],
        "privacy.accountant": ["rdp", "prv"],
    }


_POSITIVE = ["model.pack", "reg.interval", "augment.ada_interval", "augment.ada_speed", "eval.n",
             "model.z_dim", "model.g_width", "model.d_width", "model.mlp_layers", "model.map_layers", "optim.n_critic",
             "train.batch", "train.log_every", "train.keep_ckpts", "train.n_grid", "data.n_points"]
_NON_NEGATIVE = ["train.steps", "train.sample_every", "train.ckpt_every", "train.ema_warmup",
                 "train.threads", "data.size", "data.limit", "data.workers", "optim.clip_grad", "optim.g_lr",
                 "optim.d_lr", "model.mbstd", "model.g_convs", "model.d_convs", "reg.gp", "reg.r1", "reg.r2", "reg.pl",
                 "reg.label_smooth", "reg.inst_noise", "reg.inst_noise_steps", "eval.every", "train.nan_retries",
                 "train.collapse_every", "model.attention"]


def get(cfg: Config, key: str) -> Any:
    sec, _, sub = key.partition(".")
    return getattr(cfg.section(sec), sub)


def validate(cfg: Config) -> Config:
    for key, allowed in choices().items():
        v = get(cfg, key)
        if v not in allowed:
            raise ConfigError(f"{key} = {v!r} is not one of: {', '.join(allowed)}" + _suggest(str(v), allowed))
    for key in _POSITIVE:
        if get(cfg, key) <= 0:
            raise ConfigError(f"{key} must be positive, got {get(cfg, key)}")
    for key in _NON_NEGATIVE:
        if get(cfg, key) < 0:
            raise ConfigError(f"{key} must not be negative, got {get(cfg, key)}")
    if cfg.data.channels not in (0, 1, 3):
        raise ConfigError(f"data.channels must be 0 (infer), 1 or 3, got {cfg.data.channels}")
    if not 0.0 <= cfg.model.style_mix <= 1.0:
        raise ConfigError(f"model.style_mix must be in [0, 1], got {cfg.model.style_mix}")
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
    cfg.privacy.validate()
    for sec in cfg.extra.values():  # a registered section checks its own values
        check = getattr(sec, "validate", None)
        if check is not None:
            check()
    return cfg


@dataclass(frozen=True)
class Derived:
    """A value a recipe's ``prepare`` chose from the data, and why (shown by --dry-run, kept in data.json)."""
    key: str
    value: Any
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "why": self.why}


def derive(cfg: Config, key: str, value: Any, why: str) -> Derived | None:
    """Set ``key`` to ``value`` unless the user set it; the record of the change (None when left alone)."""
    if key in cfg.explicit or get(cfg, key) == value:
        return None
    sec, _, sub = key.partition(".")
    setattr(cfg.section(sec), sub, value)
    return Derived(key, value, why)
