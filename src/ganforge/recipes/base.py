"""What every recipe provides to the loop, the API, export and evaluation. They only ever see these types.

A recipe owns its networks and forward passes and declares its phases as data: which optimizer,
which networks receive gradients, which loss, how often. It also owns its config section, its
presets, how its samples are drawn (from seeds and conditioning inputs) and written (which file
formats), and which of its networks are generators to export. Adding an application means
registering a recipe (``@register_recipe``) next to its networks, data source, sample writer and
feature extractor, never editing the loop.

Networks come in two kinds: ``nets`` are trained (or averaged, ``ema``) and saved in every
checkpoint; ``frozen`` ones (a pretrained encoder, a fixed random projection) are loaded from a
safetensors file named in the config, never trained, broadcast or copied into checkpoints, which
record the file and its sha256 instead.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import Config, Derived
from ..core.errors import CheckpointError, ConfigError
from ..core.frozen import frozen_path, load_frozen
from ..core.provenance import record as provenance_record
from ..core.registry import PRESETS, RECIPES, SECTIONS, WRITERS
from ..core.watermark import watermarked


class Batch(dict):
    """One step's examples: named tensors on the training device, each (B, ...). ``x`` is always
    there; ``y`` (labels) when the data has them; anything else a data source adds (a paired target,
    token ids, a speaker id) under its own name."""

    def __init__(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, **extra: torch.Tensor):
        super().__init__(x=x, **({"y": y} if y is not None else {}), **extra)

    @property
    def x(self) -> torch.Tensor:
        return self["x"]

    @property
    def y(self) -> torch.Tensor | None:
        return self.get("y")

    @property
    def extra(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.items() if k not in ("x", "y")}


LossFn = Callable[[Batch, int], "tuple[torch.Tensor, dict[str, torch.Tensor]]"]


@dataclass(frozen=True)
class Phase:
    name: str                       # "D", "G", "D_reg", ...: names the phase in logs
    opt: str                        # key into Recipe.optimizers()
    trains: tuple[str, ...]         # networks whose parameters receive gradients in this phase
    loss: LossFn                    # (batch, step) -> (scalar loss, {stat name: detached scalar})
    interval: int = 1               # run on steps where (step + 1) % interval == 0
    start: int = 0                  # first step it runs at (a stage: pretraining, then adversarial training)
    stop: int | None = None         # the step it stops before; None = to the end
    reads_real: bool = False        # its loss reads the real batch (differential privacy noises these phases)

    def due(self, step: int) -> bool:
        return (step + 1) % self.interval == 0 and self.start <= step and (self.stop is None or step < self.stop)


@dataclass(frozen=True)
class OptimSpec:
    modules: tuple[str, ...]        # networks whose parameters this optimizer updates
    lr: float
    betas: tuple[float, float]


@dataclass
class ExportSpec:
    """One generator as an exportable graph: ``module(*example)`` -> outputs named ``outputs``."""
    module: nn.Module
    inputs: list[str]
    example: tuple[torch.Tensor, ...]
    outputs: list[str]
    describe: str = ""              # what the output is, for the export's model card


def check_psi(psi: Any) -> float:
    """A truncation psi as a float >= 0, or one clear line."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        raise ConfigError(f"truncation psi must be a number >= 0, got {psi!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"truncation psi must be a number >= 0, got {psi!r}")
    return value


