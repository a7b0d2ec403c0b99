"""Checks of the SGA+ results experiment: snapshot logic, BD computation, batched refinement."""

import math
import os

import pytest
import torch

from sgai_train import refine as R
from sgai_train import sgaplus_experiment as E
from sgai_train.make_test_model import OUT as TEST_MODEL


def _hist(losses, every=10):
    return [{"t": i * every, "loss": l, "bpp": 0.1 + i, "psnr8": 20.0 + i} for i, l in enumerate(losses)]


def test_snapshot_is_best_among_evaluations_up_to_budget():
    losses = [5.0, 4.0, 4.5, 3.0, 3.5, 2.0, 2.0, 2.5]  # t = 0, 10, ..., 70
    h = _hist(losses)
    for budget in range(0, 80):
        want = min((e for e in h if e["t"] <= budget), key=lambda e: (e["loss"], e["t"]))
        assert E.snapshot(h, budget) is want
    assert E.snapshot(h, 25)["t"] == 10
    assert E.snapshot(h, 30)["t"] == 30
    assert E.snapshot(h, 1000)["t"] == 50  # earliest of the tied minima
    # an unrefined start that is never beaten stays the answer
    assert E.snapshot(_hist([1.0, 2.0, 3.0]), 20)["t"] == 0
    with pytest.raises(ValueError):
        E.snapshot([{"t": 10, "loss": 1.0}], 5)


ANCHOR = [(0.1, 26.0), (0.2, 28.5), (0.4, 31.0), (0.8, 33.2)]


def test_bd_identical_curves_is_zero():
    assert abs(E.bd_rate(ANCHOR, ANCHOR)) < 1e-12
    assert abs(E.bd_psnr(ANCHOR, ANCHOR)) < 1e-12


def test_bd_rate_of_scaled_rates():
    test = [(0.9 * r, p) for r, p in ANCHOR]
    assert E.bd_rate(ANCHOR, test) == pytest.approx(-10.0, abs=1e-9)
    assert E.bd_psnr(ANCHOR, test) > 0  # less rate at equal PSNR = more PSNR at equal rate
    shifted = [(r, p + 0.5) for r, p in ANCHOR]
    assert E.bd_psnr(ANCHOR, shifted) == pytest.approx(0.5, abs=1e-9)


def test_pchip_integral_matches_scipy_when_available():
    scipy_interp = pytest.importorskip("scipy.interpolate")
    x = [1.0, 2.0, 3.5, 4.0, 6.0]
    y = [0.0, 1.0, 1.2, 3.0, 2.5]
    ref = scipy_interp.PchipInterpolator(x, y).integrate(1.3, 5.1)
    assert E.pchip_integral(x, y, 1.3, 5.1) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.skipif(not os.path.exists(TEST_MODEL), reason="test model missing")
def test_batched_refinement_follows_single_image_runs():
    torch.set_num_threads(1)
    model = R.load_model(TEST_MODEL)
    g = torch.Generator().manual_seed(3)
    xs = torch.rand(2, 3, 64, 64, generator=g)
    methods = ["sga", "ssl", "ssl3"]  # mixed two- and three-class methods and both schedules
    x = torch.cat([xs[0:1], xs[1:2], xs[0:1]])
    lmbdas = [0.0067, 0.0067 * 4, 0.0067]
    br = E.BatchRefiner(model, x, lmbdas, methods)
    hist, _ = E.run_batch(br, 0, 20, eval_every=10)
    for b in range(3):
        single = R.refine(model, x[b:b + 1], lmbdas[b], methods[b], iters=20, seed=0, eval_every=10)
        ref = [e.loss for e in single["true_history"]]
        got = [e["loss"] for e in hist[b]]
        assert [e["t"] for e in hist[b]] == [e.t for e in single["true_history"]] == [0, 10, 20]
        for r, v in zip(ref, got):
            assert math.isclose(r, v, rel_tol=1e-4), (methods[b], ref, got)
