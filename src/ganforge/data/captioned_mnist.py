"""``captioned-mnist``: MNIST test-split digits recoloured, scaled and placed on a 32x32 black canvas, each with
three captions from a small grammar, built deterministically (no randomness but the fixed construction seed). The
full description is docs/text2image.md; in short:

- attributes of each example (kept as ``attrs`` (N, 4) int64, in this order): the digit (MNIST's label), a colour
  of COLOURS (the digit's grey level times the colour's RGB), a size of SIZES (the whole 28x28 MNIST frame resized
  to 12x12 or 20x20, antialiased bilinear, so the digit's 20-pixel box becomes about 8.6 or 14.3 pixels) and a
  position of POSITIONS (the frame centred on an anchor: (10, 10), (22, 10), (10, 22), (22, 22) or (16, 16) as
  (x, y); MNIST centres each digit by mass, so the digit's centroid lands on the anchor).
- held out: every green eight, every large blue two, and three more (colour, size, position) combinations per
  digit drawn with the construction seed: 45 of the 600 combinations never appear in training.
- training part: MNIST images 0-7999 (the ones the shipped ``lenet-mnist`` classifier trained on), each with
  attributes drawn uniformly from its digit's 55-60 seen combinations. Test part: images 8000-8999 with seen
  combinations and images 9000-9999 with held-out ones (``held`` marks them).
- captions: three per image, each from one of TEMPLATES with words picked among synonyms, so word order and
  wording vary ("a small red seven in the top left", "top left: a tiny crimson 7").
"""
from __future__ import annotations

import functools
import random

import torch
import torch.nn.functional as F

from ..core.errors import DataError
from .builtin import _mnist_arrays
from .captions import build_vocab, caption_dataset
from .dataset import Dataset, apply_limit
from .sources import Source, register_source

CANVAS = 32
SEED = 31
CAPTIONS_PER_IMAGE = 3
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COLOURS = {"red": (1.0, 0.0, 0.0), "yellow": (1.0, 1.0, 0.0), "green": (0.0, 1.0, 0.0), "cyan": (0.0, 1.0, 1.0),
           "blue": (0.0, 0.0, 1.0), "magenta": (1.0, 0.0, 1.0)}
SIZES = {"small": 12, "large": 20}                       # side of the resized 28x28 frame
POSITIONS = {"top left": (10, 10), "top right": (22, 10), "bottom left": (10, 22), "bottom right": (22, 22),
             "centre": (16, 16)}                          # (x, y) of the frame's centre
FIELDS = ("digit", "colour", "size", "position")
SYNONYMS = {"red": ["red", "crimson", "scarlet"], "yellow": ["yellow", "golden"], "green": ["green", "emerald"],
            "cyan": ["cyan", "turquoise"], "blue": ["blue", "azure"], "magenta": ["magenta", "purple"],
            "small": ["small", "tiny", "little"], "large": ["large", "big", "huge"]}
TEMPLATES = ("a {size} {colour} {digit} {where}", "{bare}: a {size} {colour} {digit}",
             "{where}, a {colour} {digit}, {size}", "the {size} {digit} {where} is {colour}",
             "a {colour} {size} number {digit} {where}")
TRAIN, SEEN_TEST, HELD_TEST = (0, 8000), (8000, 9000), (9000, 10000)


def names() -> dict[str, list[str]]:
    return {"digit": [str(d) for d in range(10)], "colour": list(COLOURS), "size": list(SIZES),
            "position": list(POSITIONS)}


@functools.cache
def held_out() -> frozenset[tuple[int, int, int, int]]:
    """The (digit, colour, size, position) combinations no training example has."""
    c, s, p = list(COLOURS), list(SIZES), list(POSITIONS)
    held = {(8, c.index("green"), si, pi) for si in range(len(s)) for pi in range(len(p))}
    held |= {(2, c.index("blue"), s.index("large"), pi) for pi in range(len(p))}
    rng = random.Random(SEED)
    for d in range(10):
        rest = [(d, ci, si, pi) for ci in range(len(c)) for si in range(len(s)) for pi in range(len(p))
                if (d, ci, si, pi) not in held]
        held |= set(rng.sample(rest, 3))
    return frozenset(held)


@functools.cache
def combos(digit: int, held: bool) -> list[tuple[int, int, int, int]]:
    out = held_out()
    every = [(digit, ci, si, pi) for ci in range(len(COLOURS)) for si in range(len(SIZES))
             for pi in range(len(POSITIONS))]
    return [t for t in every if (t in out) == held]


def _where(pos: str, rng: random.Random) -> tuple[str, str]:
    """(a phrase with a preposition, a bare one) for a position."""
    if pos == "centre":
        bare = rng.choice(["centre", "center", "middle"])
        return f"{rng.choice(['in', 'at'])} the {bare}", bare
    v, h = pos.split()
    v = rng.choice({"top": ["top", "upper"], "bottom": ["bottom", "lower"]}[v])
    corner = rng.choice(["", " corner"])
    return f"{rng.choice(['in', 'at'])} the {v} {h}{corner}", f"{v} {h}"


