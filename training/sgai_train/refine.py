"""SGA / SGA+ latent refinement (reference implementation for the TypeScript engine).

    python3 -m sgai_train.refine --weights test/fixtures/models/sgai-test-n32m48.safetensors \\
        --image /work/shared/datasets/kodak/kodim23.png --method ssl --iters 500 --crop 128

Written from shared/docs/sgaplus-method.md §3-§5 and §8 (Yang et al. 2020, "SGA";
Perugachi-Diaz et al. 2024, "SGA+"). The trained model is frozen; y = g_a(x)
and z = h_a(y) become leaf tensors optimised with Adam on the relaxed
rate-distortion loss

    L = λ·255²·MSE(x, g_s(ŷ)) + (Σ -log2 P_y(ŷ) + Σ -log2 P_z(ẑ)) / (H·W)
    ẑ = med + relax(z - med, τ),   (σ, μ) = split(h_s(ẑ)),   ŷ = μ + relax(y - μ, τ)

relax() replaces rounding with a Gumbel-softmax mixture of the neighbouring
integers (two classes: floor/ceil; three classes: round(v) - 1, round(v),
round(v) + 1). The Gumbel noise comes from refine_noise (counter-based, same
values in TypeScript). Rounding is relative to the medians for z and to μ for
y, matching what the coder writes. The best iterate by hard-rounded ("true")
loss is tracked and returned alongside the last one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .model import MeanScaleHyperprior
from .refine_noise import STREAM_Y, STREAM_Z, GumbelSource

TWO_CLASS = ("sga", "linear", "cosine", "ssl")
THREE_CLASS = ("linear3", "cosine3", "ssl3")
METHODS = TWO_CLASS + THREE_CLASS

CLIP2 = 1e-5  # two-class distance clip (atanh diverges at 1, logit at 0 and 1)
CLIP3 = 1e-6  # three-class clip / floor
COS_EPS = 1e-7

DEFAULT_A = {"ssl": 2.3, "ssl3": 1.4}  # SSL: paper's main setting; ssl3: reference code default
DEFAULT_R_F = 0.98
DEFAULT_N = 1.4

LR = 0.005
BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def classes_of(method: str) -> int:
    if method in TWO_CLASS:
        return 2
    if method in THREE_CLASS:
        return 3
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


# --------------------------------------------------------------------------- rounding probabilities


def log_q2(d: Tensor, method: str, a: float = DEFAULT_A["ssl"]) -> Tensor:
    """log q(d): log-probability (unnormalised for 'sga') of rounding to a neighbour at distance d.

    d is clipped to at most 1 - 1e-5 here as well as in relax2 (idempotent), so
    the function is finite on all of [0, 1]; 'sga' and 'ssl' also clip below at 1e-5.
    """
    hi = 1.0 - CLIP2
    if method == "sga":
        return -torch.atanh(d.clamp(CLIP2, hi))
    if method == "linear":
        return torch.log(1.0 - d.clamp(max=hi))
    if method == "cosine":
        return torch.log(torch.cos(0.5 * math.pi * d.clamp(max=hi)) ** 2 + COS_EPS)
    if method == "ssl":
        # log sigmoid(-a·logit(d)) = -softplus(a·logit(d)), without forming (d/(1-d))^a.
        return -F.softplus(a * torch.logit(d.clamp(CLIP2, hi)))
    raise ValueError(f"not a two-class method: {method!r}")


def log_q3(D: Tensor, method: str, r_f: float = DEFAULT_R_F, n: float = DEFAULT_N,
           a: float = DEFAULT_A["ssl3"]) -> Tensor:
    """log q₃(D) for the three-class variants, D = |v - k| in [0, 1.5]."""
    if method == "linear3":
        return n * torch.log((1.0 - r_f * D).clamp(min=CLIP3))
    if method == "cosine3":
        # cos(π/2) is -4.4e-8 in float32: clamp at 0 so the fractional power is not NaN.
        c = torch.cos(0.5 * math.pi * (r_f * D).clamp(max=1.0)).clamp(min=0.0)
        return torch.log(c ** n + COS_EPS)
    if method == "ssl3":
        p = (r_f * D / 1.5).clamp(CLIP3, 1.0 - CLIP3)
        # log max(sigmoid(-a·logit p), 1e-6) = max(-softplus(a·logit p), log 1e-6)
        return n * (-F.softplus(a * torch.logit(p))).clamp(min=math.log(CLIP3))
    raise ValueError(f"not a three-class method: {method!r}")


def _params(method: str, a: Optional[float], r_f: float, n: float) -> Dict[str, float]:
    if method in ("ssl", "ssl3"):
        return {"a": DEFAULT_A[method] if a is None else float(a), **({"r_f": r_f, "n": n} if method == "ssl3" else {})}
    if method in ("linear3", "cosine3"):
        return {"r_f": r_f, "n": n}
    return {}


def relax2(v: Tensor, tau: float, g: Tensor, method: str, a: Optional[float] = None) -> Tensor:
    """Two-class Gumbel-softmax rounding of v; g is Gumbel noise of shape v.shape + (2,) (floor, ceil)."""
    f, c = torch.floor(v), torch.ceil(v)
    hi = 1.0 - CLIP2
    d_f = (v - f).clamp(max=hi)
    d_c = (c - v).clamp(max=hi)
    p = _params(method, a, DEFAULT_R_F, DEFAULT_N)
    logits = torch.stack([log_q2(d_f, method, **p), log_q2(d_c, method, **p)], dim=-1) / tau
    # τ appears twice (logits and softmax temperature), as in the published code.
    w = torch.softmax((logits + g) / tau, dim=-1)
    # Integer v: f == c, so the output is v whatever w is; nothing divides by c - f.
    return w[..., 0] * f + w[..., 1] * c


def relax3(v: Tensor, tau: float, g: Tensor, method: str, a: Optional[float] = None,
           r_f: float = DEFAULT_R_F, n: float = DEFAULT_N) -> Tensor:
    """Three-class rounding over {r-1, r, r+1}, r = round(v) (half to even); g: v.shape + (3,)."""
    r = torch.round(v)
    k = torch.stack([r - 1.0, r, r + 1.0], dim=-1)
    D = torch.abs(v.unsqueeze(-1) - k)
    logits = log_q3(D, method, **_params(method, a, r_f, n)) / tau
    w = torch.softmax((logits + g) / tau, dim=-1)
    return (w * k).sum(dim=-1)


def relax(v: Tensor, tau: float, g: Tensor, method: str, a: Optional[float] = None,
          r_f: float = DEFAULT_R_F, n: float = DEFAULT_N) -> Tensor:
    if classes_of(method) == 2:
        return relax2(v, tau, g, method, a)
    return relax3(v, tau, g, method, a, r_f, n)


def class_weights(v: Tensor, tau: float, g: Tensor, method: str, a: Optional[float] = None,
                  r_f: float = DEFAULT_R_F, n: float = DEFAULT_N) -> Tuple[Tensor, Tensor, Tensor]:
    """(candidates, distances, weights), each v.shape + (K,): the pieces of relax() for fixtures/tests."""
    if classes_of(method) == 2:
        f, c = torch.floor(v), torch.ceil(v)
        k = torch.stack([f, c], dim=-1)
        d = torch.stack([(v - f), (c - v)], dim=-1).clamp(max=1.0 - CLIP2)
        lq = log_q2(d, method, **_params(method, a, r_f, n))
    else:
        r = torch.round(v)
        k = torch.stack([r - 1.0, r, r + 1.0], dim=-1)
        d = torch.abs(v.unsqueeze(-1) - k)
        lq = log_q3(d, method, **_params(method, a, r_f, n))
    w = torch.softmax((lq / tau + g) / tau, dim=-1)
    return k, d, w


# --------------------------------------------------------------------------- temperature


def tau_sgaplus(t: int, r: float = 1e-3, tau_max: float = 1.0) -> float:
    """SGA+: τ(t) = min(exp(-r·t), τ_max)."""
    return min(math.exp(-r * t), tau_max)


def tau_sga(t: int, r: float = 1e-3, tau_max: float = 0.5, delay: float = 700.0, tau_min: float = 1e-8) -> float:
    """SGA as published: flat τ_max for `delay` steps, then τ_max·exp(-r·(t - delay)), floored at 1e-8."""
    return min(tau_max, max(tau_min, tau_max * math.exp(-r * (t - delay))))


def schedule_for(method: str, schedule: Optional[str] = None, tau_r: float = 1e-3,
                 tau_max: Optional[float] = None) -> Callable[[int], float]:
    """τ(t) for a method; schedule None means 'sga' for method 'sga' and 'sgaplus' otherwise.

    tau_max None means the schedule's own default (1.0 for sgaplus, 0.5 for sga).
    """
    schedule = schedule or ("sga" if method == "sga" else "sgaplus")
    if schedule == "sgaplus":
        tm = 1.0 if tau_max is None else float(tau_max)
        return lambda t: tau_sgaplus(t, tau_r, tm)
    if schedule == "sga":
        tm = 0.5 if tau_max is None else float(tau_max)
        return lambda t: tau_sga(t, tau_r, tm)
    raise ValueError(f"unknown schedule {schedule!r} (sgaplus, sga)")


# --------------------------------------------------------------------------- loss


def psnr_of(mse: float) -> float:
    return 10.0 * math.log10(1.0 / mse) if mse > 0 else 99.0


def rd_terms(model: MeanScaleHyperprior, x: Tensor, y_hat: Tensor, z_hat: Tensor, scales: Tensor,
             means: Tensor, lmbda: float) -> Dict[str, Tensor]:
    """λ·255²·MSE + bpp with the training likelihoods (σ floored at 0.11, P floored at 1e-9)."""
    h, w = x.shape[-2:]
    y_lik = model.gaussian_conditional.likelihood(y_hat, scales, means)
    z_lik = model.entropy_bottleneck.likelihood(z_hat)
    bpp = (-torch.log2(y_lik).sum() - torch.log2(z_lik).sum()) / (h * w)
    x_hat = model.g_s(y_hat)  # not clamped, as in training
    mse = torch.mean((x - x_hat) ** 2)
    return {"loss": lmbda * 255.0**2 * mse + bpp, "bpp": bpp, "mse": mse, "x_hat": x_hat}


def medians_of(model: MeanScaleHyperprior) -> Tensor:
    return model.entropy_bottleneck.medians().detach().reshape(1, -1, 1, 1)


@torch.no_grad()
def hard_eval(model: MeanScaleHyperprior, x: Tensor, y: Tensor, z: Tensor, lmbda: float) -> Dict[str, float]:
    """True loss: ẑ = med + round(z - med), ŷ = μ(ẑ) + round(y - μ(ẑ)) (what the coder writes)."""
    med = medians_of(model)
    z_hat = med + torch.round(z - med)
    scales, means = model.hyper_params(z_hat)
    y_hat = means + torch.round(y - means)
    r = rd_terms(model, x, y_hat, z_hat, scales, means, lmbda)
    mse = float(r["mse"])
    # 8-bit PSNR (clip + round) for reporting; the loss uses the unclamped float MSE.
    rec = torch.round(r["x_hat"].clamp(0, 1) * 255.0)
    mse8 = float(torch.mean((rec - x * 255.0) ** 2)) / 255.0**2
    return {"loss": float(r["loss"]), "bpp": float(r["bpp"]), "mse": mse, "psnr": psnr_of(mse),
            "psnr8": psnr_of(mse8)}


class Step(NamedTuple):
    t: int
    loss: float
    bpp: float
    psnr: float
    tau: float


class TrueEval(NamedTuple):
    t: int  # number of Adam steps taken (0 = unrefined encoder output)
    loss: float
    bpp: float
    psnr: float


class Refiner:
    """Holds the state of one refinement so that refine() and the benchmark share the step."""

    def __init__(self, model: MeanScaleHyperprior, x: Tensor, lmbda: float, method: str = "ssl",
                 lr: float = LR, seed: int = 0, a: Optional[float] = None, r_f: float = DEFAULT_R_F,
                 n: float = DEFAULT_N, schedule: Optional[str] = None, tau_r: float = 1e-3,
                 tau_max: Optional[float] = None):
        if x.dim() != 4 or x.shape[0] != 1:
            raise ValueError("x must be [1, 3, H, W]")
        if x.shape[-1] % 64 or x.shape[-2] % 64:
            raise ValueError(f"image size {tuple(x.shape[-2:])} must be a multiple of 64")
        self.model, self.x, self.lmbda = model, x, float(lmbda)
        self.method, self.K = method, classes_of(method)
        self.a, self.r_f, self.n = a, r_f, n
        self.tau = schedule_for(method, schedule, tau_r, tau_max)
        self.med = medians_of(model)
        with torch.no_grad():
            y0 = model.g_a(x)
            z0 = model.h_a(y0)
        self.y = y0.detach().clone().requires_grad_(True)
        self.z = z0.detach().clone().requires_grad_(True)
        self.opt = torch.optim.Adam([self.y, self.z], lr=lr, betas=BETAS, eps=ADAM_EPS)
        self.noise_y = GumbelSource(seed, STREAM_Y, self.y.shape, self.K, x.device)
        self.noise_z = GumbelSource(seed, STREAM_Z, self.z.shape, self.K, x.device)

    def _relax(self, v: Tensor, tau: float, g: Tensor) -> Tensor:
        return relax(v, tau, g, self.method, self.a, self.r_f, self.n)

    def relaxed(self, t: int) -> Tuple[Dict[str, Tensor], float]:
        """Relaxed loss at iteration t for the current (y, z); differentiable."""
        tau = self.tau(t)
        z_hat = self.med + self._relax(self.z - self.med, tau, self.noise_z(t))
        scales, means = self.model.hyper_params(z_hat)
        y_hat = means + self._relax(self.y - means, tau, self.noise_y(t))
        r = rd_terms(self.model, self.x, y_hat, z_hat, scales, means, self.lmbda)
        r.update(y_hat=y_hat, z_hat=z_hat)
        return r, tau

    def step(self, t: int) -> Tuple[Dict[str, Tensor], float]:
        r, tau = self.relaxed(t)
        self.opt.zero_grad(set_to_none=True)
        r["loss"].backward()
        self.opt.step()
        return r, tau

    def hard(self) -> Dict[str, float]:
        return hard_eval(self.model, self.x, self.y.detach(), self.z.detach(), self.lmbda)


class _Frozen:
    """Turns off requires_grad on the model's parameters for the duration (no wasted weight gradients)."""

    def __init__(self, model: torch.nn.Module):
        self.model = model

    def __enter__(self):
        self.saved = [(p, p.requires_grad) for p in self.model.parameters()]
        for p, _ in self.saved:
            p.requires_grad_(False)
        return self

    def __exit__(self, *exc):
        for p, rg in self.saved:
            p.requires_grad_(rg)


