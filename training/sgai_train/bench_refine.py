"""Time one refinement step (noise + relaxed forward + backward + Adam), for comparison with the TS engine.

    python3 -m sgai_train.bench_refine --weights test/fixtures/models/sgai-test-n32m48.safetensors \\
        --size 512x768 --threads 1 --steps 5
    # -> {"ms_per_step": ..., "torch_version": ..., "threads": 1, ...}

--size is HxW (512x768 = a landscape Kodak image). The input is a crop of
Kodak kodim23 when it is large enough, else deterministic uniform noise; the
content does not change the cost. --compare runs the method comparison
(true-loss change after 100/250/500 iterations on Kodak crops) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Dict, List, Sequence

import numpy as np
import torch

from . import refine as R
from .data import DATASETS, load_rgb
from .make_test_model import OUT as TEST_MODEL

KODAK = os.path.join(DATASETS, "kodak")


def bench_input(h: int, w: int) -> torch.Tensor:
    path = os.path.join(KODAK, "kodim23.png")
    if os.path.exists(path):
        img = load_rgb(path)
        if img.shape[0] >= h and img.shape[1] >= w:
            return torch.from_numpy(img[:h, :w].astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, h, w, generator=g)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench(weights: str, h: int, w: int, threads: int, steps: int, warmup: int = 1, method: str = "ssl",
          device: str = "cpu") -> Dict:
    torch.set_num_threads(threads)
    model = R.load_model(weights).to(device)
    x = bench_input(h, w).to(device)
    lmbda = R.card_lambda(weights) or 0.0067
    with R._Frozen(model):
        ref = R.Refiner(model, x, lmbda, method)
        for t in range(warmup):  # first steps allocate buffers / pick kernels
            ref.step(t)
        _sync(device)
        times = []
        for t in range(warmup, warmup + steps):
            t0 = time.perf_counter()
            ref.step(t)
            _sync(device)
            times.append(time.perf_counter() - t0)
    return {"ms_per_step": 1000.0 * float(np.mean(times)), "ms_min": 1000.0 * float(np.min(times)),
            "torch_version": torch.__version__, "threads": threads, "device": device, "size": [h, w],
            "method": method, "steps": steps, "warmup": warmup, "model": os.path.basename(weights)}


def compare(weights: str, images: Sequence[str], methods: Sequence[str], checkpoints=(100, 250, 500),
            crop: int = 128, seed: int = 0, lmbda=None) -> List[Dict]:
    """True-loss change (refined - unrefined) at each checkpoint for each method and image."""
    model = R.load_model(weights)
    lmbda = lmbda or R.card_lambda(weights)
    rows = []
    for img in images:
        x = R.image_tensor(os.path.join(KODAK, img), crop)
        for m in methods:
            res = R.refine(model, x, lmbda, m, iters=max(checkpoints), seed=seed, eval_every=50)
            th = {e.t: e for e in res["true_history"]}
            base = th[0]
            rows.append({"image": img, "method": m, "loss0": base.loss, "bpp0": base.bpp, "psnr0": base.psnr,
                         **{f"d_loss@{c}": th[c].loss - base.loss for c in checkpoints},
                         **{f"d_bpp@{c}": th[c].bpp - base.bpp for c in checkpoints},
                         **{f"d_psnr@{c}": th[c].psnr - base.psnr for c in checkpoints},
                         "best_loss": res["best_loss"], "best_t": res["best_t"], "seconds": res["seconds"]})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def print_table(rows: List[Dict], methods: Sequence[str], checkpoints=(100, 250, 500)) -> None:
    print("mean over images: true-loss change (%) | bpp change | PSNR change (dB)")
    print("method  " + "  ".join(f"{'@' + str(c):>26s}" for c in checkpoints))
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        cells = []
        for c in checkpoints:
            dl = np.mean([100.0 * r[f"d_loss@{c}"] / r["loss0"] for r in rs])
            db = np.mean([r[f"d_bpp@{c}"] for r in rs])
            dp = np.mean([r[f"d_psnr@{c}"] for r in rs])
            cells.append(f"{dl:+7.2f}% {db:+8.4f} {dp:+6.3f}dB")
        print(f"{m:7s} " + "  ".join(f"{s:>26s}" for s in cells))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=TEST_MODEL)
    p.add_argument("--size", default="512x768", help="HxW, multiples of 64")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--method", default="ssl", choices=R.METHODS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compare", action="store_true", help="run the method comparison instead")
    p.add_argument("--images", default="kodim01.png,kodim05.png,kodim15.png,kodim23.png")
    p.add_argument("--methods", default="sga,linear,cosine,ssl,ssl3")
    p.add_argument("--crop", type=int, default=128)
    args = p.parse_args(argv)
    if args.compare:
        torch.set_num_threads(args.threads)
        methods = args.methods.split(",")
        rows = compare(args.weights, args.images.split(","), methods, crop=args.crop)
        print_table(rows, methods)
        return 0
    h, w = (int(v) for v in args.size.lower().split("x"))
    print(json.dumps(bench(args.weights, h, w, args.threads, args.steps, args.warmup, args.method, args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