class Recipe:
    """Base class. Subclasses fill ``nets`` in __init__ and implement the methods below."""

    name = "base"
    section: str = ""               # name of the recipe's own config section ("" = none)
    config: type | None = None      # the section's dataclass
    data_kinds: tuple[str, ...] = ()  # data kinds this recipe trains when model.recipe=auto
    presets: dict[str, dict] = {}   # presets registered with the recipe
    evaluator = "features"          # registered evaluator for `ganforge eval` (evaluation/)
    explorable = False              # generators of a latent z the explore tools can walk
    truncation_keys: tuple[str, ...] = ()  # sampling inputs drawn from N(0, I) that truncation pulls toward 0
    ema: dict[str, str] = {}        # {"G_ema": "G"}: averaged copies the loop keeps after each phase
    condition_help: dict[str, str] = {}  # conditioning inputs sample() may take: {"label": "class index"}
    formats: dict[str, str] = {}    # sample file extension -> registered writer; the first is the grid's
    cli_options: dict[str, tuple[str, type, str]] = {}  # `ganforge train --flag`: (config key, type, help)
    sample_options: dict[str, tuple[type, str, tuple | None]] = {}  # `ganforge sample --flag`: (type, help, choices),
                                                                    # passed to sample() as the condition ``flag``
    flush_denormal = False          # train with denormal floats flushed to zero (torch.set_flush_denormal)

    def __init__(self, cfg: Config, data_info: dict, device: torch.device):
        self.cfg, self.data_info, self.device = cfg, data_info, device
        self.nets: dict[str, nn.Module] = {}
        self.frozen: dict[str, nn.Module] = {}
        self.frozen_refs: dict[str, dict[str, Any]] = {}
        self.gen: torch.Generator | None = None   # the loop sets the noise generator

    # -- configuration --------------------------------------------------------------------------
    @classmethod
    def prepare(cls, cfg: Config, data_info: dict) -> list[Derived]:
        """Derive defaults from the data before the run starts (once; not on resume). Use
        ``config.derive`` so keys the user set are left alone and every change says why."""
        return []

    def settings(self) -> Any:
        """The recipe's own config section."""
        return self.cfg.section(self.section) if self.section else None

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def after_step(self, step: int, stats: dict[str, torch.Tensor]) -> None:
        """Hook for per-step controllers (for example an augmentation probability)."""

    # -- differential privacy (engine/privacy.py) -----------------------------------------------
    @property
    def private(self) -> bool:
        """Differentially private training: real batches are Poisson samples, each real example is paired with
        one generated example in two equal calls of D, and phases that do not read real data must not
        depend on the real batch (not even on its size)."""
        return self.cfg.privacy.epsilon > 0

    def privacy_count_share(self) -> float:
        """The share of privacy.epsilon the data source spent before training (a table's noisy counts); DP-SGD
        gets the rest."""
        return 0.0

    def privacy_covers(self) -> list[str]:
        """What a private run's guarantee covers, in words for the run's record."""
        return ["the weights of every network (D by DP-SGD; G, G_ema by post-processing, as G reads no real data)",
                "every sample drawn from them"]

    def privacy_gaps(self) -> list[str]:
        """What it does not cover, in words for the run's record."""
        return ["training logs (stats.jsonl: losses and D's scores of real batches) and the run folder's grids",
                "evaluations against real data (ganforge eval, the report's metrics)"]

    def state_dict(self) -> dict[str, Any]:
        """JSON-able recipe state to keep in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    # -- frozen networks ------------------------------------------------------------------------
    def add_frozen(self, name: str, module: nn.Module, path: str) -> nn.Module:
        """Load ``module``'s weights from the safetensors file ``path`` and keep it as a frozen part:
        eval mode, no gradients, not in ``nets`` (so not trained, broadcast or checkpointed)."""
        path = frozen_path(name, path)
        digest = load_frozen(module, path)
        module = module.to(self.device).eval().requires_grad_(False)
        self.frozen[name] = module
        self.frozen_refs[name] = {"file": os.path.abspath(path), "sha256": digest}
        return module

    def check_frozen(self, refs: dict[str, dict[str, Any]], where: str) -> None:
        """A checkpoint's frozen references must name the files this recipe loaded, byte for byte."""
        for name, ref in refs.items():
            mine = self.frozen_refs.get(name)
            if mine is None:
                raise CheckpointError(f"{where} was trained with a frozen network '{name}' this config does not load")
            if mine["sha256"] != ref.get("sha256"):
                raise CheckpointError(f"frozen network '{name}': {mine['file']} (sha256 {mine['sha256'][:12]}...) is "
                                      f"not the file {where} was trained with ({ref.get('file')}, sha256 "
                                      f"{str(ref.get('sha256'))[:12]}...); point the config at that file")

    # -- sampling -------------------------------------------------------------------------------
    def sampler_net(self) -> str:
        """The network used for samples (an EMA copy when there is one)."""
        return next(iter(self.ema), "G")

    def accepts(self) -> dict[str, str]:
        """Conditioning inputs this run's sample() takes (may depend on the config)."""
        return dict(self.condition_help)

    def check_conditions(self, conditions: dict[str, Any] | None) -> dict[str, Any]:
        """The given conditions (None values dropped); one clear line for one this run cannot take."""
        given = {k: v for k, v in (conditions or {}).items() if v is not None}
        ok = self.accepts()
        if self.truncation_keys:
            ok["truncation"] = "psi >= 0: latents pulled toward the mean (1 = off)"
        if "truncation" in given and self.truncation_keys:
            given["truncation"] = check_psi(given["truncation"])
        for key in given:
            if key not in ok:
                takes = ", ".join(f"--{k} ({v})" for k, v in ok.items()) or "no conditioning input"
                raise ConfigError(f"this {self.name} run takes no --{key}{self.refusal(key)}; it takes {takes}")
        return given

    def read_input(self, path: str) -> dict[str, Any]:
        """The conditions ``ganforge sample --input PATH`` gives: by default the examples any data source reads from
        PATH as ``input``; a recipe may read its own files (and add, say, their names)."""
        from ..config import DataConfig
        from ..data import load_dataset
        return {"input": load_dataset(DataConfig(source="auto", path=path, labels=False)).x}

    def refusal(self, key: str) -> str:
        """Why a condition is refused, appended to the error (e.g. ' (it is not class-conditional)')."""
        return ""

    def latent_parts(self) -> dict[str, list[tuple[str, slice | None]]] | None:
        """The named parts of the sampling inputs ``explore interpolate --what PART`` moves while the others stay
        at the first seed's: part -> [(input key, slice of its last axis, or None for all of it)], ``all`` among
        them. None: the recipe's inputs are not walked this way (the gan recipe's z is walked whole)."""
        return None

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
                      conditions: dict[str, Any] | None = None) -> dict[str, torch.Tensor]:
        """Generator inputs for ``n`` samples from one seed, or one per seed (each reproducible alone)."""
        raise NotImplementedError

    def grid_examples(self, n: int) -> int:
        """How many fixed real examples the sample grid shows or transforms (0 = none)."""
        return 0

    def grid_inputs(self, n: int, seed: int,
                    examples: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The fixed inputs of the training-time sample grid (``examples``: fixed real examples)."""
        return self.sample_inputs(n, seed=seed + 7919)  # a stream apart from the training noise

    def generate(self, inputs: dict[str, torch.Tensor], net: str | None = None) -> Any:
        raise NotImplementedError

    def sample(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
               conditions: dict[str, Any] | None = None, net: str | None = None) -> tuple[Any, dict]:
        """(outputs in the model's space, the inputs that drew them). With an ``input`` condition
        (examples to transform) ``n`` defaults to their count."""
        given = self.check_conditions(conditions)
        if seeds is None and not n and given.get("input") is not None:
            n = len(given["input"])
        if seeds is None and (n is None or n <= 0):
            raise ConfigError(f"sample needs n > 0 or a list of seeds, got n={n}")
        if seeds is not None and len(seeds) == 0:
            raise ConfigError("sample needs at least one seed")
        psi = given.pop("truncation", None)
        inputs = self.truncate(self.sample_inputs(n or 0, seed=seed, seeds=seeds, conditions=given), psi, net)
        return self.generate(inputs, net=net), inputs

    def truncate(self, inputs: dict[str, Any], psi: float | None, net: str | None = None) -> dict[str, Any]:
        """The truncation trick (Karras et al. 2019; Brock et al. 2019): the latents in ``truncation_keys``
        pulled toward their mean, z' = psi * z for a N(0, I) prior; psi = 1 (or None) leaves them alone.
        Returns a new dict; the given one is not changed."""
        if psi is None or float(psi) == 1.0:
            return inputs
        if not self.truncation_keys:
            raise ConfigError(f"truncation needs a generator of Gaussian latents; a {self.name} run has none")
        psi = check_psi(psi)
        return {k: (v * psi if k in self.truncation_keys else v) for k, v in inputs.items()}

    def eval_samples(self, data, n: int, seed: int, truncation: float | None = None
                     ) -> tuple[torch.Tensor, Any, dict[str, Any]]:
        """What evaluation compares, from in-memory real ``data``: (real samples, ``n`` generated
        samples, extras such as the generated samples' class labels). A translation recipe compares
        its translations of real sources with their true targets instead. ``truncation``: psi for
        recipes with ``truncation_keys``."""
        drawn = self.sample_inputs(n, seed=seed)
        return data.x, self.generate(self.truncate(drawn, truncation)), {"fake_labels": drawn.get("y")}

    def eval_checks(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict[str, float]:
        """Figures a recipe computes on its own samples beside the real ones, added to every evaluation's
        metrics (audio: silence, clipping, spectral centroid). None by default."""
        return {}

    def to_output(self, outputs: Any, inputs: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
        """Samples in the user's format: {"x": ..., and whatever else describes them (labels)}."""
        raise NotImplementedError

    def grid_format(self) -> str:
        return next(iter(self.formats), "")

    def check_format(self, path: str) -> str:
        """The extension of ``path`` (the grid's when it has none), refused with one line if unsupported."""
        ext = os.path.splitext(path)[1].lower()
        if not ext and "" not in self.formats:   # no extension: the grid's format, unless the recipe writes folders
            ext = self.grid_format()
        if ext not in self.formats:
            raise ConfigError(f"a {self.name} run writes {' or '.join(self.formats) or 'no files'} files, not "
                              f"{ext or path}; change the output name's extension")
        return ext

    def output_path(self, path: str) -> tuple[str, str]:
        """``path`` with its format's extension (appended when it has none) and that extension, checked."""
        ext = self.check_format(path)
        return (path if path.lower().endswith(ext) else path + ext), ext

    def save_samples(self, outputs: Any, path: str, inputs: dict[str, torch.Tensor] | None = None) -> str:
        """Write samples to ``path`` in the format its extension names (none: the grid's); returns the path."""
        path, ext = self.output_path(path)
        return self.write(self.formats[ext], path, self.to_output(outputs, inputs))

    def save_grid(self, outputs: Any, stem: str, inputs: dict[str, torch.Tensor] | None = None) -> list[str]:
        """The training-time grid: ``stem`` plus the grid format's extension (a recipe may write more files,
        e.g. the spectrograms and the sound of the same clips)."""
        return [self.save_samples(outputs, stem + self.grid_format(), inputs)]

    def write(self, writer: str, path: str, out: dict[str, Any], **options: Any) -> str:
        """Every file a recipe writes goes through here, and carries the provenance record (core/provenance.py)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        rec = self.provenance()
        if rec.pop("watermark", False):                  # asked for around this save: mark every image
            out, rec["watermark"] = watermarked(out, rec)
        WRITERS.get(writer)(path, {**out, "provenance": rec}, **options)
        return path

    # -- provenance -----------------------------------------------------------------------------
    origin: dict[str, Any] = {}     # where the networks came from: checkpoint + sha256, or run + step (set by loaders)
    stamp: dict[str, Any] = {}      # what this write's samples came from: seed(s) (set around a save)

    def provenance(self) -> dict[str, Any]:
        return provenance_record({**self.origin, "recipe": self.name}, **self.stamp)

    @contextlib.contextmanager
    def stamped(self, **fields: Any) -> Iterator[None]:
        """Files written inside the block record ``fields`` (seed, seeds, step ...) in their provenance."""
        before, self.stamp = self.stamp, {**self.stamp, **fields}
        try:
            yield
        finally:
            self.stamp = before

    # -- export ---------------------------------------------------------------------------------
    def generators(self) -> dict[str, str]:
        """Exported component name -> network: every generator a user needs to sample the model."""
        return {"generator": self.sampler_net()}

    def export_spec(self, component: str) -> ExportSpec:
        raise ConfigError(f"the {self.name} recipe does not export to ONNX")


@contextlib.contextmanager
def frozen_stats(net: nn.Module) -> Iterator[nn.Module]:
    """``net`` in eval mode inside the block: batch norm uses its running statistics and leaves them alone. A
    private run's D step draws its generated examples this way, so generated example i depends on its own
    inputs only (not on the other examples of a batch whose size and conditions come from real data)."""
    was = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was)


def register_recipe(cls: type[Recipe]) -> type[Recipe]:
    """Class decorator: the recipe, its config section and its presets become findable by name."""
    RECIPES.register(cls.name, cls)
    if cls.section:
        if cls.config is None:
            raise ConfigError(f"recipe '{cls.name}' names a section '{cls.section}' but no config dataclass")
        SECTIONS.register(cls.section, cls.config)
    for name, preset in cls.presets.items():
        PRESETS.register(name, preset)
    return cls


def recipe_class(cfg: Config, data_info: dict) -> type[Recipe]:
    """model.recipe, or for ``auto`` the recipe registered for the data's kind."""
    name = cfg.model.recipe
    if name == "auto":
        kind = data_info.get("kind")
        found = [cls for _, cls in RECIPES.items() if kind in cls.data_kinds]
        if not found:
            raise ConfigError(f"no recipe trains {kind} data; set model.recipe to one of: {', '.join(RECIPES.names())}")
        return found[0]
    return RECIPES.get(name, "recipe")


def build_recipe(cfg: Config, data_info: dict, device: torch.device) -> Recipe:
    return recipe_class(cfg, data_info)(cfg, data_info, device)


def prepare(cfg: Config, data_info: dict) -> list[Derived]:
    """Before a run starts: the recipe's section joins the config, and the recipe derives its
    defaults from the data (``Recipe.prepare``); the result is validated again."""
    from ..config import validate
    cls = recipe_class(cfg, data_info)
    if cls.section:
        cfg.section(cls.section)
    derived = private_defaults(cfg, data_info) + cls.prepare(cfg, data_info)
    validate(cfg)
    return derived


def private_defaults(cfg: Config, data_info: dict) -> list[Derived]:
    """privacy.epsilon > 0: preset settings that per-example privacy cannot take give way (a setting the user
    made stays, and training refuses it with the reason; engine/privacy.py)."""
    from ..config import derive
    if cfg.privacy.epsilon <= 0:
        return []
    why = "privacy: per-example gradients need D to judge one example at a time, without double backward"
    done = [derive(cfg, "model.pack", 1, why), derive(cfg, "model.mbstd", 0, why),
            derive(cfg, "reg.gp", 0.0, why), derive(cfg, "reg.r1", 0.0, why), derive(cfg, "reg.r2", 0.0, why),
            derive(cfg, "augment.ada", False, "privacy: ADA follows D's scores of real data outside the noise"),
            derive(cfg, "optim.clip_grad", 0.0, "privacy: per-example clipping (privacy.clip) replaces it")]
    if cfg.model.d_norm != "none":
        done.append(derive(cfg, "model.d_norm", "none", "privacy: Opacus has no per-example gradients for "
                                                        "batch or spectral norm"))
    if cfg.model.pack > 1:   # said before a batch-size check can complain about the pack
        raise ConfigError(f"privacy: model.pack={cfg.model.pack} makes D judge several real examples at once, so "
                          "no example's gradient stands alone; set model.pack=1")
    n = int(data_info.get("n") or 0)
    if n and cfg.train.batch > n // 10:   # sampling a small share of the rows a step is what amplifies privacy
        done.append(derive(cfg, "train.batch", max(1, n // 10), f"privacy: a sample rate of at most 0.1 of the "
                                                                 f"{n} examples a step"))
    if cfg.loss.kind == "wgan":
        done.append(derive(cfg, "loss.kind", "ns", "privacy: a WGAN critic needs its gradient penalty (reg.gp), "
                                                   "which per-example gradients cannot take"))
    return [d for d in done if d is not None]


__all__ = ["Batch", "Phase", "OptimSpec", "ExportSpec", "Recipe", "frozen_stats", "register_recipe", "recipe_class",
           "build_recipe", "prepare"]