def caption(attrs: tuple[int, int, int, int], rng: random.Random) -> str:
    d, c, s, p = attrs
    where, bare = _where(list(POSITIONS)[p], rng)
    digit = rng.choice([DIGITS[d], str(d)])
    return rng.choice(TEMPLATES).format(size=rng.choice(SYNONYMS[list(SIZES)[s]]),
                                        colour=rng.choice(SYNONYMS[list(COLOURS)[c]]), digit=digit, where=where,
                                        bare=bare)


def vocabulary() -> list[str]:
    """Every word the grammar can write (so held-out captions encode too)."""
    words = list(DIGITS) + [str(d) for d in range(10)] + [w for ws in SYNONYMS.values() for w in ws]
    words += "a the in at is number corner top upper bottom lower left right centre center middle".split()
    return build_vocab([" ".join(words)])


def render(digits: torch.Tensor, attrs: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) grey digits in [0, 1] and attrs (N, 4) -> (N, 3, 32, 32) images in [-1, 1]."""
    n = digits.shape[0]
    canvas = torch.zeros(n, CANVAS, CANVAS)
    scaled = {s: F.interpolate(digits[:, None].float(), size=(side, side), mode="bilinear", align_corners=False,
                               antialias=True)[:, 0].clamp(0, 1) for s, side in enumerate(SIZES.values())}
    anchors = list(POSITIONS.values())
    for i in range(n):
        s, p = int(attrs[i, 2]), int(attrs[i, 3])
        side = list(SIZES.values())[s]
        x0, y0 = anchors[p][0] - side // 2, anchors[p][1] - side // 2
        canvas[i, y0:y0 + side, x0:x0 + side] = scaled[s][i]
    rgb = torch.tensor(list(COLOURS.values()))[attrs[:, 1]]              # (N, 3)
    return canvas[:, None] * rgb[:, :, None, None] * 2 - 1


def _draw(labels: torch.Tensor, lo: int, hi: int, held: bool, rng: random.Random) -> torch.Tensor:
    return torch.tensor([rng.choice(combos(int(labels[i]), held)) for i in range(lo, hi)], dtype=torch.long)


def build(explicit: str = "", part: str = "train") -> dict:
    """{"x", "attrs", "captions" (lists of strings), "held" (bool (N,))} of one part."""
    path, arr, y = _mnist_arrays(explicit, True)
    if y is None or len(arr) < HELD_TEST[1]:
        raise DataError(f"captioned-mnist needs the 10,000 labelled MNIST test images (t10k images and labels); "
                        f"{path} holds {len(arr)}{'' if y is not None else ' without a labels file'}")
    digits = torch.from_numpy(arr[:, 0].copy()).float() / 255.0
    rng = random.Random(SEED)
    attrs = torch.cat([_draw(y, *TRAIN, False, rng), _draw(y, *SEEN_TEST, False, rng),
                       _draw(y, *HELD_TEST, True, rng)])
    lo, hi = TRAIN if part == "train" else (SEEN_TEST[0], HELD_TEST[1])
    a = attrs[lo:hi]
    text_rng = random.Random(SEED + 1)
    caps = [[caption(tuple(int(v) for v in attrs[i]), text_rng) for _ in range(CAPTIONS_PER_IMAGE)]
            for i in range(HELD_TEST[1])][lo:hi]
    held = torch.arange(lo, hi) >= HELD_TEST[0]
    return {"x": render(digits[lo:hi], a), "attrs": a, "captions": caps, "held": held}


GRID_CAPTIONS = ["a small red seven in the top left", "top left: a tiny crimson 7", "a big blue three at the centre",
                 "a large yellow one in the bottom right", "a small cyan four in the upper right corner",
                 "the big 0 in the lower left is magenta", "in the middle, a green eight, large",
                 "a large blue two at the top right"]   # the last two: held-out combinations


def load_captioned_mnist(cfg, seed: int, path: str) -> Dataset:
    size = cfg.section("text2image").size
    if size not in (0, CANVAS):
        raise DataError(f"captioned-mnist is built at {CANVAS}x{CANVAS}; set text2image.size={CANVAS}")
    b = build(cfg.data.path)
    ds = caption_dataset(b["x"], b["captions"], "captioned-mnist", extra={"attrs": b["attrs"]},
                         vocab=vocabulary(), meta={"attributes": names(), "grid_captions": GRID_CAPTIONS})
    return apply_limit(ds, cfg.data.limit, seed)


register_source("captioned-mnist", Source(load_captioned_mnist, path="search", kind="image-text", finish=False))

__all__ = ["build", "render", "caption", "held_out", "combos", "names", "vocabulary", "load_captioned_mnist",
           "COLOURS", "SIZES", "POSITIONS", "FIELDS", "GRID_CAPTIONS", "CANVAS"]
