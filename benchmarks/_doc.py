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
