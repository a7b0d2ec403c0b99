"""Train a MeanScaleHyperprior; checkpoints atomically and resumes exactly.

    python3 -m sgai_train.train --n 64 --m 96 --lmbda 0.0067 --run training/runs/c64-l0067 --steps 100000

Re-running the same command (same --run) resumes from <run>/last.pt: model,
both optimisers, scheduler, RNG states and data position are restored, so the
loss curve continues exactly as if it had never stopped.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import signal
import sys
import time
from typing import Any, Dict

import numpy as np
import torch

from .data import TrainData
from .model import MeanScaleHyperprior, rd_loss, rd_step

CSV_FIELDS = ["step", "epoch", "loss", "bpp", "mse", "psnr", "aux", "lr", "train_s"]
# Settings that may differ when a run is resumed; everything else comes from the checkpoint.
RESUMABLE_OVERRIDES = ("run", "steps", "lr_drop_at", "threads", "compile", "channels_last", "ckpt_minutes", "ckpt_every", "stop_at", "log_every", "device")


class StepDropLR:
    """lr = base until step `drop_at`, then base * gamma; optional linear warm-up;
    or (kind "cosine") a cosine decay from base at the end of the warm-up to
    base * gamma at `total` steps.

    The warm-up (first `warmup` steps ramp from base/warmup to base) matters
    for a warm start (fine-tune, widened model): fresh Adam moments make the
    first steps move every weight by ~lr, which wrecks a trained model at
    lr 5e-4. A hand-rolled schedule (instead of MultiStepLR) so that --steps/--lr-drop-at
    can be changed when a run is resumed: the lr is a pure function of step.
    """

    def __init__(self, optimizer, base_lr: float, drop_at: int, gamma: float = 0.1, warmup: int = 0,
                 kind: str = "step", total: int = 0):
        self.optimizer, self.base_lr, self.drop_at, self.gamma = optimizer, base_lr, int(drop_at), gamma
        self.warmup, self.kind, self.total = int(warmup), kind, int(total)

    def lr_at(self, step: int) -> float:
        ramp = min(1.0, (step + 1) / self.warmup) if self.warmup > 0 else 1.0
        if self.kind == "cosine":
            span = max(1, self.total - self.warmup)
            t = min(1.0, max(0.0, (step - self.warmup) / span))
            return self.base_lr * ramp * (self.gamma + (1 - self.gamma) * 0.5 * (1 + math.cos(math.pi * t)))
        return self.base_lr * ramp * (self.gamma if step >= self.drop_at else 1.0)

    def apply(self, step: int) -> float:
        lr = self.lr_at(step)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        return lr

    def state_dict(self) -> Dict[str, Any]:
        return {"base_lr": self.base_lr, "drop_at": self.drop_at, "gamma": self.gamma, "warmup": self.warmup,
                "kind": self.kind, "total": self.total}

    def load_state_dict(self, d: Dict[str, Any]) -> None:
        self.base_lr, self.gamma = d["base_lr"], d["gamma"]
        self.drop_at = d["drop_at"]
        self.warmup = int(d.get("warmup", 0))
        self.kind, self.total = d.get("kind", "step"), int(d.get("total", 0))


def parse_args(argv=None):
    """Parsed args plus the set of option names given explicitly on the command line."""
    args = _parser().parse_args(argv)
    probe = _parser()
    probe.set_defaults(**{k: None for k in vars(args)})
    given = {k for k, v in vars(probe.parse_args(argv)).items() if v is not None}
    return args, given


def _parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--m", type=int, default=96)
    p.add_argument("--lmbda", type=float, default=0.0067)
    p.add_argument("--run", required=True, help="run folder (checkpoints, log.csv)")
    p.add_argument("--steps", type=int, default=100000, help="total steps of the run")
    p.add_argument("--lr-drop-at", type=int, default=None, help="step of the x0.1 lr drop (default 0.9*steps)")
    p.add_argument("--init-from", default=None,
                   help="checkpoint (.pt) or exported weights (.safetensors) to take the model weights from (warm start)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=None,
                   help="network Adam lr (default 1e-4; given on a resume it replaces the stored one)")
    p.add_argument("--latent-gain", default=None,
                   help="with --init-from: scale the latents by this gain first, or 'auto' to pick the gain "
                        "with the lowest loss at --lmbda on a few training batches (moves a model to another rate)")
    p.add_argument("--warmup", type=int, default=0, help="linear lr warm-up steps (warm starts)")
    p.add_argument("--schedule", choices=("step", "cosine"), default="step",
                   help="step: x0.1 at --lr-drop-at; cosine: decay to lr x --lr-floor at --steps")
    p.add_argument("--lr-floor", type=float, default=0.1, help="final lr as a fraction of --lr (cosine), the drop factor (step)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory layout (faster oneDNN convolutions on CPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (PyTorch 2.x; first step compiles)")
    p.add_argument("--aux-lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--no-photos", action="store_true", help="train-pack crops only (no crops of train/ photos)")
    p.add_argument("--data-limit", type=int, default=0, help="use only the first K images (tests)")
    p.add_argument("--pack", default=None,
                   help="train on a sprint pack folder (make_sprint_pack.py) preloaded on the device "
                        "instead of shared/datasets")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--ckpt-every", type=int, default=0, help="also checkpoint every K steps (0: off)")
    p.add_argument("--stop-at", type=int, default=0, help="checkpoint and exit after this step (simulates a stop)")
    p.add_argument("--log-every", type=int, default=1)
    return p


def atomic_save(obj, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic on POSIX: a reader sees the old or the new file


def rng_state() -> Dict[str, Any]:
    st = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: Dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def load_checkpoint(path: str, map_location="cpu") -> Dict[str, Any]:
    # Our checkpoints hold numpy/python RNG states, which PyTorch >= 2.6's
    # default weights_only=True refuses; they are our own files, so allow them.
    return torch.load(path, map_location=map_location, weights_only=False)


def load_model_from_checkpoint(path: str, map_location="cpu") -> MeanScaleHyperprior:
    ck = load_checkpoint(path, map_location)
    a = ck["args"]
    model = MeanScaleHyperprior(a["n"], a["m"])
    model.load_state_dict(ck["model"])
    return model


def _truncate_log(path: str, upto_step: int) -> None:
    if not os.path.exists(path):
        return
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["step"]) <= upto_step]
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)
    os.replace(path + ".tmp", path)


def make_data(args, dev):
    if getattr(args, "pack", None):
        from .pack_data import PackData
        return PackData(args.pack, args.seed, crop=args.crop, device=dev, limit=args.data_limit)
    return TrainData(args.seed, crop=args.crop, use_photos=not args.no_photos, limit=args.data_limit)


def _initial_latent_gain(model: MeanScaleHyperprior, args) -> float:
    from .latent_gain import apply_latent_gain, best_latent_gain

    if args.latent_gain == "auto":
        # Batches from a stream of their own, so the training data order is unaffected.
        probe = make_data(argparse.Namespace(**{**vars(args), "seed": args.seed + 7919}), "cpu")
        it = probe.batches(args.batch, 0, 0)
        batches = [next(it)[0] for _ in range(4)]
        gain, tried = best_latent_gain(model, batches, args.lmbda)
        print("latent gain search: " + ", ".join(f"{s:g}: {l:.4f}" for s, l in tried) + f" -> {gain:g}", flush=True)
    else:
        gain = float(args.latent_gain)
    apply_latent_gain(model, gain)
    model.train()
    return gain


def train(argv=None) -> Dict[str, Any]:
    args, given = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "last.pt")
    log_path = os.path.join(args.run, "log.csv")

    resume = os.path.exists(ckpt_path)
    ck = None
    if resume:
        ck = load_checkpoint(ckpt_path)
        stored = ck["args"]
        # Only options given on this command line replace stored ones, so a bare
        # resume (just --run) continues with the run's own settings.
        for k in RESUMABLE_OVERRIDES:
            if k in given or k == "run":
                stored[k] = getattr(args, k)
        if args.lr is not None and args.lr != stored["lr"]:
            print(f"lr changed on resume: {stored['lr']} -> {args.lr}", flush=True)
            stored.setdefault("lr_history", [[0, stored["lr"]]]).append([ck["step"], args.lr])
            stored["lr"] = args.lr
        args = argparse.Namespace(**stored)
    elif args.lr is None:
        args.lr = 1e-4
    # TrainData leaves the validation split out of every step run by this code (model cards say so).
    args.held_out = "training/validation-split.txt" 
    if args.lr_drop_at is not None:
        drop_at = args.lr_drop_at
    elif resume and "steps" not in given:
        drop_at = ck["scheduler"]["drop_at"]
    else:
        drop_at = int(0.9 * args.steps)

    # Seed everything before the model is built: its init draws from torch's RNG.
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    dev = torch.device(args.device)
    model = MeanScaleHyperprior(args.n, args.m)
    if args.init_from and not resume:
        if args.init_from.endswith(".safetensors"):
            from .export import keep_base, load_exported
            model.load_state_dict(load_exported(args.init_from).state_dict())
            keep_base(args.init_from, args.run)
        else:
            src = load_checkpoint(args.init_from)
            model.load_state_dict(src["model"] if "model" in src else src)
        if args.latent_gain:  # a fresh run: args come from this command line
            args.latent_gain_applied = _initial_latent_gain(model, args)
    model.to(dev).train()
    if getattr(args, "channels_last", False):
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.network_parameters(), lr=args.lr)
    aux_opt = torch.optim.Adam(model.aux_parameters(), lr=args.aux_lr)
    sched = StepDropLR(opt, args.lr, drop_at, gamma=getattr(args, "lr_floor", 0.1), warmup=getattr(args, "warmup", 0),
                       kind=getattr(args, "schedule", "step"), total=args.steps)
    data = make_data(args, dev)

    step, epoch, pos, train_s = 0, 0, 0, 0.0
    if resume:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        aux_opt.load_state_dict(ck["aux_optimizer"])
        sched.load_state_dict(ck["scheduler"])
        sched.drop_at, sched.base_lr, sched.total = drop_at, args.lr, args.steps
        step, epoch, pos = ck["step"], ck["data"]["epoch"], ck["data"]["pos"]
        train_s = ck.get("train_seconds", 0.0)
        set_rng_state(ck["rng"])
        _truncate_log(log_path, step)  # steps after the checkpoint will be redone
        print(f"resumed {ckpt_path} at step {step} (epoch {epoch}, pos {pos})", flush=True)
    else:
        with open(os.path.join(args.run, "config.json"), "w") as f:
            json.dump(vars(args), f, indent=1)
    del ck

    from .export import hardware_string
    hardware = hardware_string(args.threads, args.device)

    def save() -> None:
        atomic_save({
            "args": vars(args), "model": model.state_dict(), "optimizer": opt.state_dict(),
            "aux_optimizer": aux_opt.state_dict(), "scheduler": sched.state_dict(),
            "step": step, "data": {"epoch": epoch, "pos": pos}, "rng": rng_state(),
            "train_seconds": train_s, "saved_at": time.time(),
            "torch_version": torch.__version__, "hardware": hardware,
        }, ckpt_path)

    stop = {"flag": False}

    def on_signal(signum, frame):  # finish the current step, save, exit
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    new_log = not os.path.exists(log_path)
    logf = open(log_path, "a", newline="")
    logw = csv.DictWriter(logf, CSV_FIELDS)
    if new_log:
        logw.writeheader()

    last_ckpt = time.time()
    batches = data.batches(args.batch, epoch, pos)
    net_params = model.network_parameters()
    # The forward pass is compiled, not the module: state_dict names stay the same.
    forward = torch.compile(model.forward) if getattr(args, "compile", False) else model.forward
    while step < args.steps and not stop["flag"]:
        t0 = time.time()
        x, (epoch, pos) = next(batches)
        x = x.to(dev)
        if getattr(args, "channels_last", False):
            x = x.contiguous(memory_format=torch.channels_last)
        lr = sched.apply(step)
        out = forward(x)
        l = rd_loss(out, x, args.lmbda)
        finite, aux = rd_step(l, model, opt, aux_opt, net_params, args.clip)
        if not finite:  # the log shows the nan
            print(f"step {step + 1}: non-finite loss, update skipped", flush=True)
        step += 1
        train_s += time.time() - t0

        if step % args.log_every == 0 or step == args.steps:
            mse = l["mse"].item()
            logw.writerow({
                "step": step, "epoch": epoch, "loss": f"{l['loss'].item():.7g}", "bpp": f"{l['bpp'].item():.7g}",
                "mse": f"{mse:.7g}", "psnr": f"{10 * math.log10(1.0 / max(mse, 1e-12)):.4f}",
                "aux": f"{aux.item():.5g}", "lr": f"{lr:.3g}", "train_s": f"{train_s:.1f}",
            })
            logf.flush()
        if (time.time() - last_ckpt > 60 * args.ckpt_minutes
                or (args.ckpt_every and step % args.ckpt_every == 0)
                or step == args.stop_at):
            save()
            last_ckpt = time.time()
        if step == args.stop_at:
            break
    save()
    logf.close()
    print(f"stopped at step {step}; checkpoint {ckpt_path}", flush=True)
    return {"step": step, "run": args.run}


def main() -> None:
    train(sys.argv[1:])


if __name__ == "__main__":
    main()
