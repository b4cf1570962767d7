"""The report page: one self-contained HTML file, every picture inlined as a data: URI, no scripts."""
from __future__ import annotations

import base64
import html
import json
import os
from typing import Any

from . import plots
from .collect import RunFacts

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
h3{font-size:1em;margin-bottom:6px}
table{border-collapse:collapse;font-size:.9em;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}.changed{font-weight:600;color:#0a4d8c}
.note{background:#fff6d6;border:1px solid #e8d48a;padding:6px 10px;margin:8px 0}
.muted{color:#777}.timeline{display:flex;flex-wrap:wrap;gap:12px}.timeline figure,.gallery figure{margin:0}
figcaption{font-size:.8em;color:#555;text-align:center}img{max-width:100%;image-rendering:pixelated}
.gallery{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:.8em;max-height:360px}
"""

_MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_TEXT = (".txt", ".csv", ".jsonl", ".json", ".tsv")
_SOUND = {".wav": "audio/wav", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def img_bytes(data: bytes, mime: str = "image/png", alt: str = "", width: int | None = None) -> str:
    src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    w = f' width="{width}"' if width else ""
    return f'<img src="{src}" alt="{esc(alt)}"{w}>'


def img_file(path: str, alt: str = "", width: int | None = None) -> str:
    with open(path, "rb") as f:
        return img_bytes(f.read(), _MIME.get(os.path.splitext(path)[1].lower(), "image/png"), alt, width)


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...] | None = None, changed: set[int] = frozenset()) -> str:
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr" + (' class="changed"' if i in changed else "") + ">" + "".join(f"<td>{esc(c)}</td>" for c in r)
                   + "</tr>" for i, r in enumerate(rows))
    return f"<table>{head}{body}</table>"


def section_trained(f: RunFacts) -> str:
    from ..config import Config
    d = f.data
    shape = "x".join(str(s) for s in d.get("shape", []))
    rows = [("data", f"{d.get('name', '?')}: {d.get('n', '?')} {d.get('kind', '?')}s of shape {shape}, "
                     f"{d.get('num_classes', 0)} classes"),
            ("preset", f.config.get("preset", "?")),
            ("steps", f"{f.step} done of {f.planned} planned"),
            ("checkpoint", os.path.basename(f.checkpoint) if f.checkpoint else "none yet")]
    rows += [(f"parameters {k}", f"{v:,}") for k, v in f.params.items()]
    defaults = Config().to_dict()
    cfg_rows, changed = [], set()
    for sec, vals in f.config.items():
        if not isinstance(vals, dict):
            continue
        for k, v in vals.items():
            if k in defaults.get(sec, {}) and json.dumps(defaults[sec][k]) != json.dumps(v):
                changed.add(len(cfg_rows))
            cfg_rows.append((f"{sec}.{k}", json.dumps(v)))
    picked = [r for i, r in enumerate(cfg_rows) if i in changed]
    return ("<h2>What was trained</h2>" + table(rows)
            + "<h3>Config: keys set away from their defaults</h3>"
            + (table(picked, ("key", "value")) if picked else "<p class='muted'>none: all defaults</p>")
            + "<details><summary>full config (bold: differs from the default)</summary>"
            + table(cfg_rows, ("key", "value"), changed) + "</details>")


def section_curves(f: RunFacts) -> str:
    if not f.stats:
        return "<h2>Training curves</h2><p class='muted'>no stats logged yet (stats.jsonl is empty).</p>"
    groups = plots.group_keys(plots.numeric_keys(f.stats))
    out = ["<h2>Training curves</h2>"]
    for name, keys in groups.items():
        if name == "evaluation":
            continue
        png = (plots.small_multiples(f.stats, keys, "") if name == "other"
               else plots.overlay(f.stats, keys, name, logy=name == "gradient norms"))
        if png:
            out.append(f"<h3>{esc(name)}</h3>" + img_bytes(png, alt=name))
    return "".join(out)


def _flat(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested JSON -> [(dotted key, leaf)]; lists are shown as (shortened) JSON text."""
    if isinstance(obj, dict):
        return [kv for k, v in obj.items() for kv in _flat(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(obj, (list, tuple)):
        return [(prefix, json.dumps(obj)[:200])]
    return [(prefix, obj)]


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _eval_file(name: str, data: Any) -> str:
    """One evaluation file: its metrics with their floors side by side, then its protocol."""
    if isinstance(data, list) and data and all(isinstance(r, dict) and "step" in r for r in data):
        png = plots.small_multiples(data, plots.numeric_keys(data), name)
        return img_bytes(png, alt=name) if png else ""
    protocol = data.get("protocol") if isinstance(data, dict) else None
    if protocol is not None:
        data = {k: v for k, v in data.items() if k != "protocol"}
    flat = _flat(data)
    values = dict(flat)
    rows = [(k, _fmt(v), _fmt(values.get(k + "_floor", ""))) for k, v in flat if not k.endswith("_floor")]
    out = table(rows, ("metric", "value", "floor (real vs real)"))
    if protocol is not None:
        out += "<p><b>protocol</b></p><pre>" + esc(json.dumps(protocol, indent=2)[:20000]) + "</pre>"
    return out


def _eval_rows(evals: list[tuple[str, Any]]) -> list[dict]:
    """Stats-like rows {step, metric: value} from eval files that say which step they measured."""
    rows = []
    for _, d in evals:
        if isinstance(d, dict) and isinstance(d.get("metrics"), dict):
            step = (d.get("protocol") or {}).get("step", d.get("step"))
            if isinstance(step, int):
                rows.append({"step": step, **{k: v for k, v in d["metrics"].items() if isinstance(v, (int, float))}})
    return sorted(rows, key=lambda r: r["step"])


def section_eval(f: RunFacts) -> str:
    keys = [k for k in plots.numeric_keys(f.stats) if k.lower().startswith("eval/")]
    if not keys and not f.evals:
        return ""
    out = ["<h2>Evaluation</h2>"]
    png = plots.small_multiples(f.stats, keys, "during training (dashed: real-vs-real floor)") if keys else None
    if png:
        out.append(img_bytes(png, alt="evaluation during training"))
    rows = _eval_rows(f.evals)
    if len({r["step"] for r in rows}) >= 2:
        png = plots.small_multiples(rows, plots.numeric_keys(rows), "eval/*.json by step (dashed: floor)")
        out.append(img_bytes(png, alt="evaluations by step") if png else "")
    if f.evals:  # the newest file in full (with the picture an evaluator drew beside it), earlier ones folded away
        name, data = f.evals[-1]
        out.append(f"<h3>{esc(name)}</h3>" + _eval_file(name, data))
        picture = os.path.join(f.run_dir, "eval", name[:-len(".json")] + ".png")
        if name.endswith(".json") and os.path.isfile(picture):
            out.append(f"<figure>{img_file(picture, name)}<figcaption>{esc(os.path.basename(picture))}"
                       "</figcaption></figure>")
        out += [f"<details><summary>{esc(n)}</summary>{_eval_file(n, d)}</details>" for n, d in f.evals[-2::-1]]
    return "".join(out)


def sample_cell(path: str, caption: str) -> str:
    """One sample file as the page can show it: pictures inline, text and tables as their first lines,
    anything else (a recipe's own format) as its name and size."""
    ext = os.path.splitext(path)[1].lower()
    if ext in _MIME:
        body = img_file(path, caption, width=240)
    elif ext in _TEXT:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = "".join(fh.readline() for _ in range(12))
        body = f"<pre>{esc(head)}</pre>"
    elif ext in _SOUND:   # a player, the sound inlined like the pictures
        with open(path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        body = f'<audio controls preload="none" src="data:{_SOUND[ext]};base64,{data}"></audio>'
    else:
        body = f"<p class='muted'>{esc(os.path.basename(path))} ({os.path.getsize(path):,} bytes)</p>"
    return f"<figure>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def section_samples(f: RunFacts, most: int = 10) -> str:
    if not f.grids:
        return "<h2>Samples</h2><p class='muted'>no sample grids yet (samples/grid-*).</p>"
    steps = sorted({s for s, _ in f.grids})        # a step's grid may be several files (picture and sound)
    picks = steps
    if len(steps) > most:  # evenly spaced, always with the first and the newest
        picks = [steps[i] for i in sorted({round(i * (len(steps) - 1) / (most - 1)) for i in range(most)})]
    shown = set(picks)
    figs = "".join(sample_cell(p, f"step {s}") for s, p in f.grids if s in shown)
    captions = f.data.get("grid_captions") or []      # caption-conditioned runs: what each row was drawn for
    listed = ("<p>Rows, top to bottom:</p><ol>" + "".join(f"<li>{esc(str(c))}</li>" for c in captions) + "</ol>"
              if captions else "")
    return ("<h2>Samples (fixed latents)</h2>"
            f"<p class='muted'>{len(picks)} of {len(steps)} grids, same latents at every step.</p>"
            f"<div class='timeline'>{figs}</div>{listed}")


def section_explore(f: RunFacts, most: int = 12) -> str:
    if not f.explore:
        return ""
    figs = "".join(f"<figure>{img_file(p, os.path.basename(p))}<figcaption>{esc(os.path.basename(p))}</figcaption>"
                   "</figure>" for p in f.explore[:most])
    return f"<h2>Explore (newest first)</h2><div class='gallery'>{figs}</div>"


def section_privacy(f: RunFacts) -> str:
    """The run's differential-privacy record: what it spent and with what, what it covers and what it does not."""
    from ..core.privacy import summary
    rec = f.data.get("privacy") or {}
    out = ["<h2>Privacy</h2>", f"<p>{esc(summary(rec))}</p>"]
    if rec.get("private"):
        keys = ("epsilon", "epsilon_spent", "epsilon_sgd", "epsilon_counts", "delta", "accountant_name",
                "noise_multiplier", "clip", "sample_rate", "sampling", "steps_spent", "budget_steps", "planned_steps")
        out.append(table([(k, _fmt(rec[k])) for k in keys if k in rec]))
        out += [f"<p>Covered: {esc('; '.join(rec.get('covers', [])))}.</p>",
                f"<p>Not covered: {esc('; '.join(rec.get('not_covered', [])))}.</p>"]
    return "".join(out)


def section_machine(f: RunFacts) -> str:
    rows = list(f.machine.items()) + list(f.timing.items())
    return "<h2>Machine and time</h2>" + table(rows)


def render(f: RunFacts) -> str:
    title = f"ganforge run {os.path.basename(os.path.abspath(f.run_dir))}"
    notes = "".join(f"<div class='note'>{esc(n)}</div>" for n in f.notes)
    if f.card:
        notes += f"<p>Model card: <a href='{esc(os.path.basename(f.card))}'>{esc(os.path.basename(f.card))}</a></p>"
    body = "".join([section_trained(f), section_privacy(f), section_curves(f), section_eval(f), section_samples(f),
                    section_explore(f), section_machine(f)])
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head>"
            f"<body><h1>{esc(title)}</h1><p class='muted'>{esc(os.path.abspath(f.run_dir))}</p>{notes}{body}"
            "</body></html>\n")
