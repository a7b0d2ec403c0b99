"""SGA+ at the few steps a time budget allows (docs/sgaplus-results.md §11).

The app refines each photo for a time budget per megapixel; on a laptop CPU that is a few dozen
steps, where the published settings (Adam lr 0.005, tau = exp(-0.001 t)) have barely started.
This measures, on the same eight full-resolution Kodak centre crops as §10 and one shipped
model at its own lambda, the mean true-loss reduction after T steps for a grid of step sizes
and temperature decay rates (tau = min(1, exp(-rate t))), with the true loss evaluated at T/4
intervals. src/core/refine/schedule.ts (budgetLearningRate, budgetSchedule) is set from it.

    . training/env.sh
    $SGAI_PYTHON -m sgai_train.sgaplus_budget --steps 16 --lr 0.005,0.02 --rate 0.001,0.05
"""

from __future__ import annotations

import argparse
import itertools
import json
import os

import torch

from . import refine as R
from .export import file_sha256
from .sgaplus_experiment import BatchRefiner, run_batch
from .sgaplus_shipped import IMAGES, MODELS, centre_crop

SIZE = 256  # the crops of section 10


def measure(model, x, lmbda: float, steps: int, lr: float, rate: float) -> dict:
    """Mean true-loss reduction (%) of the crops x after `steps` SSL steps at this lr and decay rate."""
    br = BatchRefiner(model, x, [lmbda] * x.shape[0], ["ssl"] * x.shape[0], lr=lr)
    br.sched["ssl"] = R.schedule_for("ssl", tau_r=rate)
    hist, sec = run_batch(br, 0, steps, eval_every=max(1, steps // 4))
    at = {}
    for e in hist[0]:
        t = e["t"]
        cuts = [1 - next(h for h in hh if h["t"] == t)["loss"] / hh[0]["loss"] for hh in hist]
        at[str(t)] = round(100 * sum(cuts) / len(cuts), 3)
    best = [1 - min(h["loss"] for h in hh) / hh[0]["loss"] for hh in hist]
    return {"steps": steps, "lr": lr, "rate": rate, "lossReductionPercentAt": at,
            "bestLossReductionPercent": round(100 * sum(best) / len(best), 3), "seconds": round(sec, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="sgai-msh-c64-l0067")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--lr", default="0.005,0.02")
    p.add_argument("--rate", default="0.001,0.05")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="append one JSON line per configuration to this file")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    # The model and the crops are the same for every configuration of the grid: loaded once.
    path = os.path.join(MODELS, f"{a.model}.safetensors")
    with open(os.path.join(MODELS, f"{a.model}.json")) as f:
        lmbda = float(json.load(f)["lambda"])
    model = R.load_model(path)
    x = torch.cat([centre_crop(im, SIZE) for im in IMAGES])
    run = {"model": a.model, "weightsSha256": file_sha256(path), "lambda": lmbda, "images": list(IMAGES), "crop": SIZE,
           "torch": torch.__version__}
    for lr, rate in itertools.product([float(v) for v in a.lr.split(",")], [float(v) for v in a.rate.split(",")]):
        r = {**run, **measure(model, x, lmbda, a.steps, lr, rate)}
        line = json.dumps(r)
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
