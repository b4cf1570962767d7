"""MODEL_CARD.md: what a trained model is, what it was trained on, how it measured, what it must not be used for,
and how to recognise its outputs. Written beside exported weights (``ganforge export``) and beside the report
(``ganforge report``), from the run's own records only: the checkpoint's config and data facts, the newest
RUN/eval/*.json with its protocol and floors, the memorisation check when one was run.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

from ..core.provenance import sha256_of
from ..version import __version__
from .collect import RunFacts

CARD = "MODEL_CARD.md"
WHAT = {"image": "images", "audio": "sound clips", "text": "text", "tabular": "table rows",
        "music": "music (piano-rolls)", "video": "video clips", "toy2d": "2-D points", "vector": "vectors"}
OUT_OF_SCOPE = (
    "- Passing generated {what} off as real recordings, photographs or records, or as showing real people, places "
    "or events.\n"
    "- Identifying, judging or making decisions about real people (faces, voices, medical, credit, legal or "
    "employment uses).\n"
    "- Treating generated data as private: a GAN can reproduce training examples; the memorisation check below is "
    "a measurement, not a guarantee (differential privacy is).\n"
    "- Use far from the training data: the model has only seen the data described above.")
MEMO_KEYS = ("mem_ratio", "mem_median_fake", "mem_median_heldout", "mem_frac_below_p1", "mem_frac_below_p5",
             "memorisation_max", "memorisation_mean", "memorisation_over_half", "mia_auc", "mia_auc_low",
             "mia_auc_high")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _data_lines(data: dict[str, Any]) -> list[str]:
    """The data facts a reader needs (long per-feature arrays left out)."""
    keep = []
    for k, v in data.items():
        if k == "privacy":   # its own section
            continue
        if isinstance(v, (list, dict)) and len(v) > 12:
            keep.append(f"- {k}: ({len(v)} entries)")
        else:
            keep.append(f"- {k}: {_fmt(v)}")
    return keep


def _latest(evals: list[tuple[str, Any]], want) -> tuple[str, dict] | None:
    for name, doc in reversed(evals):
        if isinstance(doc, dict) and isinstance(doc.get("metrics"), dict) and want(doc["metrics"]):
            return name, doc
    return None


def _eval_section(evals: list[tuple[str, Any]]) -> list[str]:
    hit = _latest(evals, lambda m: any(not k.startswith("mem") for k in m))
    if hit is None:
        return ["No evaluation recorded. `ganforge eval RUN` measures the model against its data (every distance "
                "with its real-vs-real floor) and the next card will show it."]
    name, doc = hit
    m, p = doc["metrics"], doc.get("protocol", {})
    rows = ["| metric | model | real-vs-real floor |", "|---|---|---|"]
    for k, v in m.items():
        if k.endswith(("_floor", "_std")) or k in MEMO_KEYS or not isinstance(v, (int, float)):
            continue
        floor = m.get(f"{k}_floor")
        rows.append(f"| {k} | {_fmt(v)} | {'' if floor is None else _fmt(floor)} |")
    proto = ", ".join(f"{k} {_fmt(p[k])}" for k in ("extractor", "n_real", "n_fake", "n_eval", "seed", "reference")
                      if k in p)
    return [f"From `eval/{name}`" + (f" ({proto})" if proto else "") + ":", "", *rows, "",
            "The floor is the same metric between two disjoint halves of the real data at the same sample size: "
            "what a perfect generator would score."]


def _table_mia(evals: list[tuple[str, Any]]) -> list[str]:
    """A tabular evaluation's membership-inference attack (its JSON keeps results by measure, not in metrics)."""
    for name, doc in reversed(evals):
        m = doc.get("mia") if isinstance(doc, dict) else None
        if isinstance(m, dict) and "auc" in m:
            return [f"From `eval/{name}`: membership-inference AUC {_fmt(m['auc'])} (95% {_fmt(m['auc_low'])}-"
                    f"{_fmt(m['auc_high'])}; {m.get('n_each')} training vs {m.get('n_each')} held-out rows), by the "
                    "distance of each real row to its nearest generated row; 0.5 means the samples do not tell "
                    "training rows from new ones."]
    return []


def _memo_section(evals: list[tuple[str, Any]]) -> list[str]:
    hit = _latest(evals, lambda m: any(k in m for k in MEMO_KEYS))
    table_mia = _table_mia(evals)
    if hit is None and table_mia:
        return table_mia
    if hit is None:
        return ["Not measured. `ganforge eval RUN --metrics memorisation --heldout HELD` compares the distance of "
                "generated samples to their nearest training example with that of held-out real examples."]
    name, doc = hit
    m = doc["metrics"]
    return [f"From `eval/{name}`: " + ", ".join(f"{k} {_fmt(m[k])}" for k in MEMO_KEYS if k in m) + ".",
            "", "mem_ratio is the median nearest-training-example distance of generated samples over that of "
            "held-out real ones: well below 1 means samples sit closer to training examples than new real data does."]


