"""Export: parameters only, CompressAI names, card schema, registry, reload."""

import hashlib
import json
import os

import numpy as np
import pytest
import torch

from sgai_train import safetensors_io as st
from sgai_train.evaluate import KODAK
from sgai_train.export import export, load_exported
from sgai_train.train import load_model_from_checkpoint, train

pytestmark = pytest.mark.skipif(not os.path.isdir(KODAK), reason="Kodak not available")

CARD_KEYS = {"id", "architecture", "N", "M", "lambda", "steps", "trainingData", "hardware", "trainingTime",
             "kodak", "dtype", "sha256"}


def test_export_card_registry_and_reload(tmp_path):
    run = str(tmp_path / "run")
    train(["--n", "8", "--m", "12", "--steps", "2", "--crop", "64", "--batch", "2", "--data-limit", "4",
           "--lmbda", "0.0035", "--run", run, "--device", "cpu"])
    out = str(tmp_path / "models" / "sgai-msh-t8-l0035.safetensors")
    card = export(os.path.join(run, "last.pt"), out, kodak_limit=1)
    assert CARD_KEYS <= set(card)
    assert card["architecture"] == "mean-scale-hyperprior" and card["quality"] == 2
    assert set(card["kodak"]) == {"bpp", "psnr", "measuredWith"}
    assert card["dtype"] in ("F16", "F32")
    assert card["sha256"] == hashlib.sha256(open(out, "rb").read()).hexdigest()
    assert json.load(open(out.replace(".safetensors", ".json"))) == card

    reg = json.load(open(tmp_path / "models" / "registry.json"))
    assert reg["default"] == card["id"]
    assert reg["models"] == [{"id": card["id"], "file": os.path.basename(out),
                              "card": "sgai-msh-t8-l0035.json", "N": 8, "M": 12, "lambda": 0.0035, "quality": 2}]

    tensors, meta = st.load_file(out)
    model = load_model_from_checkpoint(os.path.join(run, "last.pt"))
    params = dict(model.named_parameters())
    assert set(tensors) == set(params)  # parameters only: no buffers / CDF tables
    dt = np.float16 if card["dtype"] == "F16" else np.float32
    for k, v in tensors.items():
        assert v.dtype == dt and v.shape == tuple(params[k].shape), k
        if k != "entropy_bottleneck.quantiles":  # refined by bisection at export
            assert np.allclose(v.astype(np.float32), params[k].detach().numpy(), atol=1e-3, rtol=1e-3), k
    assert meta["architecture"] == "mean-scale-hyperprior"
    reloaded = load_exported(out)
    assert torch.equal(reloaded.g_a[0].weight, torch.from_numpy(tensors["g_a.0.weight"].astype(np.float32)))


def test_card_traces_widening_and_fine_tuning(tmp_path):
    from sgai_train.widen import main as widen_main

    common = ["--crop", "64", "--batch", "2", "--data-limit", "4", "--device", "cpu"]
    base = str(tmp_path / "base")
    train(["--n", "8", "--m", "12", "--steps", "3", "--lmbda", "0.0067", "--run", base] + common)
    wide = str(tmp_path / "wide.pt")
    widen_main(["--from", os.path.join(base, "last.pt"), "--n", "16", "--m", "24", "--out", wide])
    std = str(tmp_path / "std")
    train(["--n", "16", "--m", "24", "--steps", "2", "--lmbda", "0.0067", "--init-from", wide, "--warmup", "2",
           "--run", std] + common)
    ft = str(tmp_path / "ft")
    train(["--n", "16", "--m", "24", "--steps", "1", "--lmbda", "0.025", "--init-from", os.path.join(std, "last.pt"),
           "--run", ft] + common)
    card = export(os.path.join(ft, "last.pt"), str(tmp_path / "m" / "x.safetensors"), kodak_limit=1)
    chain = card["lineage"]
    assert [c.get("steps") for c in chain] == [1, 2, 0, 3]
    assert [(c["N"], c["M"]) for c in chain] == [(16, 24), (16, 24), (16, 24), (8, 12)]
    assert chain[2]["widened"] and (chain[2]["fromN"], chain[2]["fromM"]) == (8, 12)
    assert [c.get("lambda") for c in chain if not c.get("widened")] == [0.025, 0.0067, 0.0067]
    assert card["initFrom"]["steps"] == 2 and card["totalSteps"] == 6
    assert card["totalTrainingSeconds"] >= sum(c["trainingSeconds"] for c in chain) - 0.2


def test_warm_start_exported_over_its_own_base_keeps_the_true_lineage(tmp_path):
    """A run warm-started from shipped weights is exported over that same file (a continuation):
    the lineage must still name the weights it started from (kept as base.*), not its own result."""
    common = ["--n", "8", "--m", "12", "--crop", "64", "--batch", "2", "--data-limit", "4", "--lmbda", "0.0067",
              "--device", "cpu"]
    first = str(tmp_path / "first")
    train(common + ["--steps", "3", "--run", first])
    shipped = str(tmp_path / "models" / "m.safetensors")
    export(os.path.join(first, "last.pt"), shipped, kodak_limit=1)
    base_sha = hashlib.sha256(open(shipped, "rb").read()).hexdigest()
    cont = str(tmp_path / "cont")
    train(common + ["--steps", "2", "--init-from", shipped, "--run", cont])
    assert hashlib.sha256(open(os.path.join(cont, "base.safetensors"), "rb").read()).hexdigest() == base_sha
    export(os.path.join(cont, "last.pt"), shipped, kodak_limit=1)  # over the weights it started from
    again = str(tmp_path / "again.safetensors")
    card = export(os.path.join(cont, "last.pt"), again, kodak_limit=1)  # the path now holds cont's own result
    assert [c.get("steps") for c in card["lineage"]] == [2, 3]
    assert card["lineage"][1]["sha256"] == base_sha and card["totalSteps"] == 5
