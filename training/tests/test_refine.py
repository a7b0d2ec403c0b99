"""SGA / SGA+ refinement: rounding functions, relaxation, noise, schedules, refine(), fixtures."""

import json
import math
import os

import numpy as np
import pytest
import torch

from sgai_train import make_refine_fixtures as MF
from sgai_train import refine as R
from sgai_train import refine_noise as N

FIX = MF.OUT_DIR
HAVE_KODAK = os.path.exists(MF.SOURCE)
HAVE_MODEL = os.path.exists(MF.TEST_MODEL)
needs_data = pytest.mark.skipif(not (HAVE_KODAK and HAVE_MODEL), reason="Kodak or test model missing")


# --------------------------------------------------------------------------- hand formulas (float64, math module)


def hand_q2(d, method, a=2.3):
    hi = 1 - 1e-5
    if method == "sga":
        return -math.atanh(min(max(d, 1e-5), hi))
    if method == "linear":
        return math.log(1 - min(d, hi))
    if method == "cosine":
        return math.log(math.cos(math.pi * min(d, hi) / 2) ** 2 + 1e-7)
    if method == "ssl":
        dc = min(max(d, 1e-5), hi)
        return math.log(1 / (1 + (dc / (1 - dc)) ** a))
    raise ValueError(method)


def hand_q3(D, method, r_f=0.98, n=1.4, a=1.4):
    if method == "linear3":
        return math.log(max(1 - r_f * D, 1e-6) ** n)
    if method == "cosine3":
        return math.log(max(math.cos(math.pi / 2 * min(r_f * D, 1.0)), 0.0) ** n + 1e-7)
    if method == "ssl3":
        p = min(max(r_f * D / 1.5, 1e-6), 1 - 1e-6)
        s = 1 / (1 + math.exp(a * math.log(p / (1 - p))))
        return math.log(max(s, 1e-6) ** n)
    raise ValueError(method)


GRID2 = MF.D2 + [0.3, 0.6, 0.99]
GRID3 = MF.D3 + [0.1, 0.9, 1.1, 1.4]


@pytest.mark.parametrize("method,a", [("sga", None), ("linear", None), ("cosine", None), ("ssl", 2.3), ("ssl", 1.0)])
def test_log_q2_matches_hand_formula(method, a):
    kw = {"a": a} if a is not None else {}
    got = R.log_q2(torch.tensor(GRID2, dtype=torch.float64), method, **kw).numpy()
    want = [hand_q2(d, method, **kw) for d in GRID2]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # float32 stays finite on the whole closed interval, including d = 1 (clipped)
    f32 = R.log_q2(torch.tensor(GRID2, dtype=torch.float32), method, **kw)
    assert torch.isfinite(f32).all()
    np.testing.assert_allclose(f32.numpy(), want, rtol=2e-4, atol=2e-5)


def test_ssl_a1_is_linear_and_half_is_symmetric():
    d = torch.linspace(1e-5, 1 - 1e-5, 101, dtype=torch.float64)
    np.testing.assert_allclose(R.log_q2(d, "ssl", a=1.0), R.log_q2(d, "linear"), atol=1e-12)
    for m in R.TWO_CLASS:
        # Distance ½ to both neighbours: equal logits, so without noise the weights are ½, ½.
        _, _, w = R.class_weights(torch.tensor(2.5, dtype=torch.float64), 0.7, torch.zeros(2, dtype=torch.float64), m)
        np.testing.assert_allclose(w.numpy(), [0.5, 0.5], atol=1e-15)


@pytest.mark.parametrize("method", R.THREE_CLASS)
def test_log_q3_matches_hand_formula(method):
    got = R.log_q3(torch.tensor(GRID3, dtype=torch.float64), method).numpy()
    want = [hand_q3(D, method) for D in GRID3]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    f32 = R.log_q3(torch.tensor(GRID3, dtype=torch.float32), method)
    assert torch.isfinite(f32).all()  # cosine3: cos(π/2) < 0 in float32 must not give NaN
    np.testing.assert_allclose(f32.numpy(), want, rtol=2e-4, atol=2e-5)