def _privacy_section(data: dict[str, Any]) -> list[str]:
    from ..core.privacy import summary
    rec = data.get("privacy") or {}
    out = [summary(rec) + "."]
    if rec.get("private"):
        g = lambda k: _fmt(rec.get(k))
        out += ["", f"- accountant: {rec.get('accountant_name', rec.get('accountant'))}; epsilon spent "
                    f"{g('epsilon_spent')} of {g('epsilon')} (DP-SGD {g('epsilon_sgd')}, noisy counts "
                    f"{g('epsilon_counts')}), delta {g('delta')}",
                f"- noise multiplier {g('noise_multiplier')}, per-example clip norm {g('clip')}, Poisson sample rate "
                f"{g('sample_rate')}, {rec.get('steps_spent')} private steps",
                *[f"- covered: {c}" for c in rec.get("covers", [])],
                *[f"- not covered: {c}" for c in rec.get("not_covered", [])]]
    return out


def _limits(evals: list[tuple[str, Any]], data: dict[str, Any]) -> list[str]:
    out = []
    hit = _latest(evals, lambda m: "fd" in m or "precision" in m)
    if hit:
        m = hit[1]["metrics"]
        if m.get("fd") is not None and m.get("fd_floor"):
            out.append(f"- FD {_fmt(m['fd'])} is {m['fd'] / m['fd_floor']:.1f}x its real-vs-real floor "
                       f"{_fmt(m['fd_floor'])}.")
        for k, what in (("precision", "samples fall outside the real data's support"),
                        ("recall", "parts of the real data the samples do not reach (dropped modes)")):
            if m.get(k) is not None and m.get(f"{k}_floor") is not None and m[k] < m[f"{k}_floor"] - 0.05:
                out.append(f"- {k} {_fmt(m[k])} against {_fmt(m[f'{k}_floor'])} for real data: "
                           f"{what}.")
    n = data.get("n")
    out.append(f"- Trained on {n if n is not None else 'an unrecorded number of'} examples; samples inherit that "
               "data's gaps and biases, and a GAN may drop rare kinds of example altogether.")
    return out


def model_card(f: RunFacts, weights: str | None = None) -> str:
    """The card's Markdown for the run ``f`` (``weights``: where the exported files are, named on the card)."""
    cfg, data = f.config, f.data
    model = cfg.get("model", {})
    kind = str(data.get("kind", "?"))
    what = WHAT.get(kind, kind)
    name = os.path.basename(os.path.abspath(f.run_dir))
    sha = sha256_of(f.checkpoint) if f.checkpoint and os.path.isfile(f.checkpoint) else None
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    recipe = f.meta.get("recipe") or model.get("recipe", "?")
    classes = data.get("class_names")
    lines = [
        f"# Model card: {name}", "",
        f"A generative adversarial network (ganforge {__version__}, `{recipe}` recipe) that generates {what}.",
        f"Card written {when} from checkpoint `{os.path.basename(f.checkpoint or '-')}`"
        + (f" (sha256 `{sha}`)" if sha else "") + f", step {f.step} of {f.planned} planned"
        + (f"; exported weights: `{weights}`" if weights else "") + ".", "",
        "## Model", "",
        f"- preset: {cfg.get('preset', '-')}; architecture: {model.get('arch', '-')}; latent size: "
        f"{model.get('z_dim', '-')}; loss: {cfg.get('loss', {}).get('kind', '-')}",
        "- conditional: " + (f"yes, on {len(classes)} classes ({', '.join(map(str, classes[:20]))})"
                             if model.get("conditional") and classes else "yes" if model.get("conditional") else "no"),
        "- parameters: " + (", ".join(f"{k} {v:,}" for k, v in f.params.items()) or "-"),
        "- the full training configuration is in the checkpoint and in `model_index.json` of an exported folder", "",
        "## Training data", "", *_data_lines(data), "",
        "## Intended use", "",
        f"- Research on generative models, teaching, and prototyping with synthetic {what} that resemble the "
        "training data: data augmentation experiments, testing pipelines, illustrations labelled as generated.",
        "", "## Out of scope", "", OUT_OF_SCOPE.format(what=what), "",
        "## Evaluation", "", *_eval_section(f.evals), "",
        "## Privacy", "", *_privacy_section(data), "",
        "## Memorisation", "", *_memo_section(f.evals), "",
        "## Known limitations", "", *_limits(f.evals, data), "",
        "## Recognising its outputs", "",
        "Every file ganforge writes from this model carries a provenance record in its metadata (the checkpoint's "
        "sha256, seeds, time, `generated_by_gan: true`; PNG/JPEG also IPTC's trainedAlgorithmicMedia in XMP): "
        "`ganforge provenance FILE` reads it (docs/provenance.md). Metadata can be stripped, so a file without "
        "it is not thereby real.", ""]
    return "\n".join(lines)


__all__ = ["model_card", "CARD"]
