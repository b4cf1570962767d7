"""Plots of the logged stats (matplotlib, Agg), returned as PNG bytes for inlining in the report."""
from __future__ import annotations

import io
import math
from typing import Any

_SKIP = ("step", "time")


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(fig) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of a stats key, dropping rows without it and non-finite values."""
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and "step" in r:
            xs.append(float(r["step"]))
            ys.append(float(v))
    return xs, ys


def numeric_keys(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for k, v in r.items():
            if k not in _SKIP and isinstance(v, (int, float)) and not isinstance(v, bool):
                seen[k] = None
    return list(seen)


def group_keys(keys: list[str]) -> dict[str, list[str]]:
    """Stats keys sorted into the report's panels; every key lands in exactly one."""
    groups: dict[str, list[str]] = {"losses": [], "D outputs": [], "augmentation": [], "gradient norms": [],
                                    "evaluation": [], "other": []}
    for k in keys:
        low = k.lower()
        if low.startswith("eval/"):
            groups["evaluation"].append(k)
        elif low.startswith("loss"):
            groups["losses"].append(k)
        elif "grad" in low or "norm" in low:
            groups["gradient norms"].append(k)
        elif "aug" in low or "ada" in low or low in ("p", "r_t", "rt"):
            groups["augmentation"].append(k)
        elif low.startswith("d_"):
            groups["D outputs"].append(k)
        else:
            groups["other"].append(k)
    return {g: ks for g, ks in groups.items() if ks}


def overlay(rows: list[dict], keys: list[str], title: str, logy: bool = False) -> bytes | None:
    """All keys on one axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    drawn = 0
    for k in keys:
        xs, ys = series(rows, k)
        if xs:
            ax.plot(xs, ys, lw=1.2, marker="o" if len(xs) < 30 else None, ms=3, label=k)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    if logy and all(y > 0 for k in keys for y in series(rows, k)[1]):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def small_multiples(rows: list[dict], keys: list[str], title: str) -> bytes | None:
    """One small axis per key; a key ``k_floor`` is drawn dashed on the axis of ``k``."""
    keys = [k for k in keys if series(rows, k)[0]]
    main = [k for k in keys if not (k.endswith("_floor") and k[:-6] in keys)]
    if not main:
        return None
    plt = _plt()
    ncol = min(3, len(main))
    nrow = math.ceil(len(main) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.5 * nrow), squeeze=False)
    for ax, k in zip(axes.flat, main):
        xs, ys = series(rows, k)
        ax.plot(xs, ys, lw=1.2, marker="o" if len(xs) < 30 else None, ms=3)
        if k + "_floor" in keys:
            fx, fy = series(rows, k + "_floor")
            ax.plot(fx, fy, "--", lw=1, c="0.4", label="floor (real vs real)")
            ax.legend(fontsize=7)
        ax.set_title(k, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(main):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return _png(fig)
