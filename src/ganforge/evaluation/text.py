"""The ``text`` evaluator: how good and how varied a text run's samples are, at one or more temperatures.

SeqGAN oracle runs: NLL_oracle (the oracle's mean per-token NLL of the samples: quality, lower is
better; the oracle's own samples score about 5.75) and NLL_test (the per-token NLL of the 10,000 held-out
oracle sequences under G at the same temperature, softmax(logits / T): diversity and fit, lower is
better).

Real text: BLEU-2..5 of the samples against the held-out lines and Self-BLEU-2..5 among the samples
(metrics/text.py: Texygen's protocol, NLTK's smoothing method 1; over words, also for character-level
models), distinct-1..4 (over the same units), NLL_test on the held-out lines, and with
``--metrics ...,lm`` the LM score / reverse LM score pair (Caccia et al. 2020): an LSTM language model
trained by maximum likelihood on the real training text scores the samples (quality), and one trained
on the samples scores the held-out text (diversity); both in nats per token, lower is better.

``--temperatures 0.6,0.8,1.0`` measures each temperature on its own samples: one row each, and a
quality-vs-diversity plot beside the JSON result (temperature sweeps are how Caccia et al. compare GANs
with maximum likelihood fairly).
"""
from __future__ import annotations

import time
from typing import Any

import torch

from ..core.errors import ConfigError
from ..data.text import Vocab, load_part
from ..metrics.text import bleu, distinct, self_bleu
from .base import Evaluator, refuse, register_evaluator
from .curves import curve_png

ORDERS = (2, 3, 4, 5)
TEXT_METRICS = ("nll", "bleu", "self_bleu", "distinct", "lm")


def _tokens(ids: torch.Tensor, vocab: Vocab) -> list[list]:
    """The units BLEU counts, up to <eos> (pads dropped): words, also for a character-level model (the
    decoded text split at white space: character n-grams are shared by almost any English text, so BLEU
    over characters says little), else token ids."""
    if vocab.kind == "char":
        return [vocab.decode(row).split() for row in ids.tolist()]
    out = []
    for row in ids.tolist():
        toks = []
        for t in row:
            if vocab.specials and t == 1:   # <eos>
                break
            if vocab.specials and t == 0:   # <pad>
                continue
            toks.append(t)
        out.append(toks)
    return out


def _names(metrics) -> list[str]:
    if metrics is None:
        return ["nll", "bleu", "self_bleu", "distinct"]
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    bad = [m for m in names if m not in TEXT_METRICS]
    if bad:
        raise ConfigError(f"unknown text metric '{bad[0]}'; choose from {', '.join(TEXT_METRICS)}")
    return names


def lm_nll(train: torch.Tensor, test: torch.Tensor, vocab_size: int, eos: bool, steps: int, seed: int) -> float:
    """Train an LSTM language model (embedding 64, 256 units) by maximum likelihood on ``train`` for
    ``steps`` batches of 64, then its per-token NLL of ``test``."""
    from ..nets.seq import LSTMGenerator
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    lm = LSTMGenerator(vocab_size, 64, 256)
    opt = torch.optim.Adam(lm.parameters(), lr=2e-3)

    def nll(x: torch.Tensor) -> torch.Tensor:
        logits = lm(x)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab_size), x.reshape(-1), reduction="none")
        mask = (x != 0).float().reshape(-1) if eos else torch.ones_like(ce)
        return (ce * mask).sum() / mask.sum().clamp(min=1)

    for _ in range(steps):
        opt.zero_grad()
        nll(train[torch.randint(0, len(train), (64,), generator=g)]).backward()
        opt.step()
    with torch.no_grad():
        return float(sum(nll(test[i:i + 500]) * len(test[i:i + 500]) for i in range(0, len(test), 500)) / len(test))


def measure(recipe, samples: torch.Tensor, names: list[str], test: torch.Tensor, train: torch.Tensor,
            oracle, temperature: float, lm_steps: int, seed: int) -> dict[str, float]:
    from ..recipes.text import per_token_nll
    out: dict[str, float] = {}
    if oracle is not None:
        out["nll_oracle"] = oracle.nll(samples.cpu())
    if "nll" in names:
        out["nll_test"] = per_token_nll(recipe, test, temperature=temperature)
    vocab = recipe.vocab
    hyps = _tokens(samples.cpu(), vocab)
    if "bleu" in names and oracle is None:
        refs = _tokens(test, vocab)
        for n in ORDERS:
            out[f"bleu{n}"] = bleu(hyps[:2000], refs, n)
    if "self_bleu" in names:
        for n in ORDERS:
            out[f"self_bleu{n}"] = self_bleu(hyps[:500], n)
    if "distinct" in names:
        for n in (1, 2, 3, 4):
            out[f"distinct{n}"] = distinct(hyps, n)
    if "lm" in names:
        eos = recipe.has_eos
        out["lm_score"] = lm_nll(train, samples.cpu(), vocab.size, eos, lm_steps, seed)
        out["reverse_lm_score"] = lm_nll(samples.cpu(), test, vocab.size, eos, lm_steps, seed)
    return out


