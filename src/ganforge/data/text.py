"""Text for the sequence GANs: a UTF-8 file (one example per line, or windows cut from the whole file),
its vocabulary, and the SeqGAN oracle's synthetic sequences.

Examples become rows of token ids, (N, L) int64: a line's tokens, then ``<eos>``, then ``<pad>`` up
to L = text.max_len + 1; a window is exactly text.window tokens. Character tokens by default; word
tokens (``text.tokens=word``) are runs of letters and digits or single punctuation marks, and words
seen fewer than text.min_count times become ``<unk>``. The vocabulary is built from the training
file and travels with the run (its data facts, JSON). A seeded share (text.holdout) of the examples
is held out for evaluation (NLL_test, BLEU); training never sees it.

``seqgan-oracle``: 10,000 training and 10,000 test sequences of 20 tokens drawn from the SeqGAN oracle
(data/oracle.py) with fixed seeds, whatever the run's seed, so every run learns the same data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from ..core.errors import DataError
from ..core.log import warn
from .dataset import Dataset, seeded
from .sources import Source, register_source

PAD, EOS, UNK = 0, 1, 2
SPECIALS = ["<pad>", "<eos>", "<unk>"]
ORACLE_SEEDS = (2017, 2018)   # training and test draws of the oracle
ORACLE_N = 10_000
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass
class Vocab:
    kind: str                              # char | word | id (the oracle's integers)
    items: list[str] = field(default_factory=list)   # token strings, specials first for char and word

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def specials(self) -> bool:
        return self.kind != "id"

    def to_json(self) -> dict:
        return {"kind": self.kind, "items": self.items}

    @classmethod
    def from_json(cls, d: dict) -> Vocab:
        return cls(d["kind"], list(d["items"]))

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.items)}

    def encode(self, tokens: list[str], unknown: str = "error") -> list[int]:
        idx = self.index()
        if unknown == "error":
            missing = sorted({t for t in tokens if t not in idx})
            if missing:
                shown = ", ".join(repr(t) for t in missing[:8]) + (", ..." if len(missing) > 8 else "")
                raise DataError(f"the model never saw these {self.kind}s: {shown}")
        return [idx.get(t, UNK) for t in tokens]

    def decode(self, ids: list[int]) -> str:
        """Token ids -> text, up to the first <eos>; <pad> dropped."""
        out = []
        for i in ids:
            if self.specials and i == EOS:
                break
            if self.specials and i == PAD:
                continue
            out.append(self.items[i])
        sep = "" if self.kind == "char" else " "
        return sep.join(out)


def tokenize(text: str, kind: str) -> list[str]:
    return list(text) if kind == "char" else _WORD.findall(text)


def read_text(path: str) -> str:
    """A UTF-8 text file; binary and non-UTF-8 files are refused naming the byte offset."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    if not raw.strip():
        raise DataError(f"{path} is empty; give a UTF-8 text file with one example per line")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataError(f"{path} looks binary (a NUL byte at offset {nul}); give a UTF-8 text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8: byte 0x{raw[e.start]:02x} at offset {e.start} cannot be decoded; "
                        "convert the file to UTF-8") from None


def examples_of(text: str, tc) -> list[list[str]]:
    """Token lists: one per non-empty line, or windows of text.window tokens cut from the whole text."""
    if tc.window > 0:
        toks = tokenize(text, tc.tokens)
        n = len(toks) // tc.window
        if n < 2:
            raise DataError(f"the text has {len(toks)} {tc.tokens} tokens, fewer than two windows of "
                            f"text.window={tc.window}; lower text.window")
        return [toks[i * tc.window:(i + 1) * tc.window] for i in range(n)]
    rows = [tokenize(line, tc.tokens) for line in text.splitlines()]
    return [r for r in rows if r]


def fit_length(rows: list[list[str]], tc, where: str) -> tuple[list[list[str]], int]:
    """(rows, max_len) under text.max_len and the text.long policy."""
    longest = max(len(r) for r in rows)
    limit = tc.max_len or longest
    over = [len(r) for r in rows if len(r) > limit]
    if over:
        if tc.long != "truncate":
            raise DataError(f"{where}: {len(over)} examples are longer than text.max_len={limit} {tc.tokens}s "
                            f"(the longest has {max(over)}); set text.long=truncate to cut them, or "
                            f"text.max_len={max(over)}")
        warn(f"{where}: {len(over)} examples cut to text.max_len={limit} {tc.tokens}s (the longest had {max(over)})")
        rows = [r[:limit] for r in rows]
    return rows, limit


