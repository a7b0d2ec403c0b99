"""Build the GPU sprint's training pack: one tar of JPEG crops small enough to travel.

    python3 -m sgai_train.make_sprint_pack [--out carry/sprint-pack] [--max-mb 35] [--size 288]

The device machine gets only the working tree (64 MiB in all), not shared/datasets, so the
sprint trains on a pack carried along in the ignored folder carry/sprint-pack/:
  pack.tar    SIZExSIZE JPEG crops (q95, 4:2:0, baseline, as train-pack/make_pack.py), 000000.jpg...
  index.json  one entry per crop (member, source photo, scale, box) + the settings and the
              sha256 of the validation split it excludes.
One crop per photo of shared/datasets/train (never Kodak, never the validation photos of
training/validation-split.txt), photos in a seeded shuffled order until --max-mb is reached:
one crop per photo keeps the pack as varied as the budget allows. Each crop: scale s ~
U(max(0.5, SIZE/short side), 1) (downscaling hides the source JPEG's artefacts, as in the
train-pack), a random SIZExSIZE box (redrawn up to 8 times if near-flat). SIZE 288 > the 256
training crop leaves room for random crops at training time. Deterministic: photo i's crop
comes from rng([seed, i]) (i = its index in sorted order), independent of the others.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tarfile
from typing import List, Optional

import numpy as np
from PIL import Image, ImageOps

from .data import DATASETS, VALIDATION_SPLIT, validation_photos

JPEG_KW = dict(quality=95, subsampling=2, optimize=False, progressive=False)
FLAT_STD = 6.0
TAR_OVERHEAD = 1024  # header + padding per member, for the budget


def photo_list(root: str) -> List[str]:
    """Training photos (relative to train/), sorted, validation photos removed."""
    train = os.path.join(root, "train")
    held_out = set(validation_photos())
    rel = []
    for d, _, files in os.walk(train):
        for f in files:
            if f.lower().endswith(".jpg"):
                rel.append(os.path.relpath(os.path.join(d, f), train))
    rel = sorted(r for r in rel if r not in held_out)
    assert not any("kodak" in r.lower() for r in rel), "Kodak is test-only"
    return rel


def crop_photo(path: str, size: int, rng: np.random.Generator):
    img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    w, h = img.size
    s_min = max(0.5, size / min(w, h))
    s = float(rng.uniform(s_min, 1.0)) if s_min < 1.0 else s_min
    w2, h2 = max(size, round(w * s)), max(size, round(h * s))
    img = img.resize((w2, h2), Image.LANCZOS)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w2 - size + 1)), int(rng.integers(0, h2 - size + 1))
        c = img.crop((x0, y0, x0 + size, y0 + size))
        if np.asarray(c.convert("L"), dtype=np.float32).std() >= FLAT_STD:
            break
    buf = io.BytesIO()
    c.save(buf, "JPEG", **JPEG_KW)
    return buf.getvalue(), {"scale": round(s, 6), "box": [x0, y0, x0 + size, y0 + size]}


def build(out: str, root: str = DATASETS, max_mb: float = 35.0, size: int = 288, seed: int = 20261202,
          limit: int = 0) -> dict:
    photos = photo_list(root)
    order = np.random.default_rng(seed).permutation(len(photos))
    budget = int(max_mb * 1e6)
    os.makedirs(out, exist_ok=True)
    tar_path = os.path.join(out, "pack.tar")
    entries, total = [], 2 * 512  # tar end blocks
    with tarfile.open(tar_path + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tf:
        for i in order:
            if limit and len(entries) >= limit:
                break
            data, info = crop_photo(os.path.join(root, "train", photos[i]), size, np.random.default_rng([seed, int(i)]))
            if total + len(data) + TAR_OVERHEAD > budget:
                break  # stop at the first crop that does not fit: the pack is a prefix of the order
            name = f"{len(entries):06d}.jpg"
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode, ti.uid, ti.gid = len(data), 0, 0o644, 0, 0
            tf.addfile(ti, io.BytesIO(data))
            total += len(data) + TAR_OVERHEAD
            entries.append({"member": name, "source": photos[i], "bytes": len(data), **info})
    os.replace(tar_path + ".tmp", tar_path)
    with open(VALIDATION_SPLIT, "rb") as f:
        split_sha = hashlib.sha256(f.read()).hexdigest()
    index = {
        "format": "sgai-sprint-pack-v1", "size": size, "seed": seed, "maxMB": max_mb, "jpeg": JPEG_KW,
        "count": len(entries), "photosAvailable": len(photos), "validationSplitSha256": split_sha,
        "validationPhotosExcluded": len(validation_photos()), "packBytes": os.path.getsize(tar_path),
        "source": "shared/datasets/train (one crop per photo, seeded order); Kodak and validation photos excluded",
        "entries": entries,
    }
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=0)
    return index


def auto_budget_mb(cap_mb: float = 35.0, margin: int = 2**20) -> float:
    """The pack's budget: the cap, or what the tracked tree leaves of the device tool's 64 MiB
    (the tree grows with every benchmark committed, so a fixed 35 MB stopped fitting)."""
    from .sprint import TREE_LIMIT, tree_bytes

    tree = int(tree_bytes()["treeBytes"])
    left = TREE_LIMIT - tree - margin
    if left <= 0:
        raise SystemExit(f"the tracked tree alone leaves no room for a pack under {TREE_LIMIT / 2**20:.0f} MiB")
    mb = min(cap_mb, left / 1e6)
    print(f"pack budget {mb:.1f} MB (tree {tree / 2**20:.1f} MiB of {TREE_LIMIT / 2**20:.0f} MiB)", flush=True)
    return mb


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="carry/sprint-pack")
    p.add_argument("--root", default=DATASETS, help="datasets folder (env SGAI_DATASETS)")
    p.add_argument("--max-mb", type=float, default=None,
                   help="size budget of pack.tar in MB (1e6 bytes); default: 35, or less so that the tree that "
                        "travels to a GPU machine (git ls-files + this pack) stays 1 MiB under its 64 MiB")
    p.add_argument("--size", type=int, default=288, help="stored crop size (>= the training crop)")
    p.add_argument("--seed", type=int, default=20261202)
    p.add_argument("--limit", type=int, default=0, help="at most K crops (tests)")
    a = p.parse_args(argv)
    max_mb = a.max_mb if a.max_mb is not None else auto_budget_mb()
    idx = build(a.out, a.root, max_mb, a.size, a.seed, a.limit)
    tot = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"{a.out}: {idx['count']} crops {a.size}x{a.size} of {idx['photosAvailable']} training photos "
          f"(validation excluded); pack.tar {idx['packBytes'] / 1e6:.2f} MB, folder {tot / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