def refine(model: MeanScaleHyperprior, x: Tensor, lmbda: float, method: str = "ssl", iters: int = 500,
           lr: float = LR, seed: int = 0, a: Optional[float] = None, r_f: float = DEFAULT_R_F,
           n: float = DEFAULT_N, tau_r: float = 1e-3, tau_max: Optional[float] = None,
           eval_every: int = 50, time_budget: Optional[float] = None, schedule: Optional[str] = None) -> Dict:
    """Refine y, z of image x ([1, 3, H, W] in [0, 1], H and W multiples of 64).

    method: 'sga' (atanh), 'linear', 'cosine', 'ssl' (parameter a, default 2.3),
    'linear3', 'cosine3', 'ssl3' (r_f, n, a; defaults 0.98, 1.4, 1.4).
    Schedule: SGA+ τ = min(exp(-tau_r·t), tau_max) (tau_max default 1.0); method
    'sga' defaults to its published schedule (tau_max default 0.5, 700 flat steps).
    time_budget: seconds; the loop stops early once exceeded.

    Returns dict with y, z (last iterate), best_y, best_z (lowest true loss,
    possibly the unrefined encoder output), best_t, best_loss, iters (steps
    done), history [Step(t, loss, bpp, psnr, tau)] of the relaxed loss before
    step t, history_mse, and true_history [TrueEval(t, loss, bpp, psnr)] with t
    = steps taken (0, every eval_every, and the end).
    """
    start = time.perf_counter()
    with _Frozen(model):
        R = Refiner(model, x, lmbda, method, lr, seed, a, r_f, n, schedule, tau_r, tau_max)
        history: List[Step] = []
        history_mse: List[float] = []
        true_history: List[TrueEval] = []

        def evaluate(t: int):
            h = R.hard()
            true_history.append(TrueEval(t, h["loss"], h["bpp"], h["psnr"]))
            return h["loss"]

        best_loss = evaluate(0)
        best = (0, R.y.detach().clone(), R.z.detach().clone())
        done = 0
        for t in range(iters):
            if time_budget is not None and time.perf_counter() - start > time_budget:
                break
            r, tau = R.step(t)
            mse = float(r["mse"])
            history.append(Step(t, float(r["loss"]), float(r["bpp"]), psnr_of(mse), tau))
            history_mse.append(mse)
            done = t + 1
            if eval_every and done % eval_every == 0 and done < iters:
                loss = evaluate(done)
                if loss < best_loss:
                    best_loss, best = loss, (done, R.y.detach().clone(), R.z.detach().clone())
        if done > 0 and (not true_history or true_history[-1].t != done):
            loss = evaluate(done)
            if loss < best_loss:
                best_loss, best = loss, (done, R.y.detach().clone(), R.z.detach().clone())
    return {
        "y": R.y.detach(), "z": R.z.detach(), "best_y": best[1], "best_z": best[2], "best_t": best[0],
        "best_loss": best_loss, "iters": done, "history": history, "history_mse": history_mse,
        "true_history": true_history, "seconds": time.perf_counter() - start,
    }


