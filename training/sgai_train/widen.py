"""Widen a trained mean-scale hyperprior (N0, M0) -> (N1, M1), keeping its function.

    python3 -m sgai_train.widen --from training/runs/c64-l0067/last.pt --n 128 --m 192 \\
        --out training/runs/s128-init.pt

Why: on a CPU a few hundred steps of a standard-width model from scratch give a
useless codec, while a trained compact model already holds most of what the
wider one has to learn. The widened model starts with the compact model's
reconstruction and rate, and its extra channels then learn from there (a
Net2Net-style warm start, Chen et al. 2016).

How the function is kept:
- every weight from an old channel to an old channel is copied;
- weights from a *new* input channel to an *old* output channel are zero, so
  old outputs cannot see the new channels until training moves those weights
  (their gradient is not zero: the new channels carry values, or noise in
  training);
- weights into new channels come from a fresh default initialisation, except
  at the three outputs that cost rate: new latent channels of y (g_a's last
  layer) start near zero, new hyper-latent channels of z (h_a's last layer)
  start at zero, and their entropy models start peaked at zero (scale at its
  lower bound for y, a copy of the most peaked old channel's density for z),
  so the extra channels cost almost nothing at the start;
- GDN/IGDN: old beta/gamma copied; gamma between old and new channels is zero.
The h_s output is [scales (M), means (M)]; old scales and means are mapped to
the first M0 channels of each half.
"""

from __future__ import annotations

import argparse
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from .model import SCALE_BOUND, MeanScaleHyperprior

# Scale of g_a's new latent rows relative to their default init: small enough
# that the new y channels round to zero, not zero (which would freeze them).
NEW_LATENT_INIT_GAIN = 0.01


def _index_map(old: int, new: int, halves: bool = False) -> List[int]:
    """Position in the new tensor of each old channel."""
    if not halves:
        return list(range(old))
    h_old, h_new = old // 2, new // 2
    return list(range(h_old)) + [h_new + i for i in range(h_old)]


def _copy_block(dst: Tensor, src: Tensor, out_map: Sequence[int], in_map: Optional[Sequence[int]],
                new_in: Optional[Sequence[int]], transposed: bool) -> None:
    """dst[out, in] = src for old (out, in); dst[old out, new in] = 0."""
    o = torch.tensor(out_map)
    if in_map is None:  # bias / per-channel vector
        dst[o] = src
        return
    i = torch.tensor(in_map)
    if transposed:  # ConvTranspose2d weight: [in, out, kh, kw]
        dst[i[:, None], o[None, :]] = src
        if new_in:
            dst[torch.tensor(new_in)[:, None], o[None, :]] = 0
    else:  # Conv2d weight: [out, in, kh, kw]
        dst[o[:, None], i[None, :]] = src
        if new_in:
            dst[o[:, None], torch.tensor(new_in)[None, :]] = 0


def _most_peaked_channel(model: MeanScaleHyperprior) -> int:
    """Old z channel whose density gives the value at its median the highest probability."""
    eb = model.entropy_bottleneck
    with torch.no_grad():
        med = eb.medians().reshape(-1, 1, 1)
        p = eb.likelihood_cv(med)
    return int(torch.argmax(p.reshape(-1)))


