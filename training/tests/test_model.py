"""Model pieces against hand-computed values and CompressAI's layout."""

import math

import pytest
import torch

from sgai_train.model import GDN, EntropyBottleneck, GaussianConditional, MeanScaleHyperprior, _LowerBoundFn

EPS = 2.0**-18


def test_gdn_reparam_initial_values():
    g = GDN(4)
    # Stored p = sqrt(v + eps^2): beta 1 -> sqrt(1 + eps^2), gamma 0.1 I -> sqrt(0.1 + eps^2), off-diagonal eps.
    assert torch.allclose(g.beta.data, torch.full((4,), math.sqrt(1 + EPS**2)), atol=0, rtol=1e-7)
    assert g.gamma.data[0, 0].item() == pytest.approx(math.sqrt(0.1 + EPS**2), rel=1e-7)
    assert g.gamma.data[0, 1].item() == pytest.approx(EPS, rel=1e-6)
    beta, gamma = g.effective()
    assert torch.allclose(beta, torch.ones(4), atol=1e-6)
    assert torch.allclose(gamma, 0.1 * torch.eye(4), atol=1e-6)
    # Bounds: beta floor sqrt(1e-6 + eps^2), gamma floor eps.
    assert g.beta_reparam.lower_bound.bound.item() == pytest.approx(math.sqrt(1e-6 + EPS**2), rel=1e-6)
    assert g.gamma_reparam.lower_bound.bound.item() == pytest.approx(EPS, rel=1e-6)


def test_gdn_reparam_floor_applies():
    g = GDN(2)
    g.beta.data.fill_(-3.0)  # below the floor: effective beta = 1e-6
    beta, _ = g.effective()
    assert torch.allclose(beta, torch.full((2,), 1e-6), rtol=1e-4)


def test_gdn_and_igdn_formula():
    torch.manual_seed(0)
    g, ig = GDN(3), GDN(3, inverse=True)
    with torch.no_grad():
        v_beta = torch.tensor([0.5, 1.0, 2.0])
        v_gamma = torch.tensor([[0.1, 0.2, 0.0], [0.0, 0.3, 0.1], [0.05, 0.0, 0.2]])
        for m in (g, ig):
            m.beta.copy_(m.beta_reparam.init(v_beta))
            m.gamma.copy_(m.gamma_reparam.init(v_gamma))
    x = torch.randn(1, 3, 2, 2)
    norm = v_beta.view(1, 3, 1, 1) + torch.einsum("ij,bjhw->bihw", v_gamma, x * x)
    assert torch.allclose(g(x), x / torch.sqrt(norm), atol=1e-5)
    assert torch.allclose(ig(x), x * torch.sqrt(norm), atol=1e-5)


def test_lower_bound_gradient_rule():
    bound = torch.tensor([1.0])
    x = torch.tensor([0.5, 0.5, 2.0, 2.0], requires_grad=True)
    y = _LowerBoundFn.apply(x, bound)
    assert y.tolist() == [1.0, 1.0, 2.0, 2.0]
    # grad < 0 passes below the bound (it would raise x), grad > 0 is blocked there; above it all passes.
    y.backward(torch.tensor([-1.0, 1.0, -1.0, 1.0]))
    assert x.grad.tolist() == [-1.0, 0.0, -1.0, 1.0]


def phi(u):
    return 0.5 * math.erfc(-u / math.sqrt(2))


def test_gaussian_likelihood_hand_values():
    gc = GaussianConditional()
    y_hat = torch.tensor([0.3, 2.0, -1.0, 5.0, 40.0])
    means = torch.tensor([0.3, 0.5, 0.0, 5.0, 0.0])
    scales = torch.tensor([1.0, 2.0, 0.05, -3.0, 1.0])  # 0.05 and -3 get floored to 0.11
    got = gc.likelihood(y_hat, scales, means)
    expect = []
    for yh, m, s in zip(y_hat.tolist(), means.tolist(), scales.tolist()):
        s = max(s, 0.11)
        v = abs(yh - m)
        expect.append(max(phi((0.5 - v) / s) - phi((-0.5 - v) / s), 1e-9))
    assert torch.allclose(got.double(), torch.tensor(expect, dtype=torch.float64), rtol=1e-5, atol=1e-12)
    assert got[-1].item() == pytest.approx(1e-9)  # far tail: floored


