"""A run stopped and resumed gives the same loss curve as an uninterrupted one."""

import csv
import os

import pytest

from sgai_train.train import train

DATA = "/work/shared/datasets/train-pack"
pytestmark = pytest.mark.skipif(not os.path.isdir(DATA), reason="training data not available")

ARGS = ["--n", "8", "--m", "12", "--steps", "8", "--lr-drop-at", "5", "--crop", "64", "--batch", "2",
        "--data-limit", "6", "--seed", "7", "--device", "cpu", "--ckpt-minutes", "1000"]


def curve(run):
    with open(os.path.join(run, "log.csv")) as f:
        return [(int(r["step"]), int(r["epoch"]), float(r["loss"]), float(r["bpp"]), float(r["mse"]), float(r["aux"]),
                 float(r["lr"])) for r in csv.DictReader(f)]


def test_stop_and_resume_matches_uninterrupted(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    train(ARGS + ["--run", a])
    # Stop at step 3 (data-limit 6 / batch 2: an epoch boundary is crossed after the resume),
    # then stop again at 6 via a second resume, then finish.
    assert train(ARGS + ["--run", b, "--stop-at", "3"])["step"] == 3
    assert train(ARGS + ["--run", b, "--stop-at", "6"])["step"] == 6
    # A bare resume (only --run) keeps the run's own settings (steps, lr drop, data...).
    assert train(["--run", b])["step"] == 8
    ca, cb = curve(a), curve(b)
    assert [r[0] for r in cb] == list(range(1, 9))
    assert len(ca) == len(cb) == 8
    for ra, rb in zip(ca, cb):
        assert ra[0:2] == rb[0:2] and ra[6] == rb[6]
        for x, y in zip(ra[2:6], rb[2:6]):
            assert x == pytest.approx(y, rel=1e-5, abs=1e-7)
    assert {r[1] for r in ca} == {0, 1, 2}  # the data iterator wrapped epochs


def test_resume_discards_log_rows_after_checkpoint(tmp_path):
    run = str(tmp_path / "c")
    train(ARGS + ["--run", run, "--stop-at", "4"])
    # Simulate a crash after step 4 that had logged steps 5-6 but not checkpointed them.
    with open(os.path.join(run, "log.csv"), "a") as f:
        f.write("5,0,1,1,1,1,1,1,1\n6,0,1,1,1,1,1,1,1\n")
    train(ARGS + ["--run", run])
    assert [r[0] for r in curve(run)] == list(range(1, 9))
