"""The committed parity fixtures regenerate from the committed test model."""

import json
import os

import numpy as np
import pytest

from sgai_train import safetensors_io as st
from sgai_train.make_parity_fixtures import PARITY, SOURCE, compare, compute
from sgai_train.make_test_model import OUT as TEST_MODEL

pytestmark = pytest.mark.skipif(not os.path.exists(SOURCE), reason="Kodak not available")

NAMES = {"x", "y", "z", "z_hat", "scales", "means", "y_hat", "y_likelihoods", "z_likelihoods", "x_hat", "medians"}


def test_regenerated_fixtures_match_committed():
    ref, meta = st.load_file(PARITY)
    assert set(ref) == NAMES
    assert all(v.dtype == np.float32 for v in ref.values())
    new = compute()
    compare(ref, new, atol=1e-5)


def test_fixture_shapes_and_invariants():
    t, _ = st.load_file(PARITY)
    h, w, _ = t["x"].shape
    card = json.load(open(TEST_MODEL.replace(".safetensors", ".json")))
    n, m = card["N"], card["M"]
    assert t["y"].shape == t["y_hat"].shape == t["scales"].shape == t["means"].shape == t["y_likelihoods"].shape \
        == (h // 16, w // 16, m)
    assert t["z"].shape == t["z_hat"].shape == t["z_likelihoods"].shape == (h // 64, w // 64, n)
    assert t["x_hat"].shape == (h, w, 3) and t["medians"].shape == (n,)
    r = t["y_hat"] - t["means"]
    assert np.allclose(r, np.round(r), atol=1e-4)
    assert np.allclose(t["z_hat"] - t["medians"], np.round(t["z_hat"] - t["medians"]), atol=1e-4)
    assert t["y_likelihoods"].min() >= 1e-9 * 0.999 and t["y_likelihoods"].max() <= 1
    # A real codec: the reconstruction resembles the input.
    mse = float(np.mean((np.clip(t["x_hat"], 0, 1) - t["x"]) ** 2))
    assert 10 * np.log10(1 / mse) > 18


def test_test_model_card_matches_file():
    import hashlib
    card = json.load(open(TEST_MODEL.replace(".safetensors", ".json")))
    assert card["sha256"] == hashlib.sha256(open(TEST_MODEL, "rb").read()).hexdigest()
    tensors, _ = st.load_file(TEST_MODEL)
    assert all(v.dtype == np.float32 for v in tensors.values())
    assert tensors["g_a.0.weight"].shape == (card["N"], 3, 5, 5)