@torch.no_grad()
def widen(small: MeanScaleHyperprior, n: int, m: int, seed: int = 0) -> MeanScaleHyperprior:
    n0, m0 = small.N, small.M
    if n < n0 or m < m0:
        raise ValueError(f"cannot widen N={n0}/M={m0} to the smaller N={n}/M={m}")
    torch.manual_seed(seed)
    big = MeanScaleHyperprior(n, m)
    src: Dict[str, Tensor] = small.state_dict()
    dst: Dict[str, Tensor] = {k: v.clone() for k, v in big.state_dict().items()}
    m3_0, m3_1 = m0 * 3 // 2, m * 3 // 2

    def new_of(old: int, new: int, halves: bool = False) -> List[int]:
        keep = set(_index_map(old, new, halves))
        return [c for c in range(new) if c not in keep]

    # (prefix, cin0, cin1, cout0, cout1, transposed, output in halves)
    layers = [
        ("g_a.0", 3, 3, n0, n, False, False), ("g_a.2", n0, n, n0, n, False, False),
        ("g_a.4", n0, n, n0, n, False, False), ("g_a.6", n0, n, m0, m, False, False),
        ("g_s.0", m0, m, n0, n, True, False), ("g_s.2", n0, n, n0, n, True, False),
        ("g_s.4", n0, n, n0, n, True, False), ("g_s.6", n0, n, 3, 3, True, False),
        ("h_a.0", m0, m, n0, n, False, False), ("h_a.2", n0, n, n0, n, False, False),
        ("h_a.4", n0, n, n0, n, False, False),
        ("h_s.0", n0, n, m0, m, True, False), ("h_s.2", m0, m, m3_0, m3_1, True, False),
        ("h_s.4", m3_0, m3_1, 2 * m0, 2 * m, False, True),
    ]
    for prefix, ci0, ci1, co0, co1, transposed, halves in layers:
        out_map = _index_map(co0, co1, halves)
        in_map = _index_map(ci0, ci1)
        w, b = f"{prefix}.weight", f"{prefix}.bias"
        _copy_block(dst[w], src[w], out_map, in_map, new_of(ci0, ci1), transposed)
        _copy_block(dst[b], src[b], out_map, None, None, transposed)

    # Outputs that cost rate start (near) silent.
    new_y = new_of(m0, m)
    dst["g_a.6.weight"][new_y] *= NEW_LATENT_INIT_GAIN
    dst["g_a.6.bias"][new_y] = 0
    new_z = new_of(n0, n)
    dst["h_a.4.weight"][new_z] = 0
    dst["h_a.4.bias"][new_z] = 0
    new_scales = new_y
    new_means = [m + c for c in new_y]
    dst["h_s.4.weight"][new_scales + new_means] = 0
    dst["h_s.4.bias"][new_scales] = SCALE_BOUND
    dst["h_s.4.bias"][new_means] = 0

    # GDN / IGDN: old block copied, cross terms stay at the fresh init (0 effective).
    for prefix in ("g_a.1", "g_a.3", "g_a.5", "g_s.1", "g_s.3", "g_s.5"):
        idx = torch.arange(n0)
        dst[f"{prefix}.beta"][idx] = src[f"{prefix}.beta"]
        dst[f"{prefix}.gamma"][idx[:, None], idx[None, :]] = src[f"{prefix}.gamma"]

    # Entropy bottleneck: old channels copied, new ones copy the most peaked old channel.
    peaked = _most_peaked_channel(small)
    for k, v in src.items():
        if not k.startswith("entropy_bottleneck.") or v.dim() == 0 or v.shape[0] != n0:
            continue
        dst[k][:n0] = v
        dst[k][n0:] = v[peaked]
    big.load_state_dict(dst)
    return big


def main(argv: Optional[List[str]] = None) -> None:
    from .train import atomic_save, load_model_from_checkpoint

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="src", required=True, help="checkpoint (train.py last.pt) of the narrow model")
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--m", type=int, default=192)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="checkpoint to write (use with train.py --init-from)")
    a = p.parse_args(argv)
    small = load_model_from_checkpoint(a.src)
    big = widen(small, a.n, a.m, a.seed)
    # The source path is kept so that an export can trace the model's whole training history.
    atomic_save({"model": big.state_dict(), "widened_from": a.src, "from_N": small.N, "from_M": small.M,
                 "N": a.n, "M": a.m, "seed": a.seed}, a.out)
    print(f"widened N={small.N}/M={small.M} -> N={a.n}/M={a.m}: {a.out}")


if __name__ == "__main__":
    main()