def _cdf_logit(eb, v, c):
    """c(v) for channel c by hand, following section 2.3."""
    h = torch.tensor([[v]], dtype=torch.float64)
    for i in range(5):
        m = torch.nn.functional.softplus(getattr(eb, f"_matrix{i}")[c].double())
        h = m @ h + getattr(eb, f"_bias{i}")[c].double()
        if i < 4:
            h = h + torch.tanh(getattr(eb, f"_factor{i}")[c].double()) * torch.tanh(h)
    return h.item()


def test_factorized_likelihood_hand_values():
    torch.manual_seed(3)
    eb = EntropyBottleneck(2)
    with torch.no_grad():
        for p in eb.parameters():
            p.add_(0.3 * torch.randn_like(p))
    z = torch.tensor([[[[0.0, 1.0]], [[-2.0, 0.25]]]])  # [1, 2, 1, 2]
    got = eb.likelihood(z)
    for c in range(2):
        for j in range(2):
            v = z[0, c, 0, j].item()
            sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
            p = sig(_cdf_logit(eb, v + 0.5, c)) - sig(_cdf_logit(eb, v - 0.5, c))
            assert got[0, c, 0, j].item() == pytest.approx(max(p, 1e-9), rel=1e-4)


def test_factorized_pmf_sums_to_one_after_quantile_update():
    torch.manual_seed(0)
    eb = EntropyBottleneck(3)
    eb.update_quantiles()
    for c in range(3):
        lo, med, hi = eb.quantiles[c, 0].tolist()
        assert lo < med < hi
        v = torch.arange(math.floor(lo) - 2, math.ceil(hi) + 3, dtype=torch.float32).reshape(1, 1, -1)
        pmf = eb.likelihood_cv(v.expand(3, 1, -1).contiguous())[c]
        assert pmf.sum().item() == pytest.approx(1.0, abs=1e-4)
    # At the refined quantiles the aux loss is ~0.
    assert eb.loss().item() < 1e-2


def test_aux_loss_only_trains_quantiles():
    eb = EntropyBottleneck(2)
    eb.loss().backward()
    assert eb.quantiles.grad is not None and eb.quantiles.grad.abs().sum() > 0
    assert all(p.grad is None for n, p in eb.named_parameters() if n != "quantiles")


EXPECTED_PARAMS_N8_M12 = {
    "g_a.0.weight": (8, 3, 5, 5), "g_a.0.bias": (8,), "g_a.1.beta": (8,), "g_a.1.gamma": (8, 8),
    "g_a.6.weight": (12, 8, 5, 5), "g_s.0.weight": (12, 8, 5, 5), "g_s.0.bias": (8,),
    "g_s.5.gamma": (8, 8), "g_s.6.weight": (8, 3, 5, 5), "g_s.6.bias": (3,),
    "h_a.0.weight": (8, 12, 3, 3), "h_a.2.weight": (8, 8, 5, 5), "h_a.4.weight": (8, 8, 5, 5),
    "h_s.0.weight": (8, 12, 5, 5), "h_s.2.weight": (12, 18, 5, 5), "h_s.4.weight": (24, 18, 3, 3),
    "h_s.4.bias": (24,), "entropy_bottleneck._matrix0": (8, 3, 1), "entropy_bottleneck._matrix4": (8, 1, 3),
    "entropy_bottleneck._bias4": (8, 1, 1), "entropy_bottleneck._factor3": (8, 3, 1),
    "entropy_bottleneck.quantiles": (8, 1, 3),
}


