"""Counter-based Gumbel noise shared bit-for-bit with the TypeScript refinement engine.

A stateful RNG (torch.Generator, Math.random) cannot be reproduced across
languages, so the noise is a pure function of (seed, stream, iteration,
element, class) built from MurmurHash3's 32-bit finaliser (fmix32):

    key  = fmix32(fmix32(seed ^ 0x9E3779B9) ^ (stream * 0x85EBCA6B) ^ (t * 0xC2B2AE35))   (mod 2^32)
    bits = fmix32(key ^ fmix32(i)),   i = e * K + k
    u    = clip((bits + 0.5) / 2^32, 1e-10, 1 - 1e-10)      (float64)
    g    = float32(-log(-log(u)))

e indexes the latent tensor in HWC order (batch dropped, channels last),
k the class. Stream 0 is y, stream 1 is z.

Two implementations: numpy (uint64, the reference) and torch (int64, runs on
the tensor's device). Both avoid 64-bit overflow, so they agree exactly.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

M32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9
C1 = 0x85EBCA6B
C2 = 0xC2B2AE35
U_MIN = 1e-10
STREAM_Y = 0
STREAM_Z = 1


def fmix32_int(h: int) -> int:
    """fmix32 on one Python int (used for the per-iteration key)."""
    h &= M32
    h ^= h >> 16
    h = (h * C1) & M32
    h ^= h >> 13
    h = (h * C2) & M32
    h ^= h >> 16
    return h


def key(seed: int, stream: int, t: int) -> int:
    return fmix32_int(fmix32_int((seed & M32) ^ GOLDEN) ^ ((stream * C1) & M32) ^ ((t * C2) & M32))


# --------------------------------------------------------------------------- numpy reference


def fmix32_np(h: np.ndarray) -> np.ndarray:
    # uint64 holds any product of two 32-bit values, so masking gives the exact mod 2^32.
    h = h.astype(np.uint64) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(C1)) & np.uint64(M32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(C2)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    return h


def uniform_np(seed: int, stream: int, t: int, count: int, start: int = 0) -> np.ndarray:
    """float64 u for counters start .. start+count-1."""
    i = np.arange(start, start + count, dtype=np.uint64) & np.uint64(M32)
    bits = fmix32_np(np.uint64(key(seed, stream, t)) ^ fmix32_np(i))
    u = (bits.astype(np.float64) + 0.5) / 4294967296.0
    return np.clip(u, U_MIN, 1.0 - U_MIN)


def gumbel_np(seed: int, stream: int, t: int, count: int, start: int = 0) -> np.ndarray:
    """float32 Gumbel(0, 1) noise for counters start .. start+count-1."""
    u = uniform_np(seed, stream, t, count, start)
    return (-np.log(-np.log(u))).astype(np.float32)


# --------------------------------------------------------------------------- torch


def _mul32(h: torch.Tensor, c: int) -> torch.Tensor:
    """(h * c) mod 2^32 for 0 <= h < 2^32 in int64 without overflow.

    A direct int64 product can reach 2^64 (signed overflow); splitting c into
    16-bit halves keeps every intermediate below 2^49.
    """
    lo, hi = c & 0xFFFF, c >> 16
    return (h * lo + (((h * hi) & 0xFFFF) << 16)) & M32


def fmix32_torch(h: torch.Tensor) -> torch.Tensor:
    h = h & M32
    h = h ^ (h >> 16)
    h = _mul32(h, C1)
    h = h ^ (h >> 13)
    h = _mul32(h, C2)
    h = h ^ (h >> 16)
    return h


def counter_hash(count: int, device=None) -> torch.Tensor:
    """fmix32(i) for i < count (int64); independent of seed and t, so it can be cached."""
    i = torch.arange(count, dtype=torch.int64, device=device) & M32
    return fmix32_torch(i)


def gumbel_torch(seed: int, stream: int, t: int, count: int, device=None,
                 hashed: Optional[torch.Tensor] = None) -> torch.Tensor:
    """float32 Gumbel noise [count], identical to gumbel_np(seed, stream, t, count)."""
    if hashed is None:
        hashed = counter_hash(count, device)
    bits = fmix32_torch(hashed ^ key(seed, stream, t))
    u = ((bits.to(torch.float64) + 0.5) / 4294967296.0).clamp(U_MIN, 1.0 - U_MIN)
    return (-torch.log(-torch.log(u))).to(torch.float32)


class GumbelSource:
    """Noise for one NCHW latent tensor (batch 1), returned as [1, C, H, W, K].

    Caches fmix32(i) for the tensor's size: only the key changes per iteration.
    """

    def __init__(self, seed: int, stream: int, shape, classes: int, device=None):
        if len(shape) != 4 or shape[0] != 1:
            raise ValueError(f"expected a [1, C, H, W] latent, got {tuple(shape)}")
        self.seed, self.stream, self.classes = int(seed), int(stream), int(classes)
        _, self.c, self.h, self.w = (int(s) for s in shape)
        count = self.c * self.h * self.w * self.classes
        if count > 2**32:
            raise ValueError("tensor too large for 32-bit counters")
        self.hashed = counter_hash(count, device)

    def __call__(self, t: int) -> torch.Tensor:
        g = gumbel_torch(self.seed, self.stream, t, self.hashed.numel(), hashed=self.hashed)
        # Counters run over [H, W, C, K]; move to the NCHW layout used by the model.
        return g.reshape(self.h, self.w, self.c, self.classes).permute(2, 0, 1, 3).unsqueeze(0)


def gumbel_for(seed: int, stream: int, t: int, shape, classes: int, device=None) -> torch.Tensor:
    """One-off [1, C, H, W, K] noise (see GumbelSource)."""
    return GumbelSource(seed, stream, shape, classes, device)(t)


def _self_check() -> None:
    assert math.isclose(float(gumbel_np(1, 0, 0, 1)[0]), float(gumbel_torch(1, 0, 0, 1)[0]))


if __name__ == "__main__":
    _self_check()
    print("seed 1, stream 0, t 0:", gumbel_np(1, 0, 0, 8).tolist())