def build_vocab(rows: list[list[str]], tc, where: str) -> Vocab:
    counts: dict[str, int] = {}
    for r in rows:
        for t in r:
            counts[t] = counts.get(t, 0) + 1
    keep = sorted(t for t, c in counts.items() if c >= tc.min_count)
    if len(keep) + len(SPECIALS) > tc.vocab_limit:
        hint = "use text.tokens=char" if tc.tokens == "word" else "raise text.vocab_limit"
        raise DataError(f"{where}: {len(keep)} distinct {tc.tokens}s, over text.vocab_limit={tc.vocab_limit}; {hint}"
                        + (" or raise text.min_count" if tc.tokens == "word" else ""))
    return Vocab(tc.tokens, SPECIALS + keep)


def encode_rows(rows: list[list[str]], vocab: Vocab, length: int, eos: bool) -> torch.Tensor:
    out = torch.full((len(rows), length), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        ids = vocab.encode(r, unknown="unk") + ([EOS] if eos else [])
        out[i, :len(ids)] = torch.tensor(ids[:length], dtype=torch.long)
    return out


def text_dataset(x: torch.Tensor, vocab: Vocab, name: str, extra_meta: dict | None = None) -> Dataset:
    meta = {"vocab": vocab.to_json(), "length": int(x.shape[1]), **(extra_meta or {})}
    return Dataset(x=x, y=None, kind="text", name=name, value_range=None, class_names=None, meta=meta)


def split(n: int, holdout: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) indices: a seeded share ``holdout`` of the examples is held out."""
    perm = torch.randperm(n, generator=seeded(seed * 31 + 7))
    k = max(1, round(holdout * n)) if holdout > 0 else 0
    return perm[k:].sort().values, perm[:k].sort().values


def load_text(cfg, seed: int, path: str, part: str = "train") -> Dataset:
    """data.source=text: the training part (or ``part="test"``, the held-out one) of a text file."""
    tc = cfg.section("text")
    rows = examples_of(read_text(path), tc)
    if len(rows) < 2:
        raise DataError(f"{path} has {len(rows)} non-empty lines; give at least two examples")
    rows, max_len = fit_length(rows, tc, path)
    train, test = split(len(rows), tc.holdout, seed)
    vocab = build_vocab([rows[i] for i in train.tolist()], tc, path)
    eos = tc.window <= 0
    x = encode_rows(rows, vocab, max_len + (1 if eos else 0), eos)
    idx = train if part == "train" else test
    if cfg.data.limit and part == "train":
        idx = idx[torch.randperm(len(idx), generator=seeded(seed))[:cfg.data.limit].sort().values]
    return text_dataset(x[idx], vocab, path, {"held_out": len(test), "eos": eos})


def load_oracle_data(cfg, seed: int, path: str, part: str = "train") -> Dataset:
    from ..core.frozen import file_sha256
    from .cache import cached
    from .oracle import load_oracle, oracle_path
    oracle = load_oracle(cfg.data.path)
    seed_ = ORACLE_SEEDS[0 if part == "train" else 1]
    key = {"what": "seqgan-oracle samples", "oracle_sha256": file_sha256(oracle_path(cfg.data.path)),
           "n": ORACLE_N, "seed": seed_, "torch": torch.__version__.split("+")[0]}
    x = cached(key, lambda: {"x": oracle.sample(ORACLE_N, seed_)})["x"]
    if cfg.data.limit and part == "train":
        x = x[:cfg.data.limit]
    vocab = Vocab("id", [str(i) for i in range(oracle.vocab)])
    return text_dataset(x, vocab, "seqgan-oracle", {"oracle": oracle_path(cfg.data.path), "eos": False})


register_source("text", Source(lambda cfg, seed, path: load_text(cfg, seed, path), path="file", kind="text",
                               finish=False, infer=lambda p: p.lower().endswith((".txt", ".text")), infer_order=1))
register_source("seqgan-oracle", Source(lambda cfg, seed, path: load_oracle_data(cfg, seed, path), path="search",
                                        kind="text", finish=False))


def load_part(cfg, seed: int, part: str) -> Dataset:
    """The training or held-out part of a text run's data, by its data source."""
    from . import source_of
    name, _, path = source_of(cfg)
    return load_oracle_data(cfg, seed, path, part) if name == "seqgan-oracle" else load_text(cfg, seed, path, part)


__all__ = ["Vocab", "PAD", "EOS", "UNK", "SPECIALS", "tokenize", "read_text", "load_text", "load_oracle_data",
           "load_part", "text_dataset"]
