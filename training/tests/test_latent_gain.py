import os

import torch

from sgai_train.latent_gain import apply_latent_gain, best_latent_gain
from sgai_train.model import MeanScaleHyperprior
from sgai_train.train import load_checkpoint, train


def _model(seed=0):
    torch.manual_seed(seed)
    return MeanScaleHyperprior(8, 12).eval()


def test_gain_scales_latents_and_their_entropy_parameters_but_not_the_unquantised_path():
    a, b = _model(), _model()
    apply_latent_gain(b, 2.5)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ya, yb = a.g_a(x), b.g_a(x)
        assert torch.allclose(yb, 2.5 * ya, atol=1e-5)
        assert torch.allclose(a.g_s(ya), b.g_s(yb), atol=1e-5)  # without rounding, nothing changes
        assert torch.allclose(a.h_a(ya), b.h_a(yb), atol=1e-5)  # z (and its cost) unchanged
        z = a.h_a(ya)
        sa, ma = a.hyper_params(z)
        sb, mb = b.hyper_params(z)
        assert torch.allclose(sb, 2.5 * sa, atol=1e-5) and torch.allclose(mb, 2.5 * ma, atol=1e-5)
    apply_latent_gain(b, 1 / 2.5)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k


def test_search_follows_lambda_and_leaves_the_model_alone():
    m = _model(1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    xs = [torch.rand(2, 3, 64, 64) for _ in range(2)]
    lo, tried_lo = best_latent_gain(m, xs, 1e-5)
    hi, tried_hi = best_latent_gain(m, xs, 10.0)
    assert lo <= hi and lo < 1.0 < hi  # almost rate-only loss: coarser; distortion-only: finer
    assert len(tried_lo) == len(tried_hi) > 5
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_fine_tune_with_auto_gain_records_it(tmp_path):
    common = ["--n", "8", "--m", "12", "--crop", "64", "--batch", "2", "--data-limit", "4", "--device", "cpu"]
    base = str(tmp_path / "base")
    train(["--steps", "2", "--lmbda", "0.0067", "--run", base] + common)
    ft = str(tmp_path / "ft")
    train(["--steps", "1", "--lmbda", "0.0932", "--init-from", os.path.join(base, "last.pt"),
           "--latent-gain", "auto", "--run", ft] + common)
    gain = load_checkpoint(os.path.join(ft, "last.pt"))["args"]["latent_gain_applied"]
    assert isinstance(gain, float) and gain > 0
