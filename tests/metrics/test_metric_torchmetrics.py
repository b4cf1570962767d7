"""Cross-check FD against torchmetrics' FrechetInceptionDistance with the same feature network."""
import pytest
import torch
from torch import nn

from ganforge.metrics import frechet_distance

FrechetInceptionDistance = pytest.importorskip("torchmetrics.image.fid").FrechetInceptionDistance


class TinyFeatures(nn.Module):
    num_features = 64  # read by torchmetrics instead of probing with a dummy image

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, 8, 8) in [0, 1] -> (N, 64)
        return self.net(x)


def test_fd_agrees_with_torchmetrics():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(600, 3, 8, 8, generator=g)
    fake = (torch.rand(500, 3, 8, 8, generator=g) * 0.8 + 0.15).clamp(0, 1)
    net = TinyFeatures().eval()
    metric = FrechetInceptionDistance(feature=net, normalize=True)
    with torch.no_grad():
        metric.update(real, real=True)
        metric.update(fake, real=False)
        theirs = float(metric.compute())
        ours = frechet_distance(net(real), net(fake))
    assert ours > 0.1
    assert ours == pytest.approx(theirs, rel=1e-6)  # torchmetrics returns float32
