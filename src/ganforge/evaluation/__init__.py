"""`ganforge eval`: measure a run, or two data files, with the evaluator its data calls for.

``evaluate_run(run, ...)`` opens the run, asks its recipe which evaluator measures it
(``Recipe.evaluator``) and writes the result with its protocol to ``RUN/eval/<time>.json``;
``evaluate_files(real, fake, ...)`` picks the evaluator by the kind of data in the files.
Evaluators register themselves (features.py, tables.py; base.py says what one is).
"""
from __future__ import annotations

import datetime
import json
import os
from typing import Any

from ..core.checkpoint import atomic_write_bytes
from ..core.registry import EVALUATORS, SOURCES
from .base import Evaluator, register_evaluator

__all__ = ["Evaluator", "register_evaluator", "evaluate_run", "evaluate_files", "format_result", "evaluator_for"]


def evaluator_for(recipe) -> Evaluator:
    return EVALUATORS.get(recipe.evaluator, "evaluator")


def _file_kind(path: str) -> str:
    from ..data import infer_source, resolve_path
    return SOURCES.get(infer_source(resolve_path(path, "auto"))).kind


def evaluate_run(run: str, *, json_path: str | None = None, **options: Any) -> dict[str, Any]:
    """Measure a run (folder, checkpoint or model folder); options as `ganforge eval` takes them."""
    from .. import api
    g = api.load(run)
    ev = evaluator_for(g.recipe)
    res = ev.run(g, **options)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = json_path or os.path.join(g.run_dir, "eval", f"{ev.stem}{stamp}.json")
    _write_json(path, res)
    res["json"], res["text"] = path, ev.format(res)
    res["files"] = ev.extra(res, path) if ev.extra is not None else []
    return res


def evaluate_files(real: str, fake: str, *, json_path: str | None = None, **options: Any) -> dict[str, Any]:
    """Compare two data files (NPZ, image folders, IDX files, tables ...): real and generated."""
    kind = _file_kind(real)
    ev = next((e for _, e in EVALUATORS.items() if kind in e.kinds), EVALUATORS.get("features"))
    res = ev.files(real, fake, **options)
    if ev.files_json and not json_path:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        json_path = os.path.join(os.path.dirname(os.path.abspath(fake)), "eval", f"{ev.stem}{stamp}.json")
    if json_path:
        _write_json(json_path, res)
        res["json"] = json_path
    res["text"] = ev.format(res)
    return res


def format_result(res: dict[str, Any]) -> str:
    return res.get("text", "")


def _write_json(path: str, res: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    body = {k: v for k, v in res.items() if k not in ("json", "text", "files")}
    atomic_write_bytes(path, json.dumps(body, indent=2, default=_plain).encode())


def _plain(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)