def test_state_dict_names_match_compressai():
    m = MeanScaleHyperprior(8, 12)
    sd = m.state_dict()
    for k, shape in EXPECTED_PARAMS_N8_M12.items():
        assert tuple(sd[k].shape) == shape, k
    params = {k for k, _ in m.named_parameters()}
    expected = set()
    for net, convs in (("g_a", (0, 2, 4, 6)), ("g_s", (0, 2, 4, 6)), ("h_a", (0, 2, 4)), ("h_s", (0, 2, 4))):
        expected |= {f"{net}.{i}.{w}" for i in convs for w in ("weight", "bias")}
    expected |= {f"{net}.{i}.{w}" for net in ("g_a", "g_s") for i in (1, 3, 5) for w in ("beta", "gamma")}
    expected |= {f"entropy_bottleneck._matrix{i}" for i in range(5)}
    expected |= {f"entropy_bottleneck._bias{i}" for i in range(5)}
    expected |= {f"entropy_bottleneck._factor{i}" for i in range(4)}
    expected.add("entropy_bottleneck.quantiles")
    assert params == expected
    # Full key set = parameters + CompressAI's buffers, nothing else.
    buffers = {f"{net}.{i}.{r}_reparam.{b}" for net in ("g_a", "g_s") for i in (1, 3, 5) for r in ("beta", "gamma")
               for b in ("pedestal", "lower_bound.bound")}
    buffers |= {f"entropy_bottleneck.{b}" for b in ("target", "_offset", "_quantized_cdf", "_cdf_length",
                                                    "likelihood_lower_bound.bound")}
    buffers |= {f"gaussian_conditional.{b}" for b in ("scale_table", "scale_bound", "_offset", "_quantized_cdf",
                                                      "_cdf_length", "lower_bound_scale.bound",
                                                      "likelihood_lower_bound.bound")}
    assert set(sd) == expected | buffers
    # CompressAI's buffers exist too (for strict loads in both directions).
    for k in ("entropy_bottleneck._offset", "entropy_bottleneck._quantized_cdf", "entropy_bottleneck._cdf_length",
              "entropy_bottleneck.likelihood_lower_bound.bound", "gaussian_conditional.scale_table",
              "gaussian_conditional.scale_bound", "gaussian_conditional._offset",
              "gaussian_conditional._quantized_cdf", "gaussian_conditional._cdf_length",
              "gaussian_conditional.lower_bound_scale.bound", "gaussian_conditional.likelihood_lower_bound.bound",
              "g_a.1.beta_reparam.pedestal", "g_a.1.beta_reparam.lower_bound.bound",
              "g_s.5.gamma_reparam.lower_bound.bound", "entropy_bottleneck.target"):
        assert k in sd, k


def test_load_tolerates_filled_coder_buffers_and_target():
    src = MeanScaleHyperprior(8, 12)
    sd = src.state_dict()
    # What a CompressAI checkpoint after update() looks like.
    sd["entropy_bottleneck._quantized_cdf"] = torch.zeros(8, 40, dtype=torch.int32)
    sd["entropy_bottleneck._offset"] = torch.zeros(8, dtype=torch.int32)
    sd["entropy_bottleneck._cdf_length"] = torch.zeros(8, dtype=torch.int32)
    del sd["entropy_bottleneck.target"]  # some state_dicts lack it
    sd["gaussian_conditional.scale_table"] = torch.linspace(0.11, 256, 64)
    sd["gaussian_conditional._quantized_cdf"] = torch.zeros(64, 100, dtype=torch.int32)
    dst = MeanScaleHyperprior(8, 12)
    dst.load_state_dict(sd)  # strict
    assert dst.gaussian_conditional.scale_table.shape == (64,)
    assert torch.equal(dst.g_a[0].weight, src.g_a[0].weight)


def test_shapes_and_modes():
    torch.manual_seed(0)
    m = MeanScaleHyperprior(8, 12).eval()
    x = torch.rand(1, 3, 64, 128)
    out = m(x)
    assert out["y"].shape == (1, 12, 4, 8) and out["z"].shape == (1, 8, 1, 2)
    assert out["x_hat"].shape == x.shape and out["scales"].shape == out["means"].shape == (1, 12, 4, 8)
    # Eval: mean-shifted rounding of y, median-shifted rounding of z.
    r = out["y_hat"] - out["means"]
    assert torch.allclose(r, torch.round(r), atol=1e-5)
    med = m.entropy_bottleneck.medians().reshape(1, -1, 1, 1)
    assert torch.allclose(out["z_hat"] - med, torch.round(out["z_hat"] - med), atol=1e-5)
    # Training: additive noise in [-0.5, 0.5], no mean shift.
    tr = m(x, training=True)
    d = tr["y_hat"] - tr["y"]
    assert d.abs().max() <= 0.5 and d.abs().max() > 0.05
