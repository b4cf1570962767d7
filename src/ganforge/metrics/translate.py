"""Figures of image translations. Images come in [-1, 1] and are measured on [0, 1] (data range 1).

Against a ground truth (paired data), per image, then averaged over images:
- ``l1``: mean |output - target| over pixels and channels.
- ``psnr``: 10 log10(1 / MSE) in dB; an exact image counts as 100 dB (MSE floored at 1e-10).
- ``ssim``: the structural similarity of Wang, Bovik, Sheikh & Simoncelli 2004 (IEEE TIP 13(4)), written here from
  the paper's formula: local means, variances and covariance under an 11x11 Gaussian window of sigma 1.5 (normalised),
  SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)), C1 = (0.01 L)^2,
  C2 = (0.03 L)^2, L = 1; averaged over the positions where the window lies wholly inside the image and over the
  channels. tests/recipes/test_translate.py checks it against torchmetrics' implementation.

In a feature space (digits: the shipped ``lenet-mnist`` network):
- ``fd``: the Frechet distance of outputs to real images of the target domain, beside ``fd_floor`` between two
  disjoint halves of those real images at the same size (metrics/registry.py's protocol).
- label accuracy: the share of outputs the shipped MNIST classifier reads as the label of their source.

The ``translation`` extractor is the default feature space of translation data (kinds image-pair and image-unpaired):
``lenet-mnist`` for the built digit sets, ``random-conv`` for any other images.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import DataError
from .extractors import ExtractorSpec, RandomConvExtractor, load_classifier, register_extractor
from .fd import frechet_distance

WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03


def _unit(x: Tensor) -> Tensor:
    return (x.detach().float().cpu().clamp(-1, 1) + 1) / 2


def _check(out: Tensor, target: Tensor) -> None:
    if out.shape != target.shape or out.ndim != 4:
        raise DataError(f"translations and targets must be images of one shape (N, C, H, W), got "
                        f"{tuple(out.shape)} and {tuple(target.shape)}")


def l1_per_image(out: Tensor, target: Tensor) -> Tensor:
    _check(out, target)
    return (_unit(out) - _unit(target)).abs().mean((1, 2, 3))


def psnr_per_image(out: Tensor, target: Tensor) -> Tensor:
    _check(out, target)
    mse = (_unit(out) - _unit(target)).square().mean((1, 2, 3)).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-t.square() / (2 * sigma ** 2))
    g = g / g.sum()
    return g[:, None] * g[None, :]                                     # (size, size), sums to 1


def ssim_per_image(out: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """(N,) mean SSIM of each image pair (images given in [-1, 1], measured on [0, 1])."""
    _check(out, target)
    x, y = _unit(out).double(), _unit(target).double()
    n, c, h, w = x.shape
    if min(h, w) < WINDOW:
        raise DataError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {w}x{h}")
    win = gaussian_window().to(x).expand(c, 1, WINDOW, WINDOW)
    blur = lambda t: F.conv2d(t, win, groups=c)  # noqa: E731  (valid positions only)
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean((1, 2, 3)).float()


def paired_scores(out: Tensor, target: Tensor) -> dict[str, float]:
    return {"l1": float(l1_per_image(out, target).mean()), "psnr": float(psnr_per_image(out, target).mean()),
            "ssim": float(ssim_per_image(out, target).mean())}


def fd_with_floor(real_feats: Tensor, fake_feats: Tensor, seed: int = 0) -> dict[str, float]:
    """FD(real half A, fake) and the floor FD(A, real half B), at n = min(N_fake, N_real // 2) each."""
    n = min(len(fake_feats), len(real_feats) // 2)
    if n < 2:
        raise DataError(f"FD needs at least 2 samples a side, got {len(fake_feats)} generated and "
                        f"{len(real_feats)} real")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(real_feats), generator=g)
    a, b = real_feats[perm[:n]], real_feats[perm[n:2 * n]]
    fake = fake_feats[torch.randperm(len(fake_feats), generator=g)[:n]]
    return {"fd": frechet_distance(a.numpy(), fake.numpy()), "fd_floor": frechet_distance(a.numpy(), b.numpy()),
            "n_fd": n}


@torch.no_grad()
def label_accuracy(classifier, images: Tensor, labels: Tensor, batch: int = 500) -> float:
    """Share of ``images`` the classifier (an extractor with ``logits``) reads as ``labels``."""
    pred = torch.cat([classifier.logits(images[i:i + batch].float()).argmax(1).cpu()
                      for i in range(0, len(images), batch)])
    return float((pred == labels.cpu()).float().mean())


TRANSLATION_KINDS = ("image-pair", "image-unpaired")


def target_extractor(digits: bool = False):
    return load_classifier("lenet-mnist") if digits else RandomConvExtractor()


register_extractor("translation", ExtractorSpec(
    target_extractor, ("digits",), default_for=lambda info: 10 if info.get("kind") in TRANSLATION_KINDS else None,
    configure=lambda info: {"digits": bool(info.get("digits"))}))

__all__ = ["target_extractor", "TRANSLATION_KINDS", "l1_per_image", "psnr_per_image", "ssim_per_image",
           "gaussian_window", "paired_scores", "fd_with_floor", "label_accuracy"]
