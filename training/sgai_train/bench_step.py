"""Seconds per training step for one configuration, on a fixed batch.

    python3 -m sgai_train.bench_step --n 64 --m 96 --batch 8 --crop 256 --threads 1 [--channels-last] [--compile]

Runs warm-up steps (compilation happens there), then times `--steps` full
training steps (forward, rate-distortion loss, backward, clip, Adam, aux step)
on the same batch and prints one JSON line: the median seconds per step and
images per second. Used for the training-stack table in training/README.md;
the comparison runs alternate configurations so machine load hits all alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from .data import TrainData
from .model import MeanScaleHyperprior, rd_loss


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--m", type=int, default=96)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = MeanScaleHyperprior(a.n, a.m).train()
    x = next(TrainData(1, crop=a.crop, use_photos=False).batches(a.batch))[0]
    if a.channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fwd = torch.compile(model.forward) if a.compile else model.forward
    opt = torch.optim.Adam(model.network_parameters(), lr=1e-4)
    aux_opt = torch.optim.Adam(model.aux_parameters(), lr=1e-3)
    times, first = [], None
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        l = rd_loss(fwd(x), x, 0.0067)
        opt.zero_grad(set_to_none=True)
        l["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.network_parameters(), 1.0)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad(set_to_none=True)
        aux.backward()
        aux_opt.step()
        dt = time.perf_counter() - t0
        if i == 0:
            first = dt
        if i >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({"torch": torch.__version__, "n": a.n, "m": a.m, "batch": a.batch, "crop": a.crop,
                      "threads": a.threads, "channels_last": a.channels_last, "compile": a.compile,
                      "first_step_s": round(first, 2), "s_per_step": round(med, 3),
                      "images_per_s": round(a.batch / med, 2),
                      "pixels_per_s": round(a.batch * a.crop * a.crop / med)}), flush=True)


if __name__ == "__main__":
    main()
