import math

import torch

from sgai_train.model import MeanScaleHyperprior
from sgai_train.widen import widen


def _bits(lik):
    return float(-torch.log2(lik).sum())


def _trained_like(n, m, seed=0):
    # A default-initialised model has near-identity GDNs and flat densities;
    # perturb everything so that the test exercises real copies.
    torch.manual_seed(seed)
    model = MeanScaleHyperprior(n, m)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("quantiles"):
                continue
            p.add_(0.05 * torch.randn_like(p) * (p.abs().mean() + 1e-3))
    model.entropy_bottleneck.update_quantiles()
    return model.eval()


def test_widened_model_reconstructs_exactly_like_the_narrow_one():
    small = _trained_like(16, 24)
    big = widen(small, 32, 48, seed=3).eval()
    torch.manual_seed(1)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = small(x), big(x)
    assert big.N == 32 and big.M == 48
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-6)
    # Old latent channels and their entropy parameters are unchanged.
    assert torch.allclose(a["y"], b["y"][:, :24], atol=1e-6)
    assert torch.allclose(a["scales"], b["scales"][:, :24], atol=1e-6)
    assert torch.allclose(a["means"], b["means"][:, :24], atol=1e-6)
    # New channels are silent: y rounds to 0 at the minimum scale, z to the peak of its density.
    assert torch.all(b["y_hat"][:, 24:] == 0)
    assert torch.allclose(b["scales"][:, 24:], torch.full_like(b["scales"][:, 24:], 0.11))
    # y: the new channels cost (almost) nothing; z: old channels unchanged, each new
    # one costs what the most peaked old density charges for its median.
    y_old, y_new = _bits(a["likelihoods"]["y"]), _bits(b["likelihoods"]["y"])
    n_new = b["y"][:, 24:].numel()
    assert -1e-4 <= y_new - y_old <= 1e-5 * n_new, (y_old, y_new)  # 0 at scale 0.11: 8e-6 bits
    z_lik = b["likelihoods"]["z"]
    assert torch.allclose(a["likelihoods"]["z"], z_lik[:, :16], rtol=1e-5)
    p_peak = float(z_lik[:, :16].max())
    assert torch.all(z_lik[:, 16:] >= p_peak * (1 - 1e-4))

def test_widened_model_trains_its_new_channels():
    small = _trained_like(8, 12)
    big = widen(small, 16, 24).train()
    x = torch.rand(2, 3, 64, 64)
    out = big(x)
    (255.0 ** 2 * 0.01 * torch.mean((out["x_hat"] - x) ** 2)).backward()
    # Weights from new y channels into g_s start at zero but receive gradient.
    g = big.g_s[0].weight.grad  # [in=M, out=N, k, k]
    assert float(g[12:, :8].abs().sum()) > 0
    assert math.isfinite(float(g.abs().sum()))


def test_refuses_to_shrink():
    small = MeanScaleHyperprior(16, 24)
    try:
        widen(small, 8, 24)
    except ValueError as e:
        assert "smaller" in str(e)
    else:
        raise AssertionError("expected ValueError")
