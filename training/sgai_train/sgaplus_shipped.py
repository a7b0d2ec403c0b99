"""SGA+ gain on the models users get (docs/sgaplus-results.md §10).

    . training/env.sh
    $SGAI_PYTHON -m sgai_train.sgaplus_shipped run      # refine every shipped rate point on the crops
    $SGAI_PYTHON -m sgai_train.sgaplus_shipped report   # BD table (markdown) + summary.json

Images: centre crops (default 256x256) of full-size Kodak photos, not downscaled,
so the latents have the statistics of real photos. Every shipped rate point
(resources/models, one lambda each) is refined with SSL (the product's default
method) at its own lambda for the longest budget; the result at budget B is the
best true loss among the evaluations at t <= B (as in the sweep of §1-3:
same batched refiner, same schedules, same learning rate). The refined curve
at each budget is compared with the unrefined curve (t = 0) by BD-rate and
BD-PSNR. Rate is estimated from the likelihoods, PSNR on clipped 8-bit
reconstructions. Results are cached per (model, image) under
training/runs/sgaplus-shipped with the weights' SHA-256, so a run resumes, and
a rate point whose weights were replaced since is measured again (a record
without a hash counts as stale).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from . import refine as R
from .export import file_sha256
from .sgaplus_experiment import BatchRefiner, bd_psnr, bd_rate, overlaps, run_batch, snapshot, _read_json, _write_json

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(REPO, "resources", "models")
OUT = os.path.join(REPO, "training", "runs", "sgaplus-shipped")
KODAK = os.path.join(REPO, "..", "shared", "datasets", "kodak")
IMAGES = ("kodim01.png", "kodim04.png", "kodim05.png", "kodim07.png", "kodim15.png", "kodim20.png", "kodim23.png", "kodim24.png")
BUDGETS = (50, 100, 250, 500)
METHOD = "ssl"


def shipped() -> List[Tuple[float, str, str]]:
    """(lambda, model id, .safetensors path) of every shipped rate point, by lambda."""
    out = []
    for card_path in glob.glob(os.path.join(MODELS, "sgai-msh-*.json")):
        with open(card_path) as f:
            card = json.load(f)
        weights = os.path.splitext(card_path)[0] + ".safetensors"
        if os.path.exists(weights) and not card.get("isTestModel"):
            out.append((float(card["lambda"]), card["id"], weights))
    return sorted(out)


def cached(path: str, sha: str) -> bool:
    """A record of these exact weights exists (one of other weights, or of unknown ones, is stale)."""
    return os.path.exists(path) and _read_json(path).get("weightsSha256") == sha


def centre_crop(name: str, size: int) -> Tensor:
    """[1, 3, size, size] in [0, 1], 8-bit, from the middle of the full-size photo."""
    im = Image.open(os.path.join(KODAK, name)).convert("RGB")
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    arr = np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()


def cmd_run(a) -> None:
    images = a.images.split(",")
    only = set(a.models.split(",")) if a.models else None
    for lmbda, mid, path in shipped():
        if only is not None and mid not in only:
            continue
        sha = file_sha256(path)
        todo = [im for im in images if not cached(os.path.join(a.out, mid, im.replace(".png", ".json")), sha)]
        if not todo:
            print(f"{mid}: cached", flush=True)
            continue
        model = R.load_model(path)
        x = torch.cat([centre_crop(im, a.size) for im in todo])
        br = BatchRefiner(model, x, [lmbda] * len(todo), [METHOD] * len(todo))
        hist, sec = run_batch(br, 0, a.iters, progress=f"{mid} B={len(todo)}")
        for im, h in zip(todo, hist):
            _write_json(os.path.join(a.out, mid, im.replace(".png", ".json")), {
                "model": mid, "weightsSha256": sha, "lambda": lmbda, "method": METHOD, "image": im, "crop": [a.size, a.size],
                "iters": a.iters, "lr": R.LR, "seed": 0, "torch": torch.__version__, "threads": torch.get_num_threads(),
                "batch_seconds": round(sec, 2), "batch_size": len(todo), "rate": "estimated from likelihoods (no bitstream)",
                "snapshots": {str(B): snapshot(h, B) for B in (0,) + BUDGETS if B <= a.iters}, "history": h,
            })
        print(f"{mid}: {len(todo)} x {a.iters} it in {sec:.0f} s ({1000 * sec / (len(todo) * a.iters):.0f} ms/it/image)", flush=True)


def point(recs: List[Dict], budget: int) -> Tuple[float, float]:
    """(mean bpp, mean psnr8) of one rate point at a budget (0 = unrefined)."""
    snaps = [r["snapshots"][str(budget)] for r in recs]
    return float(np.mean([s["bpp"] for s in snaps])), float(np.mean([s["psnr8"] for s in snaps]))


def curve(recs_by_model: Dict[str, List[Dict]], budget: int) -> List[Tuple[float, float]]:
    return sorted(point(recs, budget) for recs in recs_by_model.values())


def cmd_report(a) -> None:
    images = a.images.split(",")
    recs: Dict[str, List[Dict]] = {}
    stale = []
    for _, mid, path in shipped():
        sha = file_sha256(path)
        files = [os.path.join(a.out, mid, im.replace(".png", ".json")) for im in images]
        if all(cached(f, sha) for f in files):
            recs[mid] = [_read_json(f) for f in files]
        else:
            stale.append(mid)
    if stale:
        raise SystemExit(f"not measured with the shipped weights: {', '.join(stale)}; run `sgaplus_shipped run` first")
    if len(recs) < 2:
        raise SystemExit("need at least two refined rate points: run `sgaplus_shipped run` first")
    base = curve(recs, 0)
    rows = []
    for B in BUDGETS:
        test = curve(recs, B)
        ov = overlaps(base, test)
        loss_gain = np.mean([1 - r["snapshots"][str(B)]["loss"] / r["snapshots"]["0"]["loss"] for rs in recs.values() for r in rs])
        rows.append({"budget": B, "bdRate": bd_rate(base, test), "bdPsnr": bd_psnr(base, test), "overlap": ov,
                     "meanLossReduction": float(loss_gain), "curve": test})
    seconds = {mid: rs[0]["batch_seconds"] / (rs[0]["batch_size"] * rs[0]["iters"]) for mid, rs in recs.items()}
    summary = {"models": list(recs), "weights": {mid: rs[0]["weightsSha256"] for mid, rs in recs.items()}, "images": images, "crop": recs[next(iter(recs))][0]["crop"], "method": METHOD,
               "unrefined": base, "budgets": rows, "secondsPerIterationPerImage": seconds}
    _write_json(os.path.join(a.out, "summary.json"), summary)
    print(f"| budget (it.) | BD-rate vs unrefined | BD-PSNR | mean true-loss reduction |")
    print(f"|---|---|---|---|")
    for r in rows:
        print(f"| {r['budget']} | {r['bdRate']:+.2f} % | {r['bdPsnr']:+.3f} dB | {100 * r['meanLossReduction']:.2f} % |")
    print()
    print("| model | unrefined bpp / dB | " + " | ".join(f"{B} it." for B in BUDGETS) + " |")
    print("|---|---|" + "---|" * len(BUDGETS))
    for mid, rs in recs.items():
        cells = [f"{b:.4f} / {q:.2f}" for b, q in (point(rs, B) for B in BUDGETS)]
        b0, q0 = point(rs, 0)
        print(f"| {mid} | {b0:.4f} / {q0:.2f} | " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("run", "report"))
    p.add_argument("--images", default=",".join(IMAGES))
    p.add_argument("--models", default="", help="run: only these model ids (comma-separated), e.g. while another is still training")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=max(BUDGETS))
    p.add_argument("--out", default=OUT)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    {"run": cmd_run, "report": cmd_report}[a.command](a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
