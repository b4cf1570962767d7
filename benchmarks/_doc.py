"""Write one benchmark's table into docs/benchmarks.md between its own markers."""
from __future__ import annotations

import os
import re

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "benchmarks.md")
HEAD = "# Benchmarks\n\nMeasured tables, each with its protocol and the command that produced it.\n"


def write_section(name: str, title: str, body: str, path: str = DOC) -> None:
    text = open(path).read() if os.path.exists(path) else HEAD
    block = f"<!-- BEGIN {name} -->\n## {title}\n\n{body.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def load_rows(path: str) -> list[dict]:
    """A benchmark's stored per-run results (a JSON list), or [] before the first run."""
    import json
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def store_rows(path: str, new: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Merge ``new`` into the results at ``path``, replacing rows with the same ``key`` fields; the
    file is re-read first (another invocation may have stored rows meanwhile) and replaced atomically."""
    import json
    keys = {tuple(r[k] for k in key) for r in new}
    rows = [r for r in load_rows(path) if tuple(r[k] for k in key) not in keys] + list(new)
    rows.sort(key=lambda r: tuple(str(r[k]) for k in key))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"  # runs side by side must not share a temp file
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(tmp, path)
    return rows