def test_far_candidate_dead_for_linear3_cosine3_live_for_ssl3():
    D = torch.tensor([1.03, 1.5], dtype=torch.float64)
    assert torch.allclose(R.log_q3(D, "linear3"), torch.tensor(1.4 * math.log(1e-6), dtype=torch.float64))
    assert torch.allclose(R.log_q3(D, "cosine3"), torch.tensor(math.log(1e-7), dtype=torch.float64))
    assert (R.log_q3(D, "ssl3") > 1.4 * math.log(1e-6) + 1).all()


# --------------------------------------------------------------------------- relaxation


def test_relax_matches_hand_formula():
    v, tau, g = 1.3, 0.6, [0.2, -0.5]
    for m in R.TWO_CLASS:
        lf, lc = hand_q2(0.3, m) / tau, hand_q2(0.7, m) / tau
        ef, ec = math.exp((lf + g[0]) / tau), math.exp((lc + g[1]) / tau)
        want = (ef * 1 + ec * 2) / (ef + ec)
        got = R.relax(torch.tensor(v, dtype=torch.float64), tau, torch.tensor(g, dtype=torch.float64), m)
        assert abs(float(got) - want) < 1e-12, m
    v, g3 = -0.6, [0.3, -0.1, 0.4]  # round(-0.6) = -1: candidates -2, -1, 0
    for m in R.THREE_CLASS:
        ks = [-2, -1, 0]
        e = [math.exp((hand_q3(abs(v - k), m) / tau + gk) / tau) for k, gk in zip(ks, g3)]
        want = sum(ek * k for ek, k in zip(e, ks)) / sum(e)
        got = R.relax(torch.tensor(v, dtype=torch.float64), tau, torch.tensor(g3, dtype=torch.float64), m)
        assert abs(float(got) - want) < 1e-12, m


