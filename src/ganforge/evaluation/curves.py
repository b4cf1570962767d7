"""A trade-off curve drawn beside an evaluation's JSON: one point per setting (temperature, truncation)."""
from __future__ import annotations

import io
from typing import Any


def curve_png(curves: list[tuple[str, list[dict[str, Any]]]], x: str, y: str, tag: tuple[str, str],
              labels: tuple[str, str], json_path: str, floor: tuple[float, float] | None = None) -> str:
    """Write ``<json stem>.png``: for each (label, rows) a line through (row[x], row[y]), each point annotated
    ``name=row[key]`` for ``tag = (key, name)``; ``floor``: the real-vs-real point, drawn as a star.
    ``labels``: the axes' titles. Returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.writers import write_bytes
    fig, ax = plt.subplots(figsize=(4.5, 3.5), dpi=100)
    for label, rows in curves:
        ax.plot([r[x] for r in rows], [r[y] for r in rows], "o-", label=label)
        for r in rows:
            ax.annotate(f"{tag[1]}={r[tag[0]]:g}", (r[x], r[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if floor is not None:
        ax.plot([floor[0]], [floor[1]], "*", color="tab:red", markersize=10, label="real vs real")
    if len(curves) > 1 or floor is not None:
        ax.legend(fontsize=7)
    ax.set_xlabel(labels[0], fontsize=8)
    ax.set_ylabel(labels[1], fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path = json_path[:-len(".json")] + ".png" if json_path.endswith(".json") else json_path + ".png"
    write_bytes(path, buf.getvalue())
    return path
