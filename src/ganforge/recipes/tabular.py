"""The tabular GAN recipe: a conditional GAN over encoded table rows (Xu et al. 2019, CTGAN).

Each training row comes with a condition: one category of one discrete column, drawn by
training-by-sampling (see data/tabular.py; it arrives as ``batch.y``). G gets noise plus the
condition as a one-hot, and emits tanh scalars and Gumbel-softmax one-hots (temperature
tabular.tau). D judges ``model.pack`` rows at once, each joined to its condition (PacGAN); with
loss.kind=wgan and reg.gp it is the WGAN-GP critic (Gulrajani et al. 2017). G's loss adds the
cross-entropy between its logits for the conditioned column and the asked category, so the
condition is obeyed. The fitted table encoding lives in the data info (JSON), so sampling
needs no training data.

Beyond the paper: with a declared discrete target, tabular.target_share of the conditions fall on
it (sampling draws conditions the same way), which sharpens the features-to-target relation that
downstream models learn; G_ema (train.ema_beta) draws the samples; epoch-counted runs on small
tables use a smaller batch and pack (``small_table_batch``).

The recipe owns the ``[tabular]`` config section (which the ``tabular`` data source reads too) and
the ``tabular`` preset. ``prepare`` turns tabular.epochs into train.steps (and the small-table batch)
once, before the run starts, for the keys the user did not set.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import Derived, derive
from ..core.errors import CheckpointError, ConfigError, DataError
from ..losses import d_loss, g_loss, is_relativistic
from ..losses.regularizers import gradient_penalty
from ..nets.tabular import TabularDiscriminator, TabularGenerator
from .base import Batch, ExportSpec, OptimSpec, Phase, Recipe, frozen_stats, register_recipe


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
    reuse_fakes: bool = True    # D's step judges the rows G made in the same iteration (False: G runs again)



    def validate(self) -> None:
        for key in ("epoch_steps", "max_modes", "pool"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"tabular.{key} must be positive, got {getattr(self, key)}")
        if self.tau <= 0:
            raise ConfigError(f"tabular.tau must be positive, got {self.tau}")
        for key in ("target_share", "dropout"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"tabular.{key} must be in [0, 1], got {getattr(self, key)}")


PRESETS = {
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
_MAX_ROUNDS = 50   # rejection rounds for conditions beyond the first


def segment_softmax(x: torch.Tensor, seg: torch.Tensor, n_seg: int, log: bool = False) -> torch.Tensor:
    """Softmax of x (B, M) within each group of columns sharing a segment id ``seg`` (M,)."""
    idx = seg.expand(x.shape[0], -1)
    top = torch.full((x.shape[0], n_seg), -torch.inf, device=x.device, dtype=x.dtype)
    top = top.scatter_reduce(1, idx, x.detach(), "amax")
    shifted = x - top.gather(1, idx)                    # the shift cancels; it only avoids overflow
    total = torch.zeros_like(top).scatter_add(1, idx, shifted.exp()).gather(1, idx)
    return shifted - total.log() if log else shifted.exp() / total


def gumbel(n: int, d: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """(n, d) Gumbel(0, 1) noise, -log(-log U), from ``gen`` (faster than exponential draws)."""
    u = torch.rand(n, d, generator=gen, device=device).clamp_(min=1e-12)
    return -(-u.log()).log()


_MIN_PACKS = 8   # packed groups per batch that the small-table batch keeps


def small_table_batch(rows: int, batch: int, pack: int, epoch_steps: int,
                      fixed_pack: bool = False) -> tuple[int, int]:
    """(batch, pack) for an epoch-counted run. A table too small for ``epoch_steps`` batches per
    pass gets a smaller batch, so short runs on small tables still make enough updates, and a
    smaller pack, so D still judges at least _MIN_PACKS packed groups per batch (with fewer its
    score and penalty are too noisy). Larger tables keep both. ``fixed_pack``: the pack stays."""
    if epoch_steps <= 0 or rows // batch >= epoch_steps:
        return batch, pack
    b = min(batch, max(1, rows // epoch_steps))
    if not fixed_pack:
        pack = max(1, min(pack, b // _MIN_PACKS))
    return max(pack, b // pack * pack), pack


@register_recipe
class TabularRecipe(Recipe):
    name = "tabular"
    section, config = "tabular", TabularConfig
    data_kinds = ("table",)
    presets = PRESETS
    evaluator = "tables"
    condition_help = {"condition": "COLUMN=VALUE of a discrete column, repeatable"}
    formats = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
    cli_options = {"discrete": ("tabular.discrete", str, "tables: comma-separated columns to model as categories"),
                   "target": ("tabular.target", str, "tables: the column a model will predict in `ganforge eval`"),
                   "epochs": ("tabular.epochs", int, "tables: passes over the rows (--steps overrides it)")}

    @classmethod
    def prepare(cls, cfg, data_info: dict) -> list[Derived]:
        """tabular.epochs -> train.steps (and, for a small table, a smaller batch and pack)."""
        tab, t, m = cfg.section("tabular"), cfg.train, cfg.model
        if tab.epochs <= 0 or "train.steps" in cfg.explicit:   # a step count the user gave wins over epochs
            return []
        rows = int(data_info.get("n", 0))
        done = []
        if "train.batch" not in cfg.explicit:
            batch, pack = small_table_batch(rows, t.batch, m.pack, tab.epoch_steps,
                                            fixed_pack="model.pack" in cfg.explicit)
            why = (f"{rows} rows make fewer than tabular.epoch_steps={tab.epoch_steps} batches of {t.batch} "
                   f"a pass; D keeps at least {_MIN_PACKS} packed groups a batch")
            done += [derive(cfg, "train.batch", batch, why), derive(cfg, "model.pack", pack, why)]
        steps = tab.epochs * max(rows // t.batch, 1)
        done.append(derive(cfg, "train.steps", steps, f"tabular.epochs={tab.epochs} passes over {rows} rows "
                                                      f"at train.batch={t.batch}"))
        return [d for d in done if d is not None]

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        if "tabular" not in data_info:
            raise ConfigError("model.recipe=tabular needs a table: set data.source=tabular and data.path to a "
                              ".csv or .parquet file (or use the 'tabular' preset)")
        from ..data.tabular_transform import TableTransformer  # pandas only when a table is used
        m, tab = cfg.model, self.settings()
        self.tt = TableTransformer.from_json(data_info["tabular"])
        self.pack, self.tau, self.z_dim = int(m.pack), float(tab.tau), int(m.z_dim)
        if cfg.train.batch % self.pack:
            raise ConfigError(f"train.batch={cfg.train.batch} must be a multiple of model.pack={self.pack}")
        self._layout()
        widths_g, widths_d = [m.g_width] * m.mlp_layers, [m.d_width] * m.mlp_layers
        G = TabularGenerator(self.z_dim + self.cond_dim, widths_g, self.out_dim).to(device)
        D = TabularDiscriminator(self.out_dim + self.cond_dim, widths_d, self.pack, tab.dropout).to(device)
        self.nets = {"G": G, "D": D}
        self._reuse: dict[int, torch.Tensor] = {}
        self.ema = {}
        if cfg.train.ema_beta > 0:
            G_ema = TabularGenerator(self.z_dim + self.cond_dim, widths_g, self.out_dim).to(device)
            G_ema.load_state_dict(G.state_dict())
            self.nets["G_ema"] = G_ema.eval().requires_grad_(False)
            self.ema = {"G_ema": "G"}

    def _layout(self) -> None:
        """Index tensors for the activations, the condition vector and the conditioned logits."""
        from ..data.tabular_transform import condition_weights
        tt = self.tt
        self.out_dim = tt.dim
        seg, tanh = [], []
        for i, (_, width, act) in enumerate(tt.spans()):
            seg += [i] * width
            tanh += [act == "tanh"] * width
        self.n_seg = len(tt.spans())
        self.seg = torch.tensor(seg, device=self.device)
        self.tanh_mask = torch.tensor(tanh, device=self.device)
        offsets = tt.offsets()
        self.disc = tt.discrete_columns()
        cond_out, freq = [], []
        for i in self.disc:   # condition index -> output position of that category
            c = tt.columns[i]
            cond_out += [offsets[i] + k for k in range(len(c.categories))]
            freq.append(np.asarray(c.counts, dtype=np.float64) / sum(c.counts))
        self.cond_dim = len(cond_out)
        self.cond_out = torch.tensor(cond_out, dtype=torch.long, device=self.device)
        self.cond_base = np.concatenate([[0], np.cumsum([len(f) for f in freq])]).astype(np.int64)
        self.cond_freq = freq
        w = condition_weights(tt, self.data_info.get("target", ""), float(self.settings().target_share))
        self.col_weights = torch.as_tensor(w, dtype=torch.float64)

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o = self.cfg.optim
        return {"G": OptimSpec(("G",), o.g_lr, tuple(o.g_betas)),
                "D": OptimSpec(("D",), o.d_lr, tuple(o.d_betas))}

    def phases(self) -> list[Phase]:
        # G first: the critic step of the same iteration then reuses G's rows (one G update old)
        # instead of running G again, a fifth of the work of an iteration (tabular.reuse_fakes).
        return [Phase("G", "G", ("G",), self.g_step, interval=self.cfg.optim.n_critic),
                Phase("D", "D", ("D",), self.d_step, reads_real=True)]

    def _onehot(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        if not self.cond_dim:
            return torch.zeros(n, 0, device=self.device)
        return torch.nn.functional.one_hot(y, self.cond_dim).float()   # (B, C)

    def _gumbel(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return gumbel(n, self.out_dim, gen, self.device)

    def _activate(self, raw: torch.Tensor) -> torch.Tensor:
        """Training outputs: tanh scalars, Gumbel-softmax one-hots (Jang et al. 2017)."""
        soft = segment_softmax((raw + self._gumbel(raw.shape[0], self.gen)) / self.tau, self.seg, self.n_seg)
        return torch.where(self.tanh_mask, raw.tanh(), soft)

    def _fake(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(cond.shape[0], self.z_dim, generator=self.gen, device=self.device)
        raw = self.nets["G"](torch.cat([z, cond], dim=1))
        return raw, self._activate(raw)

    def _score(self, rows: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.nets["D"](self._packed(rows, cond))

    def _packed(self, rows: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = torch.cat([rows, cond], dim=1)                          # (B, out_dim + C)
        return x.reshape(x.shape[0] // self.pack, -1)               # (B / pack, pack * (out_dim + C))

    def _conditions(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """(n,) condition indices: a discrete column by tabular.target_share, a category at the (in a private
        run: noisy) training frequency."""
        col = torch.multinomial(self.col_weights, n, replacement=True, generator=gen)
        y = torch.empty(n, dtype=torch.long)
        for j, f in enumerate(self.cond_freq):
            rows = (col == j).nonzero().squeeze(1)
            draw = (torch.multinomial(torch.as_tensor(f), len(rows), replacement=True, generator=gen)
                    if len(rows) else rows)
            y[rows] = draw + int(self.cond_base[j])
        return y

    def _own_conditions(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) a condition each real row holds: a discrete column drawn by tabular.target_share (not by the data),
        and the row's own category in it (read off its one-hot block). A private run's D conditions on these, so
        an example's pair depends on that example alone."""
        n = x.shape[0]
        cpu = self.gen_cpu()
        col = torch.multinomial(self.col_weights, n, replacement=True, generator=cpu).to(x.device) if n else \
            torch.zeros(0, dtype=torch.long, device=x.device)
        offsets = self.tt.offsets()
        y = torch.zeros(n, dtype=torch.long, device=x.device)
        for j, i in enumerate(self.disc):
            width = len(self.tt.columns[i].categories)
            cat = x[:, offsets[i]:offsets[i] + width].argmax(dim=1)
            y = torch.where(col == j, cat + int(self.cond_base[j]), y)
        return y

    def _private_d_step(self, batch: Batch):
        """D's DP-SGD step: real row i and a row G made under row i's condition form example i's pair, scored in
        two calls of equal size (engine/privacy.py)."""
        y = self._own_conditions(batch.x) if self.cond_dim else None
        cond = self._onehot(y, batch.x.shape[0])
        with torch.no_grad(), frozen_stats(self.nets["G"]):   # row i's fake depends on row i alone
            _, fake = self._fake(cond)
        D = self.nets["D"]
        r, f = D(self._packed(batch.x, cond)), D(self._packed(fake, cond))
        if r.shape[0] == 0:   # an empty Poisson sample still takes its (noise-only) step
            return (r.sum() + f.sum()) * 0.0, {}
        loss = d_loss(self.cfg.loss.kind, r, f)
        return loss, {"loss_D": loss.detach(), "D_real": r.detach().mean(), "D_fake": f.detach().mean()}

    def d_step(self, batch: Batch, step: int):
        if self.private:
            return self._private_d_step(batch)
        cond = self._onehot(batch.y, batch.x.shape[0])
        fake = self._reuse.pop(step, None)
        if fake is None:
            with torch.no_grad():
                _, fake = self._fake(cond)
        self._reuse.clear()
        real_in, fake_in = self._packed(batch.x, cond), self._packed(fake, cond)
        D = self.nets["D"]
        r, f = D(torch.cat([real_in, fake_in])).split(real_in.shape[0])   # one pass for both
        loss = d_loss(self.cfg.loss.kind, r, f)
        stats = {"loss_D": loss.detach(), "D_real": r.detach().mean(), "D_fake": f.detach().mean()}
        if self.cfg.reg.gp > 0:
            gp = gradient_penalty(D, real_in, fake_in, generator=self.gen)
            loss = loss + self.cfg.reg.gp * gp
            stats["gp"] = gp.detach()
        return loss, stats

    def g_step(self, batch: Batch, step: int):
        y = batch.y
        if self.private:   # G's conditions and batch size owe nothing to the real batch
            y = self._conditions(self.cfg.train.batch, self.gen_cpu()).to(self.device) if self.cond_dim else None
        n = self.cfg.train.batch if self.private else batch.x.shape[0]
        cond = self._onehot(y, n)
        raw, fake = self._fake(cond)
        if self.settings().reuse_fakes and not self.private:
            self._reuse = {step: fake.detach()}   # the rows D judges next, in this same iteration
        real_scores = None
        if is_relativistic(self.cfg.loss.kind):   # relativistic losses compare with real rows under the same condition
            with torch.no_grad():
                real_scores = self._score(batch.x, cond)
        loss = g_loss(self.cfg.loss.kind, self._score(fake, cond), real_scores)
        stats = {"loss_G": loss.detach()}
        if self.cond_dim:   # cross-entropy of the conditioned column's logits against the asked category
            logp = segment_softmax(raw, self.seg, self.n_seg, log=True)
            ce = -logp.gather(1, self.cond_out[y].unsqueeze(1)).mean()
            loss = loss + ce
            stats["ce"] = ce.detach()
        return loss, stats

    def gen_cpu(self) -> torch.Generator:
        """A CPU generator seeded from the training noise (multinomial draws on CPU, from the run's one stream)."""
        seed = int(torch.randint(0, 2 ** 62, (1,), generator=self.gen, device=self.device))
        return torch.Generator().manual_seed(seed)

    def privacy_count_share(self) -> float:
        return float(self.cfg.privacy.count_share) if self.disc else 0.0   # data/tabular.py: private_counts

    def privacy_gaps(self) -> list[str]:
        return ["the table encoding (column types, category lists, the per-column mixtures and the value ranges "
                "used for clipping) is fitted on the real rows without noise and is stored in the model: it is not "
                "covered", *super().privacy_gaps()]

    def privacy_covers(self) -> list[str]:
        return [*super().privacy_covers(), "the category counts that set the conditions' and samples' frequencies "
                "(Laplace noise, privacy.count_share of epsilon)"]

    def state_dict(self) -> dict:
        return {"encoding": _digest(self.data_info["tabular"])}

    def load_state_dict(self, state: dict) -> None:
        if "encoding" in state and state["encoding"] != _digest(self.data_info["tabular"]):
            raise CheckpointError("the table read now encodes differently from the one this run was trained on "
                                  "(was the data file changed?); resume with the original file")

    # -- sampling -------------------------------------------------------------------------------
    def condition_index(self, column: str, value) -> int:
        """The condition index of ``column == value``; one-line DataError when it cannot be asked."""
        names = self.tt.names
        if column not in names:
            raise DataError(f"condition column '{column}' is not in the table; columns: {', '.join(names)}")
        i = names.index(column)
        c = self.tt.columns[i]
        if not c.discrete:
            raise DataError(f"conditions work on discrete columns; '{column}' is {c.type}")
        cats = c.categories
        missing = value is None or (isinstance(value, float) and np.isnan(value))
        hits = [k for k, v in enumerate(cats) if (v is None if missing else v is not None and v == value)]
        hits = hits or [k for k, v in enumerate(cats) if not missing and str(v) == str(value)]
        if not hits:
            shown = ", ".join(repr(v) for v in cats[:12]) + (", ..." if len(cats) > 12 else "")
            raise DataError(f"condition {column}={value!r} was never seen in training; known values: {shown}")
        return int(self.cond_base[self.disc.index(i)] + hits[0])

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
                      conditions: dict | None = None, condition: int | None = None) -> dict[str, torch.Tensor]:
        """Noise, condition and Gumbel noise for ``n`` rows from one seed (or one row per seed).
        ``condition``: a condition index (see condition_index) that every row is drawn under."""
        asked = (conditions or {}).get("condition")
        if asked:
            condition = self.condition_index(*next(iter(dict(asked).items())))
        if seeds is not None:
            parts = [self.sample_inputs(1, s, condition=condition) for s in seeds]
            return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        gen = torch.Generator().manual_seed(int(seed))
        z = torch.randn(n, self.z_dim, generator=gen)
        noise = gumbel(n, self.out_dim, gen, torch.device("cpu"))
        if not self.cond_dim:
            y = torch.zeros(n, dtype=torch.long)
        elif condition is not None:
            y = torch.full((n,), int(condition), dtype=torch.long)
        else:   # a random discrete column, then a category at its training frequency
            y = self._conditions(n, gen)
        force = y if condition is not None else torch.full((n,), -1, dtype=torch.long)
        return {k: v.to(self.device) for k, v in {"z": z, "y": y, "noise": noise, "force": force}.items()}

    @torch.no_grad()
    def generate(self, inputs: dict[str, torch.Tensor], net: str | None = None, batch: int = 4096) -> torch.Tensor:
        """Encoded rows whose argmax per one-hot block is a categorical draw (Gumbel-max)."""
        G = self.nets[net or self.sampler_net()]
        was_training = G.training
        G.eval()
        z, y, noise = inputs["z"], inputs["y"], inputs["noise"]
        parts = []
        for i in range(0, z.shape[0], batch):
            cond = self._onehot(y[i:i + batch], z[i:i + batch].shape[0])
            parts.append(G(torch.cat([z[i:i + batch], cond], dim=1)))
        G.train(was_training)
        raw = torch.cat(parts) if parts else torch.zeros(0, self.out_dim, device=self.device)
        x = torch.where(self.tanh_mask, raw.tanh(), raw + noise)
        forced = (inputs["force"] >= 0).nonzero().squeeze(1)
        if len(forced) and self.cond_dim:   # the asked category, whatever G's draw
            x[forced, self.cond_out[inputs["force"][forced]]] = torch.inf
        return x

    def decode(self, x: torch.Tensor, clip: bool | None = None) -> pd.DataFrame:  # noqa: F821
        """Decoded rows; numbers clipped to the training range unless ``clip`` (or tabular.clip) is off."""
        clip = self.settings().clip if clip is None else clip
        return self.tt.inverse(x.float().cpu().numpy(), clip=bool(clip))

    def rows(self, n: int, seed: int = 0, conditions: dict[str, Any] | None = None, clip: bool | None = None,
             net: str | None = None) -> pd.DataFrame:  # noqa: F821
        """``n`` decoded rows. ``conditions={"col": value}`` fixes discrete columns: the first one
        conditions G, further ones are met by drawing more rows and keeping those that match."""
        import pandas as pd
        conds = list((conditions or {}).items())
        first = self.condition_index(*conds[0]) if conds else None
        for col, value in conds[1:]:
            self.condition_index(col, value)   # same checks for every condition
        if len(conds) <= 1:
            return self.decode(self.generate(self.sample_inputs(n, seed=seed, condition=first), net=net), clip)
        kept, have = [], 0
        for r in range(_MAX_ROUNDS):
            batch = self.sample_inputs(max(int(n), 1000), seed=seed * _MAX_ROUNDS + r, condition=first)
            got = self.decode(self.generate(batch, net=net), clip)
            for col, value in conds[1:]:
                got = got[got[col].astype(str) == str(value)]
            kept.append(got)
            have += len(got)
            if have >= n:
                return pd.concat(kept, ignore_index=True).iloc[:int(n)]
        raise DataError(f"only {have} of {n} rows met the conditions {dict(conds)} after {_MAX_ROUNDS} rounds; "
                        "the combination is too rare in the model: ask for fewer rows or fewer conditions")

    def sample(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
               conditions: dict[str, Any] | None = None, net: str | None = None) -> tuple[Any, dict]:
        """Decoded rows (a DataFrame) for ``n`` rows from one seed, or one row per seed."""
        asked = dict(self.check_conditions(conditions).get("condition") or {})
        if seeds is not None:
            if len(asked) > 1:
                raise ConfigError("one row per seed takes at most one condition; give --n instead of --seeds")
            inputs = self.sample_inputs(seeds=seeds, conditions={"condition": asked} if asked else None)
            return self.decode(self.generate(inputs, net=net)), inputs
        if not n or n <= 0:
            raise ConfigError(f"sample needs n > 0 or a list of seeds, got n={n}")
        return self.rows(int(n), seed, asked, net=net), {}

    def to_output(self, outputs, inputs: dict[str, torch.Tensor] | None = None) -> dict:
        """{"x": a DataFrame of decoded rows} (encoded rows are decoded here)."""
        return {"x": outputs if not isinstance(outputs, torch.Tensor) else self.decode(outputs)}

    @torch.no_grad()
    def d_scores(self, df, seed: int = 0, batch: int = 4096) -> np.ndarray:
        """D's logit for every row of ``df``, a membership score (Hayes et al. 2019): the row encoded as in
        training, D's pack filled with copies of it, averaged over the conditions the row holds (its own category
        in each discrete column, weighted as training draws the columns)."""
        x = torch.as_tensor(self.tt.transform(df, seed=seed), device=self.device)
        D, offsets = self.nets["D"], self.tt.offsets()
        was_training = D.training
        D.eval()
        out = np.zeros(len(x))
        for i in range(0, len(x), batch):
            part = x[i:i + batch]
            conds = [(1.0, torch.zeros(len(part), 0, device=self.device))] if not self.cond_dim else [
                (float(w), self._onehot(part[:, offsets[c]:offsets[c] + len(self.tt.columns[c].categories)].argmax(1)
                                        + int(self.cond_base[j]), len(part)))
                for j, (c, w) in enumerate(zip(self.disc, self.col_weights.tolist())) if w > 0]
            total = sum(w for w, _ in conds)
            for w, cond in conds:
                rows = self._packed(part.repeat_interleave(self.pack, 0), cond.repeat_interleave(self.pack, 0))
                out[i:i + len(part)] += w / total * D(rows).double().cpu().numpy()
        D.train(was_training)
        return out

    # -- export ---------------------------------------------------------------------------------
    def export_spec(self, component: str) -> ExportSpec:
        """G's raw outputs from noise z (N, z_dim) and the one-hot condition cond (N, C); decoding the
        rows (tanh scalars, argmax per categorical block, the fitted transform) stays with ganforge."""
        import copy
        G = copy.deepcopy(self.nets[self.generators()[component]]).cpu().eval()
        inputs = self.sample_inputs(2, seed=0)
        example = (inputs["z"].cpu(), self._onehot(inputs["y"], 2).cpu())
        return ExportSpec(_Joined(G), ["z", "cond"], example, ["raw"],
                          "encoded table rows before decoding (N, D); decode with ganforge")


class _Joined(nn.Module):
    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.G(torch.cat([z, cond], dim=1))


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
