"""Training data: 256x256 crops from the train-pack tar shards, optionally plus
random crops from the full photos in shared/datasets/train.

Resumable by construction: the sample order of epoch e is a permutation drawn
from rng([seed, e]) and the augmentation of item i of epoch e from
rng([seed, e, i]). The whole iterator state is therefore (epoch, position),
which goes into the checkpoint.

Kodak is never read here, and neither are the validation photos
(training/validation-split.txt) nor the train-pack crops cut from them.
"""

from __future__ import annotations

import glob
import io
import os
import tarfile
from typing import List, Tuple

import numpy as np
import torch
from PIL import Image, ImageOps

DATASETS = os.environ.get("SGAI_DATASETS", "/work/shared/datasets")
VALIDATION_SPLIT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "validation-split.txt")


def validation_photos(split_file: str = VALIDATION_SPLIT) -> List[str]:
    """Paths (relative to datasets/train) of the fixed validation photos."""
    with open(split_file) as f:
        return [line.split()[1] for line in f if line.strip() and not line.startswith("#")]


def pack_sources(root: str = DATASETS) -> dict:
    """train-pack member name -> the train/ photo it was cut from (from index.csv)."""
    import csv
    with open(os.path.join(root, "train-pack", "index.csv"), newline="") as f:
        return {r["member"]: r["source"] for r in csv.DictReader(f)}


class _Source:
    """One decodable image: a tar member (offset, size) or a file path."""

    __slots__ = ("tar", "offset", "size", "path")

    def __init__(self, tar=None, offset=0, size=0, path=None):
        self.tar, self.offset, self.size, self.path = tar, offset, size, path


def epoch_samples(data, batch_size: int, epoch: int, pos: int):
    """Yield (list of batch_size samples, (epoch, pos) after them) from any dataset with
    order(epoch) and sample(epoch, pos, index): the resumable walk both data sources share."""
    order = data.order(epoch)
    while True:
        imgs = []
        while len(imgs) < batch_size:
            if pos >= len(order):
                epoch, pos = epoch + 1, 0
                order = data.order(epoch)
            imgs.append(data.sample(epoch, pos, int(order[pos])))
            pos += 1
        yield imgs, (epoch, pos)


class TrainData:
    def __init__(self, seed: int, crop: int = 256, use_photos: bool = True, root: str = DATASETS,
                 limit: int = 0):
        self.seed = int(seed)
        self.crop = int(crop)
        self.sources: List[_Source] = []
        self._files = {}
        held_out = set(validation_photos())
        crop_source = pack_sources(root)
        for shard in sorted(glob.glob(os.path.join(root, "train-pack", "shard-*.tar"))):
            with tarfile.open(shard) as tf:
                members = sorted((m for m in tf.getmembers() if m.isfile() and m.name.endswith(".jpg")),
                                 key=lambda m: m.name)
                for m in members:
                    if crop_source[os.path.basename(m.name)] in held_out:
                        continue
                    self.sources.append(_Source(tar=shard, offset=m.offset_data, size=m.size))
        if use_photos:
            for p in sorted(glob.glob(os.path.join(root, "train", "**", "*.jpg"), recursive=True)):
                if os.path.relpath(p, os.path.join(root, "train")) not in held_out:
                    self.sources.append(_Source(path=p))
        if limit:
            self.sources = self.sources[:limit]
        if not self.sources:
            raise FileNotFoundError(f"no training images under {root}")
        for s in self.sources:
            assert "kodak" not in (s.path or s.tar), "Kodak is test-only"

    def __len__(self) -> int:
        return len(self.sources)

    def _read(self, s: _Source) -> Image.Image:
        if s.tar is not None:
            # Read the member bytes directly by offset: cheaper than tarfile lookups.
            f = self._files.get(s.tar)
            if f is None:
                f = self._files[s.tar] = open(s.tar, "rb")
            f.seek(s.offset)
            img = Image.open(io.BytesIO(f.read(s.size)))
        else:
            img = ImageOps.exif_transpose(Image.open(s.path))
        return img.convert("RGB")

    def order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.sources))

    def sample(self, epoch: int, pos: int, index: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch, pos])
        img = self._read(self.sources[index])
        w, h = img.size
        c = self.crop
        if w < c or h < c:  # small photos: upscale just enough (none in the current set)
            s = c / min(w, h)
            img = img.resize((max(c, round(w * s)), max(c, round(h * s))), Image.BICUBIC)
            w, h = img.size
        x0 = int(rng.integers(0, w - c + 1))
        y0 = int(rng.integers(0, h - c + 1))
        a = np.asarray(img.crop((x0, y0, x0 + c, y0 + c)), dtype=np.uint8)
        if rng.random() < 0.5:
            a = a[:, ::-1]
        if rng.random() < 0.5:
            a = a[::-1]
        return a

    def batches(self, batch_size: int, epoch: int = 0, pos: int = 0):
        """Yield (batch [B,3,H,W] float in [0,1], (epoch, pos) AFTER this batch)."""
        for imgs, (epoch, pos) in epoch_samples(self, batch_size, epoch, pos):
            arr = np.stack(imgs).astype(np.float32) / 255.0
            yield torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous(), (epoch, pos)


def load_rgb(path: str) -> np.ndarray:
    """uint8 HWC RGB."""
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
