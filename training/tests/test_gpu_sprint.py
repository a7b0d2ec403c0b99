"""GPU sprint, CI path: training/gpu_sprint.sh --tiny on CPU with a pack of a few photos.

Same code as on the GPU (probe, one process per lambda, exports to OUT as it goes), with the
test model's shape (N=32/M=48, warm start from test/fixtures/models) and 64x64 crops.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from sgai_train import safetensors_io as st
from sgai_train.data import DATASETS, validation_photos
from sgai_train.export import load_exported

pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(DATASETS, "train")),
                                reason=f"training photos not available under {DATASETS}")

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TRAINING)
SCRIPT = os.path.join(TRAINING, "gpu_sprint.sh")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    from sgai_train.make_sprint_pack import build

    out = str(tmp_path_factory.mktemp("pack"))
    idx = build(out, max_mb=1.0, size=96, limit=6)
    assert idx["count"] == 6 and not {e["source"] for e in idx["entries"]} & set(validation_photos())
    return out


def _env():
    return dict(os.environ, SGAI_PYTHON=sys.executable, OMP_NUM_THREADS="1",
                PYTHONPATH=TRAINING + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _check_out(out, expect_ids=None):
    files = sorted(os.listdir(out))
    assert 0 < len(files) <= 8, files
    assert all(os.path.getsize(os.path.join(out, f)) <= 16 * 2**20 for f in files)
    weights = [f for f in files if f.endswith(".safetensors")]
    if expect_ids is not None:
        assert sorted(weights) == sorted(i + ".safetensors" for i in expect_ids)
    for f in weights:
        model = load_exported(os.path.join(out, f))
        with torch.no_grad():
            o = model(torch.rand(1, 3, 64, 64), training=False)
        assert torch.isfinite(o["x_hat"]).all() and all(torch.isfinite(l).all() for l in o["likelihoods"].values())
        _, meta = st.load_file(os.path.join(out, f))
        card = json.loads(meta["card"])  # every file carries its card, also when cut short
        assert card["sprint"]["startedFrom"] in ("warm", "scratch") and card["sprint"]["stepsOnDevice"] > 0
        assert card["lineage"][0]["checkpoint"].startswith("gpu sprint")
        assert "validation photos" in card["trainingData"] and "Kodak never used" in card["trainingData"]
        if card["sprint"]["startedFrom"] == "warm":
            assert card["initFrom"]["file"] == "test/fixtures/models/sgai-test-n32m48.safetensors"
            assert card["lineage"][1]["checkpoint"] == card["initFrom"]["file"]
    return files, weights


def test_tiny_sprint_runs_and_exports(pack, tmp_path):
    out = str(tmp_path / "out")
    t = time.time()
    r = subprocess.run(["bash", SCRIPT, "--tiny", "--budget-s", "24", "--out", out, "--pack", pack],
                       cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert time.time() - t < 35
    ids = ["sgai-tiny-n32m48-l0067", "sgai-tiny-n32m48-l0250"]
    files, _ = _check_out(out, ids)
    assert set(files) == {i + ".safetensors" for i in ids} | {"cards.json", "sprint-log.json", "sprint.out"}
    cards = json.load(open(os.path.join(out, "cards.json")))
    assert sorted(cards) == ids and all(c["sprint"]["final"] for c in cards.values())
    for i, c in cards.items():  # the card's hash is the file's
        assert c["sha256"] == __import__("hashlib").sha256(open(os.path.join(out, i + ".safetensors"), "rb").read()).hexdigest()
    log = json.load(open(os.path.join(out, "sprint-log.json")))
    assert any(e["msg"].startswith("probe decision") for e in log["events"])
    assert all(log["curves"][i] for i in ids)
    assert "probe decision" in r.stdout and "travelling tree" in r.stdout

    # Unpacked beside <id>.json cards, as the TS codec loads a model from a path.
    from sgai_train.sprint_import import unpack

    for w in unpack(out, str(tmp_path / "returned")):
        c = json.load(open(w[:-len(".safetensors")] + ".json"))
        assert c["id"] == os.path.basename(w)[:-len(".safetensors")] and c["sha256"] == cards[c["id"]]["sha256"]

    # Shipping path here: Kodak-evaluated export with the sprint's lineage (1 image: quick).
    if os.path.isdir(os.path.join(DATASETS, "kodak")):
        from sgai_train.sprint_import import main as sprint_import

        models = tmp_path / "models"
        sprint_import(["--weights", os.path.join(out, ids[0] + ".safetensors"), "--models-dir", str(models),
                       "--kodak-limit", "1", "--ckpt-dir", str(tmp_path / "runs")])
        shipped = json.load(open(models / (ids[0] + ".json")))
        assert shipped["kodak"]["bpp"] > 0 and shipped["sprint"] == cards[ids[0]]["sprint"]
        assert shipped["lineage"] == cards[ids[0]]["lineage"] and "GPU sprint" in shipped["history"]
        assert json.load(open(models / "registry.json"))["default"] == ids[0]


def test_cut_short_sprint_leaves_loadable_weights(pack, tmp_path):
    out = str(tmp_path / "out")
    p = subprocess.Popen(["bash", SCRIPT, "--tiny", "--budget-s", "60", "--start", "warm", "--export-every-s", "1",
                          "--work", str(tmp_path / "work"), "--out", out, "--pack", pack], cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        t = time.time()
        while time.time() - t < 40 and not (os.path.isdir(out) and any(f.endswith(".safetensors") for f in os.listdir(out))):
            time.sleep(0.2)
    finally:
        os.killpg(p.pid, signal.SIGKILL)  # the whole sprint, workers included, mid-run
        p.wait()
    _, weights = _check_out(out)
    assert weights