# --------------------------------------------------------------------------- CLI


def load_model(path: str) -> MeanScaleHyperprior:
    from .evaluate import load_any
    return load_any(path).eval()


def card_lambda(path: str) -> Optional[float]:
    """λ from the model card next to an exported .safetensors, or from a training checkpoint's args."""
    if path.endswith(".safetensors"):
        card = os.path.splitext(path)[0] + ".json"
        if os.path.exists(card):
            with open(card) as f:
                return float(json.load(f)["lambda"])
        return None
    from .train import load_checkpoint
    lm = load_checkpoint(path).get("args", {}).get("lmbda")
    return None if lm is None else float(lm)


def image_tensor(path: str, crop: int = 0, top: Optional[int] = None, left: Optional[int] = None) -> Tensor:
    """[1, 3, H, W] in [0, 1]; centre crop of crop x crop, else cropped down to multiples of 64."""
    from .data import load_rgb
    img = load_rgb(path)
    h, w, _ = img.shape
    ch, cw = (crop, crop) if crop else (h - h % 64, w - w % 64)
    if ch > h or cw > w or ch <= 0 or cw <= 0:
        raise ValueError(f"cannot crop {ch}x{cw} from {h}x{w}")
    t0 = (h - ch) // 2 if top is None else top
    l0 = (w - cw) // 2 if left is None else left
    img = img[t0:t0 + ch, l0:l0 + cw]
    return torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--ckpt", help="training checkpoint (.pt) or exported .safetensors")
    src.add_argument("--weights", help="exported .safetensors (λ read from the card next to it)")
    p.add_argument("--image", required=True)
    p.add_argument("--method", default="ssl", choices=METHODS)
    p.add_argument("--iters", type=int, default=500)
    p.add_argument("--lmbda", type=float, default=None, help="default: the model's training λ")
    p.add_argument("--crop", type=int, default=0, help="centre crop size (multiple of 64); 0 = whole image")
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--a", type=float, default=None)
    p.add_argument("--r-f", type=float, default=DEFAULT_R_F)
    p.add_argument("--n", type=float, default=DEFAULT_N)
    p.add_argument("--schedule", choices=("sgaplus", "sga"), default=None)
    p.add_argument("--tau-r", type=float, default=1e-3)
    p.add_argument("--tau-max", type=float, default=None)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--time-budget", type=float, default=None, help="seconds")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="write the histories here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = args.weights or args.ckpt
    model = load_model(path).to(args.device)
    lmbda = args.lmbda if args.lmbda is not None else card_lambda(path)
    if lmbda is None:
        p.error("no λ in the model card/checkpoint: pass --lmbda")
    x = image_tensor(args.image, args.crop).to(args.device)
    res = refine(model, x, lmbda, args.method, args.iters, args.lr, args.seed, args.a, args.r_f, args.n,
                 args.tau_r, args.tau_max, args.eval_every, args.time_budget, args.schedule)
    before = hard_eval(model, x, *_initial(model, x), lmbda)
    last = hard_eval(model, x, res["y"], res["z"], lmbda)
    best = hard_eval(model, x, res["best_y"], res["best_z"], lmbda)
    print(f"{os.path.basename(args.image)} {x.shape[-2]}x{x.shape[-1]}  method {args.method}  λ {lmbda}  "
          f"{res['iters']} iterations in {res['seconds']:.1f} s")
    for name, r in (("before", before), ("last", last), (f"best (t={res['best_t']})", best)):
        print(f"  {name:14s} loss {r['loss']:.5f}  bpp {r['bpp']:.5f}  PSNR {r['psnr']:.3f} dB "
              f"(8-bit {r['psnr8']:.3f} dB)")
    for e in res["true_history"]:
        print(f"  true t={e.t:5d}  loss {e.loss:.5f}  bpp {e.bpp:.5f}  PSNR {e.psnr:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"history": [s._asdict() for s in res["history"]],
                       "true_history": [e._asdict() for e in res["true_history"]],
                       "before": before, "last": last, "best": best, "best_t": res["best_t"]}, f, indent=1)
    return 0


@torch.no_grad()
def _initial(model: MeanScaleHyperprior, x: Tensor) -> Tuple[Tensor, Tensor]:
    y = model.g_a(x)
    return y, model.h_a(y)


if __name__ == "__main__":
    sys.exit(main())