@pytest.mark.parametrize("method", R.METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weights_sum_to_one(method, dtype):
    gen = torch.Generator().manual_seed(3)
    v = (torch.randn(500, generator=gen) * 4).to(dtype)
    v[:20] = torch.arange(-10, 10).to(dtype)  # integers
    v[20:40] = torch.arange(-10, 10).to(dtype) + 0.5  # half-integers
    K = R.classes_of(method)
    for tau in (1.0, 0.37, 0.05):
        g = N.gumbel_for(1, 0, 0, (1, 1, 1, 500), K)[0, 0, 0].to(dtype)
        k, d, w = R.class_weights(v, tau, g, method)
        assert torch.isfinite(w).all()
        assert torch.allclose(w.sum(-1), torch.ones_like(v), atol=1e-6 if dtype == torch.float32 else 1e-12)
        out = R.relax(v, tau, g, method)
        assert torch.allclose(out, (w * k).sum(-1), atol=1e-5)
        assert ((out >= k.min(-1).values - 1e-5) & (out <= k.max(-1).values + 1e-5)).all()


def test_three_class_rounds_half_to_even():
    k, _, _ = R.class_weights(torch.tensor([2.5, -2.5, 3.5, 0.5]), 1.0, torch.zeros(4, 3), "ssl3")
    assert k[:, 1].tolist() == [2.0, -2.0, 4.0, 0.0]


@pytest.mark.parametrize("method", R.METHODS)
def test_integer_inputs_give_v_and_finite_gradients(method):
    K = R.classes_of(method)
    v = torch.tensor([-3.0, -1.0, 0.0, 2.0, 7.0, 0.5, -1.5, 1e-7, -1e-7, 0.9999999], requires_grad=True)
    for tau in (1.0, 0.2, 1e-3):
        g = N.gumbel_for(5, 0, 3, (1, 1, 1, v.numel()), K)[0, 0, 0]
        out = R.relax(v, tau, g, method)
        (grad,) = torch.autograd.grad(out.sum(), v)
        assert torch.isfinite(out).all() and torch.isfinite(grad).all(), (method, tau)
        if K == 2:  # floor == ceil: output is v (up to the rounding of w_f + w_c)
            assert torch.allclose(out[:5], v[:5].detach(), rtol=1e-6, atol=0)


def test_relax_gradient_flows_through_weights():
    v = torch.tensor([0.3, 1.7, -0.4], requires_grad=True)
    out = R.relax(v, 0.5, torch.zeros(3, 2), "ssl")
    (grad,) = torch.autograd.grad(out.sum(), v)
    assert (grad > 0).all()  # moving v up moves the soft rounding up


# --------------------------------------------------------------------------- noise


def test_noise_numpy_equals_torch():
    for seed, stream, t in [(0, 0, 0), (1, 1, 5), (2**32 - 1, 0, 10**6), (123456789, 1, 1999)]:
        a = N.gumbel_np(seed, stream, t, 200_000)
        b = N.gumbel_torch(seed, stream, t, 200_000).numpy()
        assert np.array_equal(a, b)
    # large counters (mod 2^32) too
    assert np.array_equal(N.gumbel_np(1, 0, 0, 8, 2**32 - 4)[:4], N.gumbel_np(1, 0, 0, 4, 2**32 - 4))


def test_noise_statistics_and_independence():
    g = N.gumbel_np(1, 0, 0, 400_000).astype(np.float64)
    assert abs(g.mean() - 0.5772157) < 0.01 and abs(g.std() - math.pi / math.sqrt(6)) < 0.01
    assert not np.array_equal(N.gumbel_np(1, 0, 0, 64), N.gumbel_np(1, 1, 0, 64))
    assert not np.array_equal(N.gumbel_np(1, 0, 0, 64), N.gumbel_np(1, 0, 1, 64))
    assert not np.array_equal(N.gumbel_np(1, 0, 0, 64), N.gumbel_np(2, 0, 0, 64))
    assert abs(np.corrcoef(g[:-1], g[1:])[0, 1]) < 0.01


def test_noise_golden_values():
    with open(os.path.join(FIX, "noise.json")) as f:
        ref = json.load(f)
    for e in ref["fmix32_examples"]:
        assert N.fmix32_int(e["in"]) == e["out"]
    for c in ref["cases"]:
        g = N.gumbel_np(c["seed"], c["stream"], c["t"], len(c["g"]), c["start"])
        assert N.key(c["seed"], c["stream"], c["t"]) == c["key"]
        assert g.tolist() == c["g"]  # exact float32 values
    # fixed reference values (independent of the JSON file)
    assert N.fmix32_int(1) == 0x514E28B7
    np.testing.assert_array_equal(N.gumbel_np(1, 0, 0, 2), np.array(ref["cases"][0]["g"][:2], dtype=np.float32))


def test_noise_layout_hwc():
    C, H, W, K = 3, 2, 4, 2
    g = N.gumbel_for(9, 1, 4, (1, C, H, W), K)[0]  # [C, H, W, K]
    flat = N.gumbel_np(9, 1, 4, C * H * W * K)
    for c in range(C):
        for h in range(H):
            for w in range(W):
                for k in range(K):
                    assert float(g[c, h, w, k]) == float(flat[((h * W + w) * C + c) * K + k])


# --------------------------------------------------------------------------- schedules


def test_schedules():
    assert [round(R.tau_sgaplus(t), 4) for t in (0, 500, 1000, 2000)] == [1.0, 0.6065, 0.3679, 0.1353]
    assert R.tau_sgaplus(0, tau_max=0.5) == 0.5 and R.tau_sgaplus(100, r=1e-2) == math.exp(-1.0)
    assert R.tau_sga(0) == 0.5 and R.tau_sga(700) == 0.5
    assert abs(R.tau_sga(1700) - 0.5 * math.exp(-1)) < 1e-15 and R.tau_sga(10**6) == 1e-8
    assert R.schedule_for("sga")(800) == R.tau_sga(800)
    assert R.schedule_for("ssl")(800) == R.tau_sgaplus(800)
    assert R.schedule_for("sga", "sgaplus")(0) == 1.0
    assert R.schedule_for("linear", tau_max=0.3, tau_r=2e-3)(100) == 0.3


# --------------------------------------------------------------------------- refine()


@pytest.fixture(scope="module")
def model():
    if not HAVE_MODEL:
        pytest.skip("test model missing")
    return R.load_model(MF.TEST_MODEL)


@pytest.fixture(scope="module")
def x64():
    if not HAVE_KODAK:
        pytest.skip("Kodak missing")
    return R.image_tensor(os.path.join(os.path.dirname(MF.SOURCE), "kodim05.png"), 64, top=200, left=300)


def test_refine_is_deterministic_and_seed_dependent(model, x64):
    a = R.refine(model, x64, 0.0067, "ssl", iters=8, seed=3, eval_every=4)
    b = R.refine(model, x64, 0.0067, "ssl", iters=8, seed=3, eval_every=4)
    c = R.refine(model, x64, 0.0067, "ssl", iters=8, seed=4, eval_every=4)
    assert a["history"] == b["history"] and a["true_history"] == b["true_history"]
    assert torch.equal(a["y"], b["y"]) and torch.equal(a["z"], b["z"])
    assert a["history"] != c["history"]
    assert [e.t for e in a["true_history"]] == [0, 4, 8]
    assert all(p.requires_grad for p in model.network_parameters())  # restored


@pytest.mark.parametrize("method", ["ssl", "ssl3", "sga"])
def test_refine_lowers_true_loss_and_best_is_never_worse(model, x64, method):
    res = R.refine(model, x64, 0.0067, method, iters=30, seed=0, eval_every=10)
    th = res["true_history"]
    assert [e.t for e in th] == [0, 10, 20, 30]
    initial = th[0].loss
    assert res["best_loss"] <= initial
    assert res["best_loss"] == min(e.loss for e in th)
    best = R.hard_eval(model, x64, res["best_y"], res["best_z"], 0.0067)
    assert abs(best["loss"] - res["best_loss"]) < 1e-9
    if res["best_t"] == 0:
        y0, z0 = R._initial(model, x64)
        assert torch.equal(res["best_y"], y0) and torch.equal(res["best_z"], z0)
    if method == "ssl":
        assert res["best_loss"] < initial and th[-1].loss < initial
    assert len(res["history"]) == 30 and all(math.isfinite(s.loss) for s in res["history"])


def test_time_budget_and_zero_iters(model, x64):
    res = R.refine(model, x64, 0.0067, "linear", iters=100, time_budget=0.0)
    assert res["iters"] == 0 and res["history"] == [] and res["best_t"] == 0
    assert [e.t for e in res["true_history"]] == [0]


def test_rejects_bad_sizes(model):
    with pytest.raises(ValueError):
        R.refine(model, torch.zeros(1, 3, 64, 96), 0.0067, iters=1)
    with pytest.raises(ValueError):
        R.refine(model, torch.zeros(1, 3, 64, 64), 0.0067, method="nope", iters=1)


def test_cli_smoke(capsys):
    if not (HAVE_KODAK and HAVE_MODEL):
        pytest.skip("data missing")
    R.main(["--weights", MF.TEST_MODEL, "--image", MF.SOURCE, "--crop", "64", "--iters", "3", "--method", "cosine3"])
    out = capsys.readouterr().out
    assert "before" in out and "best" in out and "λ 0.0067" in out


# --------------------------------------------------------------------------- fixtures


def test_probabilities_fixture_is_consistent():
    with open(os.path.join(FIX, "probabilities.json")) as f:
        ref = json.load(f)
    for v in ref["two_class"]["variants"]:
        want = [hand_q2(d, v["method"], **v["params"]) for d in ref["two_class"]["d"]]
        np.testing.assert_allclose(v["log_q"], want, rtol=1e-12, atol=1e-12)
    for v in ref["three_class"]["variants"]:
        want = [hand_q3(D, v["method"], **v["params"]) for D in ref["three_class"]["D"]]
        np.testing.assert_allclose(v["log_q"], want, rtol=1e-12, atol=1e-12)
    for e in ref["weights"]:
        assert abs(sum(e["w"]) - 1) < 1e-12
        assert abs(sum(w * k for w, k in zip(e["w"], e["candidates"])) - e["value"]) < 1e-12


@needs_data
def test_trajectory_fixture_matches_refine(model):
    """refine() (the public loop) reproduces the fixture's SSL run (written by its own loop)."""
    with open(os.path.join(FIX, "trajectory.json")) as f:
        ref = json.load(f)
    x = torch.from_numpy(MF.crop_x()).permute(2, 0, 1)[None].contiguous()
    run = ref["runs"]["ssl"]
    res = R.refine(model, x, ref["lambda"], "ssl", iters=ref["iters"], seed=ref["seed"], a=run["params"]["a"],
                   eval_every=ref["iters"])
    np.testing.assert_allclose([s.loss for s in res["history"]], run["loss"], rtol=1e-6)
    np.testing.assert_allclose(res["history_mse"], run["mse"], rtol=1e-5)
    np.testing.assert_allclose([e.loss for e in res["true_history"]], [e["loss"] for e in run["true"]], rtol=1e-6)


@needs_data
def test_fixtures_regenerate_identically():
    errors = MF.check()
    assert not errors, "\n".join(errors[:20])
