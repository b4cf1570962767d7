"""Classifier-based scores with a domain classifier instead of Inception.

- Inception-Score analogue (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) from the domain
  classifier's softmax; the real data's own score is its reference.
- GAN-test (Shmelkov et al. 2018): accuracy of a classifier trained on real data on the samples of
  a class-conditional generator, against the labels they were drawn for (sample quality).
- GAN-train (Shmelkov et al. 2018): accuracy on real data of a classifier trained on generated
  samples (diversity: a generator that drops modes trains a poor classifier). The classifier here is
  multinomial logistic regression on the extractor's features.
"""
from __future__ import annotations

import numpy as np
import torch

from .knn import MetricInputError


def inception_score(logits: torch.Tensor, splits: int = 1) -> dict[str, float]:
    """(N, K) class logits -> {"is": mean over splits, "is_std": std over splits}."""
    if logits.ndim != 2 or logits.shape[0] < splits or splits < 1:
        raise MetricInputError(f"inception_score needs (N, K) logits with N >= splits, got {tuple(logits.shape)}")
    p = torch.softmax(logits.double(), 1)
    scores = []
    for part in torch.chunk(p, splits):
        marginal = part.mean(0, keepdim=True)
        kl = (part * (torch.log(part + 1e-12) - torch.log(marginal + 1e-12))).sum(1).mean()
        scores.append(float(torch.exp(kl)))
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores))}


def gan_test(logits_fake: torch.Tensor, labels_fake: torch.Tensor) -> float:
    """Share of conditional samples the real-data classifier assigns to the class they were drawn for."""
    if logits_fake.shape[0] != labels_fake.shape[0] or logits_fake.shape[0] == 0:
        raise MetricInputError("gan_test needs one label per generated sample")
    return float((logits_fake.argmax(1).cpu() == labels_fake.cpu()).float().mean())


def gan_train(feats_fake, labels_fake, feats_real, labels_real, seed: int = 0) -> float:
    """Accuracy on real data of a logistic regression fitted on generated samples' features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    xf, yf = np.asarray(feats_fake, np.float64), np.asarray(labels_fake)
    xr, yr = np.asarray(feats_real, np.float64), np.asarray(labels_real)
    if len(np.unique(yf)) < 2:
        raise MetricInputError("gan_train needs generated samples of at least two classes")
    scale = StandardScaler().fit(xf)
    clf = LogisticRegression(max_iter=500, random_state=seed).fit(scale.transform(xf), yf)
    return float((clf.predict(scale.transform(xr)) == yr).mean())
