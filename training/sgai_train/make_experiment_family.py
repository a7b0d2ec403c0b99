"""Experimental R-D family for the SGA+ results report (not shipped, not committed).

    . training/env.sh && /usr/bin/python3 -m sgai_train.make_experiment_family

BD-rate needs a curve of base models, and the repository's seeded test model
(N=32, M=48, lambda 0.0067, test/fixtures/models/sgai-test-n32m48.safetensors)
is a single point. This script fine-tunes it to the neighbouring CompressAI
lambdas 0.0018, 0.0035 and 0.013 with train.py --init-from (same
architecture, same train-pack 128x128 crops as the test model, 1 thread,
seeded), and exports every model (F32, no registry entry) with its card to
training/runs/exp-family/.

The 0.0067 point is fine-tuned too (same recipe, same lambda as the test
model): the test model itself had 1000 steps while the fine-tunes get 1000 +
400, and the extra steps alone improve it so much that the 0.0035 fine-tune
beat the unchanged test model in both rate and PSNR (0.204 bpp / 22.86 dB vs
0.249 bpp / 22.71 dB on full Kodak), which is no R-D curve. Every point of the
family is therefore "test model + 400 steps at its lambda".

These are tiny CPU models (a few CPU minutes each, about 22-23 dB on Kodak at
0.25 bpp), far weaker than the paper's. Re-running skips finished models; a
half-finished fine-tune resumes (train.py resumes from <run>/last.pt).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from .export import export, load_exported
from .make_test_model import OUT as TEST_MODEL

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAMILY_DIR = os.path.join(REPO, "training", "runs", "exp-family")
BASE_LAMBDA = 0.0067
LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)
STEPS = 400
LR = 5e-4
SEED = 2024


def tag(lmbda: float) -> str:
    """0.0018 -> 'l0018', 0.013 -> 'l0130'."""
    return f"l{round(lmbda * 10000):04d}"


def model_path(lmbda: float, family_dir: str = FAMILY_DIR) -> str:
    return os.path.join(family_dir, f"sgai-exp-n32m48-{tag(lmbda)}.safetensors")


def family(family_dir: str = FAMILY_DIR):
    """[(lambda, path)] of the family, lowest lambda first."""
    return [(l, model_path(l, family_dir)) for l in LAMBDAS]


def train_args(lmbda: float, run: str, init: str, steps: int) -> list:
    return ["--n", "32", "--m", "48", "--lmbda", str(lmbda), "--seed", str(SEED), "--steps", str(steps),
            "--lr-drop-at", str(steps * 9 // 10), "--batch", "8", "--crop", "128", "--lr", str(LR), "--no-photos",
            "--threads", "1", "--log-every", "10", "--device", "cpu", "--ckpt-minutes", "100",
            "--init-from", init, "--run", run]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=FAMILY_DIR)
    p.add_argument("--steps", type=int, default=STEPS)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    # Fine-tuning starts from the committed test model: its parameters as a plain state dict.
    init = os.path.join(a.out, "init-test-n32m48.pt")
    if not os.path.exists(init):
        torch.save({"model": load_exported(TEST_MODEL).state_dict()}, init)
    from .train import train

    log = {}
    for lmbda in LAMBDAS:
        out = model_path(lmbda, a.out)
        if os.path.exists(out):
            print(f"{out} exists, skipped", flush=True)
            continue
        run = os.path.join(a.out, f"run-{tag(lmbda)}")
        t0 = time.time()
        train(train_args(lmbda, run, init, a.steps))
        t1 = time.time()
        export(os.path.join(run, "last.pt"), out, model_id=os.path.basename(out)[:-len(".safetensors")],
               dtype="F32", registry=False,
               extra_card={"purpose": "SGA+ results report only (docs/sgaplus-results.md): a short fine-tune of "
                                      "sgai-test-n32m48 to another lambda, for an R-D curve; not shipped",
                           "fineTune": {"from": "test/fixtures/models/sgai-test-n32m48.safetensors",
                                        "steps": a.steps, "lr": LR, "lrDropAt": a.steps * 9 // 10, "seed": SEED}})
        log[tag(lmbda)] = {"train_wall_s": round(t1 - t0, 1), "export_wall_s": round(time.time() - t1, 1)}
        print(json.dumps({tag(lmbda): log[tag(lmbda)]}), flush=True)
    with open(os.path.join(a.out, "timing.json"), "a") as f:
        f.write(json.dumps(log) + "\n")


if __name__ == "__main__":
    main()
