"""sgai_train.import_compressai: CompressAI checkpoints become sgai models that compute the same.

Tests marked `needs_compressai` use the real compressai package (training/setup_compressai.sh)
and are skipped, with the reason printed, when it is not importable. The rest needs torch only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from sgai_train import import_compressai as ic
from sgai_train import safetensors_io as st
from sgai_train.export import load_exported
from sgai_train.model import MeanScaleHyperprior

try:
    import compressai
    from compressai.models import (Cheng2020Anchor, FactorizedPrior, JointAutoregressiveHierarchicalPriors,
                                   MeanScaleHyperprior as CompressAIMSH, ScaleHyperprior)
    NO_COMPRESSAI = None
except ImportError as e:  # pragma: no cover - depends on the machine
    NO_COMPRESSAI = f"compressai is not importable ({e}); run training/setup_compressai.sh"
    sys.__stderr__.write(f"\ntest_import_compressai: CompressAI tests skipped: {NO_COMPRESSAI}\n")

needs_compressai = pytest.mark.skipif(NO_COMPRESSAI is not None, reason=NO_COMPRESSAI or "")

TRAINING = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REPO = os.path.dirname(TRAINING)
FIXTURES = os.path.join(REPO, "test", "fixtures", "compressai")


def smooth_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A photo-like input: low-frequency colour fields plus a little noise, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, h // 16, w // 16, generator=g)
    x = torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    return (x + 0.05 * torch.rand(1, 3, h, w, generator=g)).clamp(0, 1)


def nontrivial_compressai_model(seed: int = 7):
    """A CompressAI MeanScaleHyperprior moved away from its initialisation everywhere."""
    torch.manual_seed(seed)
    net = CompressAIMSH(32, 48)
    from compressai.losses import RateDistortionLoss
    opt = torch.optim.Adam([p for n, p in net.named_parameters() if not n.endswith("quantiles")], lr=1e-2)
    aux = torch.optim.Adam([p for n, p in net.named_parameters() if n.endswith("quantiles")], lr=1.0)
    crit = RateDistortionLoss(lmbda=0.0067)
    net.train()
    for step in range(3):
        x = smooth_image(64, 64, seed=step).repeat(2, 1, 1, 1)
        opt.zero_grad()
        aux.zero_grad()
        crit(net(x), x)["loss"].backward()
        opt.step()
        net.aux_loss().backward()
        aux.step()
    with torch.no_grad():  # GDN far from its identity-like init, medians off zero
        for name, p in net.named_parameters():
            if name.endswith(".gamma"):
                p.add_(0.05 * torch.rand_like(p))
            elif name.endswith(".beta"):
                p.mul_(1 + 0.5 * torch.rand_like(p))
            elif name.endswith("quantiles"):
                p.add_(torch.randn(p.shape[0], 1, 1))
    net.eval()
    net.update(force=True)
    return net


def sgai_state_dict(seed: int = 3) -> dict:
    torch.manual_seed(seed)
    return MeanScaleHyperprior(32, 48).state_dict()


# ---------------------------------------------------------------------------
# Round trip through the real CompressAI
# ---------------------------------------------------------------------------


@needs_compressai
def test_converted_model_reproduces_compressai_forward(tmp_path):
    net = nontrivial_compressai_model()
    med = net.entropy_bottleneck.quantiles[:, 0, 1]
    assert float(med.abs().max()) > 0.1, "medians should not be at their initial 0"
    ckpt = tmp_path / "checkpoint_best_loss.pth.tar"
    torch.save({"epoch": 3, "loss": 1.5, "state_dict": net.state_dict()}, ckpt)

    card = ic.convert(str(ckpt), str(tmp_path / "out"), "cai", lmbda=0.0067)
    ours = load_exported(str(tmp_path / "out" / "cai.safetensors"))
    x = smooth_image(128, 192, seed=11)
    with torch.no_grad():
        ref_y = net.g_a(x)
        ref_z = net.h_a(ref_y)
        ref = net(x)
        out = ours(x, training=False)
    for name, a, b in (("y", out["y"], ref_y), ("z", out["z"], ref_z), ("x_hat", out["x_hat"], ref["x_hat"]),
                       ("y likelihoods", out["likelihoods"]["y"], ref["likelihoods"]["y"]),
                       ("z likelihoods", out["likelihoods"]["z"], ref["likelihoods"]["z"])):
        d = float((a - b).abs().max())
        assert d <= 1e-5, f"{name}: max |ours - CompressAI| = {d}"

    assert card["N"] == 32 and card["M"] == 48 and card["lambda"] == 0.0067 and card["quality"] == 3
    assert card["trainingData"] == "imported from CompressAI checkpoint checkpoint_best_loss.pth.tar"
    assert card["source"] == ic.file_sha256(str(ckpt))
    assert card["importedFrom"]["epoch"] == 3
    assert card["architecture"] == "mean-scale-hyperprior" and card["dtype"] == "F32"
    with open(tmp_path / "out" / "cai.json") as f:
        assert json.load(f) == card
    tensors, meta = st.load_file(str(tmp_path / "out" / "cai.safetensors"))
    assert card["sha256"] == ic.file_sha256(str(tmp_path / "out" / "cai.safetensors"))
    assert all(v.dtype == np.float32 for v in tensors.values())
    assert set(tensors) == {k for k, _ in MeanScaleHyperprior(32, 48).named_parameters()}


@needs_compressai
@pytest.mark.parametrize("make, expect", [
    (lambda: ScaleHyperprior(32, 48), "bmshj2018-hyperprior"),
    (lambda: FactorizedPrior(32, 48), "bmshj2018-factorized"),
    (lambda: JointAutoregressiveHierarchicalPriors(32, 48), "mbt2018 (joint autoregressive"),
    (lambda: Cheng2020Anchor(32), "cheng2020"),
])
def test_other_compressai_architectures_are_refused(tmp_path, make, expect):
    net = make()
    net.update(force=True)
    torch.save(net.state_dict(), tmp_path / "other.pth")
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "other.pth"), str(tmp_path / "out"), lmbda=0.0067)
    assert e.value.code == ic.EXIT_UNSUPPORTED
    assert expect in str(e.value) and "only mbt2018-mean" in str(e.value)
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


@needs_compressai
def test_command_line_exit_codes(tmp_path):
    s = ScaleHyperprior(32, 48)
    torch.save(s.state_dict(), tmp_path / "bmshj2018-hyperprior-2.pth")
    env = dict(os.environ, PYTHONPATH=TRAINING)
    r = subprocess.run([sys.executable, "-m", "sgai_train.import_compressai", str(tmp_path / "bmshj2018-hyperprior-2.pth"),
                        "--out-dir", str(tmp_path / "out"), "--lambda", "0.0067"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("import_compressai: CompressAI bmshj2018-hyperprior"), r.stderr

    m = CompressAIMSH(32, 48)
    m.update(force=True)
    torch.save(m.state_dict(), tmp_path / "mbt2018-mean-5-abcdef01.pth.tar")  # zoo-style name: quality 5
    r = subprocess.run([sys.executable, "-m", "sgai_train.import_compressai", str(tmp_path / "mbt2018-mean-5-abcdef01.pth.tar"),
                        "--out-dir", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["lambda"] == ic.QUALITY_LAMBDAS[5] and os.path.exists(res["weights"]) and os.path.exists(res["card"])


# ---------------------------------------------------------------------------
# torch only
# ---------------------------------------------------------------------------


def _rename(sd: dict, style: str) -> dict:
    out = {}
    for k, v in sd.items():
        m = ic._EB_NAME.match(k)
        if m and style != "1.1":
            kind, i = m.group(3), m.group(4)
            plural = {"matrix": "matrices", "bias": "biases", "factor": "factors"}[kind]
            k = f"entropy_bottleneck.{plural}.{i}" if style == "1.2" else f"entropy_bottleneck._{plural}.{i}"
        out[k] = v
    return out


@pytest.mark.parametrize("style, wrap", [("1.1", None), ("1.2", "state_dict"), ("zoo", "model"), ("1.2", "module")])
def test_checkpoint_layouts_convert_to_the_same_weights(tmp_path, style, wrap):
    sd = sgai_state_dict()
    renamed = _rename(sd, style)
    if wrap == "module":
        obj = {f"module.{k}": v for k, v in renamed.items()}
    elif wrap:
        obj = {wrap: renamed, "epoch": 1, "optimizer": {"param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999)}]}}
    else:
        obj = renamed
    torch.save(obj, tmp_path / "c.pth")
    ic.convert(str(tmp_path / "c.pth"), str(tmp_path), "m", lmbda=0.013)
    tensors, _ = st.load_file(str(tmp_path / "m.safetensors"))
    params = dict(MeanScaleHyperprior(32, 48).named_parameters())
    assert set(tensors) == set(params)
    for k in params:
        np.testing.assert_array_equal(tensors[k], sd[k].numpy(), err_msg=k)


def _refusal(tmp_path, sd, **kw) -> ic.ImportFailure:
    torch.save(sd, tmp_path / "x.pth")
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "x.pth"), str(tmp_path / "out"), **{"lmbda": 0.0067, **kw})
    return e.value


def test_architecture_problems_are_named(tmp_path):
    sd = sgai_state_dict()
    scale_only = dict(sd, **{"h_s.4.weight": torch.zeros(48, 72, 3, 3), "h_s.4.bias": torch.zeros(48)})
    e = _refusal(tmp_path, scale_only)
    assert e.code == 3 and "bmshj2018-hyperprior" in str(e) and "2M = 96" in str(e)

    missing = {k: v for k, v in sd.items() if k != "g_s.3.gamma"}
    e = _refusal(tmp_path, missing)
    assert e.code == 3 and "missing g_s.3.gamma" in str(e)

    extra = dict(sd, **{"g_a.7.weight": torch.zeros(1)})
    e = _refusal(tmp_path, extra)
    assert e.code == 3 and "unexpected g_a.7.weight" in str(e)

    wrong = dict(sd, **{"g_s.2.weight": torch.zeros(32, 32, 3, 3)})
    e = _refusal(tmp_path, wrong)
    assert e.code == 3 and "wrong shape g_s.2.weight [32, 32, 3, 3] (expected [32, 32, 5, 5])" in str(e)

    beta_min = dict(sd, **{"g_a.1.beta_reparam.lower_bound.bound": torch.tensor([0.01])})
    e = _refusal(tmp_path, beta_min)
    assert e.code == 3 and "non-default" in str(e)

    context = dict(sd, **{"context_prediction.weight": torch.zeros(96, 48, 5, 5)})
    e = _refusal(tmp_path, context)
    assert e.code == 3 and "context model" in str(e)

    e = _refusal(tmp_path, {"a": torch.zeros(1)})
    assert e.code == 3 and "g_a.0.weight" in str(e)

    e = _refusal(tmp_path, [1, 2, 3])
    assert e.code == 3 and "does not hold a model state_dict" in str(e)


def test_lambda_is_required_or_inferred(tmp_path):
    sd = sgai_state_dict()
    e = _refusal(tmp_path, sd, lmbda=None)
    assert e.code == 2 and "--lambda" in str(e) and "--quality" in str(e)
    torch.save({"state_dict": sd, "lmbda": 0.0483}, tmp_path / "with_lambda.pth")
    assert ic.convert(str(tmp_path / "with_lambda.pth"), str(tmp_path), "a")["quality"] == 6
    torch.save(sd, tmp_path / "mbt2018-mean-2-0123abcd.pth.tar")
    card = ic.convert(str(tmp_path / "mbt2018-mean-2-0123abcd.pth.tar"), str(tmp_path), "b")
    assert card["lambda"] == ic.QUALITY_LAMBDAS[2] and card["quality"] == 2
    assert "compressaiReference" not in card  # the zoo's quality 2 is N=128, M=192, not 32/48
    card = ic.convert(str(tmp_path / "with_lambda.pth"), str(tmp_path), quality=1)
    assert card["lambda"] == 0.0018 and card["id"].startswith("compressai-msh-n32m48-l0018-")
    e = _refusal(tmp_path, sd, lmbda=0.0067, quality=5)
    assert e.code == 2 and "contradicts" in str(e)


def test_existing_output_needs_force(tmp_path):
    torch.save(sgai_state_dict(), tmp_path / "c.pth")
    ic.convert(str(tmp_path / "c.pth"), str(tmp_path), "m", lmbda=0.0067)
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "c.pth"), str(tmp_path), "m", lmbda=0.0067)
    assert e.value.code == 2 and "--force" in str(e.value)
    ic.convert(str(tmp_path / "c.pth"), str(tmp_path), "m", lmbda=0.0067, force=True)
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "c.pth"), str(tmp_path), "../evil", lmbda=0.0067)
    assert e.value.code == 2


class _Marker:
    """Unpickling this would create a file: the converter must refuse it without running it."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_code_is_not_run(tmp_path):
    marker = _Marker()
    marker.path = str(tmp_path / "ran")
    torch.save({"state_dict": sgai_state_dict(), "payload": marker}, tmp_path / "evil.pth")
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "evil.pth"), str(tmp_path / "out"), lmbda=0.0067)
    assert e.value.code == 4 and "--allow-pickle" in str(e.value) and "open" in str(e.value)
    assert not os.path.exists(marker.path)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "notes.txt"), str(tmp_path / "out"), lmbda=0.0067)
    assert e.value.code == 4 and "not a PyTorch checkpoint" in str(e.value)
    with pytest.raises(ic.ImportFailure) as e:
        ic.convert(str(tmp_path / "absent.pth"), str(tmp_path / "out"), lmbda=0.0067)
    assert e.value.code == 4 and "no such file" in str(e.value)


@torch.no_grad()
def test_committed_fixture_matches_compressai_outputs():
    """The committed model + CompressAI outputs agree under our PyTorch model (no compressai needed)."""
    model = load_exported(os.path.join(FIXTURES, f"{ic.FIXTURE_ID}.safetensors"))
    ref, _ = st.load_file(os.path.join(FIXTURES, "reference.safetensors"))
    chw = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]  # noqa: E731
    y = model.g_a(chw(ref["x"]))
    assert float((y - chw(ref["y"])).abs().max()) <= 1e-5
    assert float((model.h_a(chw(ref["y"])) - chw(ref["z"])).abs().max()) <= 1e-5
    x_hat = model.g_s(chw(ref["y_hat"]))
    assert float((x_hat - chw(ref["x_hat"])).abs().max()) <= 1e-5
    med = model.entropy_bottleneck.medians().reshape(1, -1, 1, 1)
    assert torch.equal(torch.round(chw(ref["z"]) - med), chw(ref["z_sym"]))
    with open(os.path.join(FIXTURES, "reference.json")) as f:
        info = json.load(f)
    assert info["crop"]["yBytes"] > 0 and info["full"]["yBytes"] > info["crop"]["yBytes"]
