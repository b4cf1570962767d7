"""Text metrics on token lists: BLEU, Self-BLEU and distinct-n.

BLEU (Papineni et al. 2002) as the text-GAN literature computes it (Texygen, Zhu et al. 2018): every
generated sentence is scored against the *whole* set of references (held-out real sentences), and the
sentence scores are averaged. BLEU-n uses uniform weights over orders 1..n; a clipped n-gram count is
capped by the largest count of that n-gram in any one reference; the brevity penalty uses the
reference length closest to the hypothesis (the shorter on a tie); orders with no match are smoothed
by Chen & Cherry's (2014) method 1 (a numerator of 0.1 instead of 0, over at least one n-gram), as
NLTK's ``SmoothingFunction().method1`` which Texygen uses; a sentence with no unigram in common with
the references scores 0. The tests check these numbers against NLTK.

Self-BLEU (Zhu et al. 2018): each sample scored against all the *other* samples; high values mean
samples resemble each other (low diversity). distinct-n (Li et al. 2016): distinct n-grams over all
n-grams of the samples.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter

EPSILON = 0.1   # method 1 smoothing


def ngrams(tokens: list, n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


class References:
    """The reference set of BLEU: for each order, every n-gram's largest count in one reference (and,
    for Self-BLEU, the second largest and whose the largest is), and the sorted reference lengths."""

    def __init__(self, refs: list[list], max_n: int) -> None:
        self.max_n = max_n
        self.top: list[dict[tuple, tuple[int, int, int]]] = []   # ngram -> (best count, its ref, second best)
        for n in range(1, max_n + 1):
            top: dict[tuple, tuple[int, int, int]] = {}
            for i, r in enumerate(refs):
                for g, c in ngrams(r, n).items():
                    b, who, second = top.get(g, (0, -1, 0))
                    top[g] = (c, i, b) if c > b else (b, who, max(second, c))
            self.top.append(top)
        self.lengths = sorted(len(r) for r in refs)

    def max_count(self, n: int, gram: tuple, exclude: int = -1) -> int:
        best, who, second = self.top[n - 1].get(gram, (0, -1, 0))
        return second if who == exclude else best

    def closest_length(self, c: int, exclude_len: int | None = None) -> int:
        lengths = self.lengths
        if exclude_len is not None:
            lengths = list(lengths)
            lengths.pop(bisect.bisect_left(lengths, exclude_len))
        i = bisect.bisect_left(lengths, c)
        near = [lengths[j] for j in (i - 1, i) if 0 <= j < len(lengths)]
        return min(near, key=lambda r: (abs(r - c), r))


def sentence_bleu(hyp: list, refs: References, n: int, exclude: int = -1) -> float:
    """BLEU-n of one hypothesis against the reference set (``exclude``: the index of itself, for Self-BLEU)."""
    c = len(hyp)
    if c == 0:
        return 0.0
    logs = 0.0
    for k in range(1, n + 1):
        grams = ngrams(hyp, k)
        total = max(1, sum(grams.values()))     # an order longer than the sentence: 0 matches of 1
        match = sum(min(cnt, refs.max_count(k, g, exclude)) for g, cnt in grams.items())
        if k == 1 and match == 0:               # no word in common: 0, unsmoothed (as NLTK)
            return 0.0
        logs += math.log((match if match > 0 else EPSILON) / total) / n
    r = refs.closest_length(c, exclude_len=c if exclude >= 0 else None)
    bp = 1.0 if c > r else math.exp(1.0 - r / c)
    return bp * math.exp(logs)


def bleu(hyps: list[list], refs: list[list], n: int) -> float:
    """Mean sentence BLEU-n of ``hyps`` against the whole reference set ``refs``."""
    if not hyps or not refs:
        raise ValueError("BLEU needs at least one hypothesis and one reference")
    index = References(refs, n)
    return sum(sentence_bleu(h, index, n) for h in hyps) / len(hyps)


def self_bleu(samples: list[list], n: int) -> float:
    """Mean BLEU-n of each sample against all the others."""
    if len(samples) < 2:
        raise ValueError("Self-BLEU needs at least two samples")
    index = References(samples, n)
    return sum(sentence_bleu(s, index, n, exclude=i) for i, s in enumerate(samples)) / len(samples)


def distinct(samples: list[list], n: int) -> float:
    """Distinct n-grams over all n-grams of the samples (0 when there are none)."""
    seen, total = set(), 0
    for s in samples:
        grams = [tuple(s[i:i + n]) for i in range(len(s) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return len(seen) / total if total else 0.0


__all__ = ["bleu", "self_bleu", "distinct", "sentence_bleu", "References", "ngrams"]
