"""Kodak evaluation with estimated rate.

    python3 -m sgai_train.evaluate --ckpt training/runs/c64-l0067/last.pt
    python3 -m sgai_train.evaluate --ckpt resources/models/sgai-msh-c64-l0067.safetensors

bpp = sum(-log2 likelihoods of y_hat and z_hat) / (H*W) from the entropy
models (an estimate: real bitstreams are slightly larger). PSNR is on the
reconstruction clipped to [0,1] and rounded to 8 bit. Images are replicate-
padded to a multiple of 64 and cropped back. Averages are over the 24 images.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .data import DATASETS, load_rgb
from .model import MeanScaleHyperprior

KODAK = os.path.join(DATASETS, "kodak")


def kodak_paths(root: str = KODAK, limit: int = 0) -> List[str]:
    paths = sorted(glob.glob(os.path.join(root, "kodim*.png")))
    return paths[:limit] if limit else paths


@torch.no_grad()
def evaluate_image(model: MeanScaleHyperprior, img_u8: np.ndarray, device="cpu") -> Dict[str, float]:
    h, w, _ = img_u8.shape
    x = torch.from_numpy(img_u8.astype(np.float32) / 255.0).permute(2, 0, 1)[None].to(device)
    ph, pw = (-h) % 64, (-w) % 64
    xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if (ph or pw) else x
    out = model(xp, training=False)
    bits = sum(float(-torch.log2(l).sum()) for l in out["likelihoods"].values())
    x_hat = out["x_hat"][..., :h, :w].clamp(0, 1)
    rec = torch.round(x_hat * 255.0)
    mse = float(((rec - x * 255.0) ** 2).mean())
    return {"bpp": bits / (h * w), "psnr": 10 * math.log10(255.0**2 / mse) if mse > 0 else 99.0}


def evaluate(model: MeanScaleHyperprior, root: str = KODAK, limit: int = 0, device="cpu") -> Dict[str, object]:
    model.eval()
    per = []
    for p in kodak_paths(root, limit):
        r = evaluate_image(model, load_rgb(p), device)
        r["image"] = os.path.basename(p)
        per.append(r)
    if not per:
        raise FileNotFoundError(f"no kodim*.png under {root}")
    return {
        "bpp": float(np.mean([r["bpp"] for r in per])),
        "psnr": float(np.mean([r["psnr"] for r in per])),
        "images": len(per), "per_image": per,
    }


def load_any(path: str) -> MeanScaleHyperprior:
    """A training checkpoint (.pt) or an exported .safetensors (N, M from its card)."""
    if path.endswith(".safetensors"):
        from .export import load_exported
        return load_exported(path)
    from .train import load_model_from_checkpoint
    model = load_model_from_checkpoint(path)
    # Same preparation as export, so numbers for .pt and .safetensors agree.
    model.entropy_bottleneck.update_quantiles()
    return model


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True)
    p.add_argument("--kodak", default=KODAK)
    p.add_argument("--limit", type=int, default=0, help="first K images only (quick look)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--per-image", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    res = evaluate(load_any(args.ckpt), args.kodak, args.limit)
    if args.per_image:
        for r in res["per_image"]:
            print(f"{r['image']}: {r['bpp']:.4f} bpp  {r['psnr']:.3f} dB")
    print(f"Kodak ({res['images']} images): {res['bpp']:.4f} bpp (estimated), {res['psnr']:.3f} dB PSNR (8-bit)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