def evaluate_run(g, *, metrics=None, n: int | None = None, seed: int = 0, temperatures: str | None = None,
                 baseline: str | None = None, lm_steps: int = 1000, **other: Any) -> dict[str, Any]:
    """Sample the run at each temperature and measure the samples; one row per temperature. ``baseline``:
    another run on the same data (the maximum-likelihood one), measured the same way beside it."""
    from ..data import load_dataset
    refuse("text", {k: v for k, v in other.items() if not (k == "extractor" and v == "auto")},
           ("metrics", "n", "seed", "temperatures", "baseline"), "a text run")
    t0 = time.perf_counter()
    recipe, cfg = g.recipe, g.config
    names = _names(metrics)
    temps = [float(t) for t in temperatures.split(",")] if temperatures else [recipe.settings().temperature]
    if any(t <= 0 for t in temps):
        raise ConfigError(f"--temperatures must be positive numbers, got {temperatures}")
    test = load_part(cfg, cfg.train.seed, "test").x
    train = load_dataset(cfg, seed=cfg.train.seed).x
    oracle = None
    if cfg.data.source == "seqgan-oracle":
        from ..data.oracle import load_oracle
        oracle = load_oracle(cfg.data.path)
    n = n or min(len(test), 10_000 if oracle is not None else 2000)
    rows = []
    for temp in temps:
        samples = recipe.generate(recipe.sample_inputs(n, seed=seed, conditions={"temperature": temp}))
        rows.append({"temperature": temp, **measure(recipe, samples, names, test, train, oracle, temp,
                                                     lm_steps, seed)})
    protocol = {"n_samples": n, "n_test": len(test), "seed": seed, "temperatures": temps, "metrics": names,
                "bleu": "mean sentence BLEU against all held-out lines, NLTK smoothing method 1 (Texygen)",
                "self_bleu": "each of the first 500 samples against the other 499",
                "reference": "the held-out oracle sequences" if oracle is not None else
                             f"held-out lines of {cfg.data.path} (text.holdout={recipe.settings().holdout})",
                "checkpoint": g.checkpoint, "step": g.step, "elapsed_s": round(time.perf_counter() - t0, 2)}
    if "lm" in names:
        protocol["lm"] = f"LSTM LM (64 / 256), {lm_steps} Adam steps of 64 at 2e-3, seed {seed}"
    if baseline:
        from .. import api
        b = api.load(baseline)
        if b.recipe.name != "text" or b.data_info.get("vocab") != g.data_info.get("vocab"):
            raise ConfigError(f"--baseline {baseline} is not a text run on the same data and vocabulary")
        protocol["baseline"] = {"run": b.checkpoint, "step": b.step,
                                "adversarial": bool(b.recipe.settings().adversarial)}
        rows_b = []
        for temp in temps:
            samples = b.recipe.generate(b.recipe.sample_inputs(n, seed=seed, conditions={"temperature": temp}))
            rows_b.append({"temperature": temp, **measure(b.recipe, samples, names, test, train, oracle, temp,
                                                          lm_steps, seed)})
        protocol["baseline_rows"] = rows_b
    return {"metrics": {k: v for k, v in rows[0].items() if k != "temperature"} if len(rows) == 1 else {},
            "rows": rows, "protocol": protocol}


def evaluate_files(real: str, fake: str, **options: Any) -> dict[str, Any]:
    raise ConfigError("text files are measured through a run (`ganforge eval RUN`), which knows its vocabulary")


def format_result(res: dict[str, Any]) -> str:
    rows = res["rows"]
    keys = [k for k in rows[0] if k != "temperature"]
    lines = ["temperature " + " ".join(f"{k:>14}" for k in keys)]
    for r in rows:
        lines.append(f"{r['temperature']:>11g} " + " ".join(f"{r[k]:>14.4f}" for k in keys))
    p = res["protocol"]
    lines.append(f"protocol: {p['n_samples']} samples per temperature, seed {p['seed']}, reference: {p['reference']}")
    return "\n".join(lines)


def plot(res: dict[str, Any], json_path: str) -> list[str]:
    """Quality against diversity, one point per temperature, beside the JSON result (two or more rows)."""
    rows = res["rows"]
    if len(rows) < 2:
        return []
    first = rows[0]
    if "nll_oracle" in first and "nll_test" in first:
        x, y, xl, yl = "nll_test", "nll_oracle", "NLL_test (diversity, lower is better)", "NLL_oracle (quality)"
    elif "self_bleu4" in first and "bleu4" in first:
        x, y, xl, yl = "self_bleu4", "bleu4", "Self-BLEU-4 (lower is more diverse)", "BLEU-4 (quality)"
    else:
        return []
    curves = [("this run", rows)]
    if res["protocol"].get("baseline_rows"):
        curves.append(("baseline", res["protocol"]["baseline_rows"]))
    return [curve_png(curves, x, y, ("temperature", "T"), (xl, yl), json_path)]


register_evaluator("text", Evaluator(run=evaluate_run, files=evaluate_files, format=format_result,
                                     kinds=("text",), stem="text-", extra=plot))
