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
