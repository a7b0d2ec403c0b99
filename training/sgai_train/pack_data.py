"""Training data from a sprint pack (make_sprint_pack.py), preloaded into memory.

Same interface and seeding as data.TrainData: epoch e's order is a permutation from
rng([seed, e]), sample (e, pos)'s crop/flips from rng([seed, e, pos]); batches(batch, epoch,
pos) yields (x [B,3,c,c] float in [0,1], (epoch, pos) after the batch), so a run resumes
exactly from (epoch, pos).

All crops are decoded once (threads: PIL releases the GIL while decoding) and kept as uint8
tensors on `device`: on a GPU a batch is then a few slicing kernels and no host-to-device
copy, so data loading cannot starve the GPU (a pack of ~850 288x288 crops is ~0.2 GB).
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import List

import numpy as np
import torch
from PIL import Image

from .data import epoch_samples, validation_photos


def _decode(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)  # a writable copy for torch


def read_pack(pack_dir: str) -> tuple:
    """(index dict, list of JPEG bytes) of a pack folder; refuses a pack that holds validation photos."""
    with open(os.path.join(pack_dir, "index.json")) as f:
        index = json.load(f)
    held_out = set(validation_photos())
    bad = [e["source"] for e in index["entries"] if e["source"] in held_out or "kodak" in e["source"].lower()]
    if bad:  # the split may have changed after the pack was built
        raise ValueError(f"sprint pack {pack_dir} holds held-out photos: {bad[:3]}... rebuild it")
    blobs = []
    with open(os.path.join(pack_dir, "pack.tar"), "rb") as f:
        import tarfile
        with tarfile.open(fileobj=f) as tf:
            members = {m.name: m for m in tf.getmembers()}
        for e in index["entries"]:
            m = members[e["member"]]
            f.seek(m.offset_data)
            blobs.append(f.read(m.size))
    return index, blobs


class PackData:
    def __init__(self, pack_dir: str, seed: int, crop: int = 256, device="cpu", limit: int = 0, threads: int = 8):
        self.seed, self.crop = int(seed), int(crop)
        self.index, blobs = read_pack(pack_dir)
        if limit:
            blobs = blobs[:limit]
        if not blobs:
            raise FileNotFoundError(f"empty sprint pack {pack_dir}")
        with ThreadPoolExecutor(max(1, threads)) as ex:
            arrays = list(ex.map(_decode, blobs))
        small = [a.shape for a in arrays if min(a.shape[:2]) < self.crop]
        if small:
            raise ValueError(f"pack crops {small[0]} smaller than the training crop {self.crop}")
        dev = torch.device(device)
        self.images: List[torch.Tensor] = [torch.from_numpy(a).to(dev) for a in arrays]  # HWC uint8
        self.device = dev

    def __len__(self) -> int:
        return len(self.images)

    def order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.images))

    def sample(self, epoch: int, pos: int, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, epoch, pos])
        img = self.images[index]
        h, w, _ = img.shape
        c = self.crop
        x0, y0 = int(rng.integers(0, w - c + 1)), int(rng.integers(0, h - c + 1))
        a = img[y0:y0 + c, x0:x0 + c]
        dims = [d for d, flip in ((1, rng.random() < 0.5), (0, rng.random() < 0.5)) if flip]
        return torch.flip(a, dims) if dims else a

    def batches(self, batch_size: int, epoch: int = 0, pos: int = 0):
        """Yield (batch [B,3,c,c] float32 in [0,1] on the device, (epoch, pos) AFTER this batch)."""
        for imgs, (epoch, pos) in epoch_samples(self, batch_size, epoch, pos):
            x = torch.stack(imgs).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
            yield x, (epoch, pos)
