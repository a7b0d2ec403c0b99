"""SGA+ results experiment (docs/sgaplus-results.md): method sweep, BD tables, lambda retargeting.

    . training/env.sh
    /usr/bin/python3 -m sgai_train.make_experiment_family          # the 4-lambda base family
    /usr/bin/python3 -m sgai_train.sgaplus_experiment sweep        # 4 models x 5 methods x images, 500 it
    /usr/bin/python3 -m sgai_train.sgaplus_experiment extend       # sga + ssl continued to 1000 it (optional)
    /usr/bin/python3 -m sgai_train.sgaplus_experiment retarget     # lambda0/4, lambda0, 4 lambda0 on 24 images
    /usr/bin/python3 -m sgai_train.sgaplus_experiment ts-inputs    # inputs + PyTorch reference for the TS check
    npx tsx bench/sgaplus-check.ts                                 # the TS engine on the same inputs
    /usr/bin/python3 -m sgai_train.sgaplus_experiment report       # tables (markdown), summary.json, SVG plots

Images: Kodak downscaled by 4 with PIL's Lanczos filter (768x512 -> 192x128,
portraits 128x192), rounded to 8 bit. Each (model, method, image) is ONE
refinement of the longest budget (lr 0.005, seed 0) whose true (hard-rounded)
loss is evaluated every 10 iterations; the result at budget B is the best
true loss among the evaluations at t <= B (t = 0 is the unrefined encoder
output). The temperature schedules depend only on t, so this equals a run of
B iterations with best-iterate tracking. Rate is estimated from the
likelihoods (not a bitstream); PSNR is on clipped, 8-bit-rounded
reconstructions.

Refinements of the same model run batched (one forward/backward for many
images and methods). The loss is the sum of the per-element losses and Adam
is elementwise, so every element follows its own single-image trajectory (up
to float summation order); tests/test_sgaplus_experiment.py checks this
against refine.refine. Results are cached per (model, method, image) as JSON
under training/runs/exp-sweep, so every command resumes.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from . import refine as R
from .data import DATASETS
from .make_experiment_family import BASE_LAMBDA, FAMILY_DIR, family, model_path, tag
from .refine_noise import STREAM_Y, STREAM_Z, GumbelSource

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SWEEP_DIR = os.path.join(REPO, "training", "runs", "exp-sweep")
KODAK = os.path.join(DATASETS, "kodak")
ALL_IMAGES = tuple(f"kodim{i:02d}.png" for i in range(1, 25))
SWEEP_IMAGES = ("kodim01.png", "kodim05.png", "kodim15.png", "kodim23.png")
METHODS = ("sga", "linear", "cosine", "ssl", "ssl3")
BUDGETS = (100, 250, 500)
LONG_BUDGET = 1000
LONG_METHODS = ("sga", "ssl")
EVAL_EVERY = 10
SEED = 0
DOWNSCALE = 4
RETARGET_ITERS = 250
RETARGET_FACTORS = (0.25, 1.0, 4.0)
TS_IMAGES = ("kodim01.png", "kodim23.png")
TS_METHODS = ("ssl", "sga")
TS_ITERS = 100


# --------------------------------------------------------------------------- images


def kodak_small(name: str, factor: int = DOWNSCALE, root: str = KODAK) -> Tensor:
    """[1, 3, H/f, W/f] in [0, 1]: the Kodak image downscaled with Lanczos (PIL), 8-bit."""
    im = Image.open(os.path.join(root, name)).convert("RGB")
    w, h = im.size
    lanczos = getattr(Image, "Resampling", Image).LANCZOS
    small = im.resize((w // factor, h // factor), lanczos)
    arr = np.asarray(small, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()


# --------------------------------------------------------------------------- batched refinement


def _segments(methods: Sequence[str]) -> List[Tuple[int, int, str]]:
    """Runs of consecutive equal methods: [(start, end, method)]."""
    segs: List[Tuple[int, int, str]] = []
    for i, m in enumerate(methods):
        if segs and segs[-1][2] == m and segs[-1][1] == i:
            segs[-1] = (segs[-1][0], i + 1, m)
        else:
            segs.append((i, i + 1, m))
    return segs


class BatchRefiner:
    """Many independent refinements (same model, same image size) in one batch.

    Element b has its own image x[b], loss lambda lmbdas[b] and method methods[b]
    (with that method's default parameters and schedule, as in refine.refine).
    All elements use the same seed; the noise depends only on (seed, stream, t,
    counter), so each element sees exactly the noise of its single-image run.
    """

    def __init__(self, model, x: Tensor, lmbdas: Sequence[float], methods: Sequence[str], seed: int = SEED,
                 lr: float = R.LR, y0: Optional[Tensor] = None, z0: Optional[Tensor] = None):
        B = x.shape[0]
        if len(lmbdas) != B or len(methods) != B:
            raise ValueError("one lambda and one method per batch element")
        if x.shape[-1] % 64 or x.shape[-2] % 64:
            raise ValueError(f"image size {tuple(x.shape[-2:])} must be a multiple of 64")
        self.model, self.x = model, x
        self.lmbdas = torch.tensor([float(l) for l in lmbdas], dtype=torch.float32)
        self.methods = list(methods)
        self.segs = _segments(self.methods)
        self.sched = {m: R.schedule_for(m) for m in set(self.methods)}
        self.med = R.medians_of(model)
        with torch.no_grad():
            if y0 is None:
                y0 = model.g_a(x)
            if z0 is None:
                z0 = model.h_a(y0)
        self.y = y0.detach().clone().requires_grad_(True)
        self.z = z0.detach().clone().requires_grad_(True)
        self.opt = torch.optim.Adam([self.y, self.z], lr=lr, betas=R.BETAS, eps=R.ADAM_EPS)
        ks = sorted({R.classes_of(m) for m in self.methods})
        self.noise_y = {k: GumbelSource(seed, STREAM_Y, self.y[:1].shape, k) for k in ks}
        self.noise_z = {k: GumbelSource(seed, STREAM_Z, self.z[:1].shape, k) for k in ks}

    def _relax_all(self, v: Tensor, t: int, noise: Dict[int, Tensor]) -> Tensor:
        parts = []
        for s, e, m in self.segs:
            # [1, C, H, W, K] noise broadcasts over the elements of the segment.
            parts.append(R.relax(v[s:e], self.sched[m](t), noise[R.classes_of(m)], m))
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def terms(self, y_hat: Tensor, z_hat: Tensor, scales: Tensor, means: Tensor):
        """Per-element loss, bpp, mse (as refine.rd_terms, one value per element) and x_hat."""
        h, w = self.x.shape[-2:]
        y_lik = self.model.gaussian_conditional.likelihood(y_hat, scales, means)
        z_lik = self.model.entropy_bottleneck.likelihood(z_hat)
        bpp = -(torch.log2(y_lik).sum(dim=(1, 2, 3)) + torch.log2(z_lik).sum(dim=(1, 2, 3))) / (h * w)
        x_hat = self.model.g_s(y_hat)
        mse = torch.mean((self.x - x_hat) ** 2, dim=(1, 2, 3))
        return self.lmbdas * 255.0**2 * mse + bpp, bpp, mse, x_hat

    def step(self, t: int) -> Tensor:
        gy = {k: src(t) for k, src in self.noise_y.items()}
        gz = {k: src(t) for k, src in self.noise_z.items()}
        z_hat = self.med + self._relax_all(self.z - self.med, t, gz)
        scales, means = self.model.hyper_params(z_hat)
        y_hat = means + self._relax_all(self.y - means, t, gy)
        loss, _, _, _ = self.terms(y_hat, z_hat, scales, means)
        self.opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # element b's gradient is that of its own loss
        self.opt.step()
        return loss.detach()

    @torch.no_grad()
    def hard(self) -> List[Dict[str, float]]:
        """True loss per element (refine.hard_eval's convention), plus 8-bit PSNR."""
        z_hat = self.med + torch.round(self.z - self.med)
        scales, means = self.model.hyper_params(z_hat)
        y_hat = means + torch.round(self.y - means)
        loss, bpp, mse, x_hat = self.terms(y_hat, z_hat, scales, means)
        rec = torch.round(x_hat.clamp(0, 1) * 255.0)
        mse8 = torch.mean((rec - self.x * 255.0) ** 2, dim=(1, 2, 3)) / 255.0**2
        return [{"loss": float(loss[b]), "bpp": float(bpp[b]), "mse": float(mse[b]), "psnr": R.psnr_of(float(mse[b])),
                 "psnr8": R.psnr_of(float(mse8[b]))} for b in range(len(self.methods))]

    # ---- state, to continue a subset of the elements later (the 1000-iteration extension)

    def state(self) -> Dict[str, Tensor]:
        sy, sz = self.opt.state[self.y], self.opt.state[self.z]
        return {"y": self.y.detach().clone(), "z": self.z.detach().clone(), "step": sy["step"].clone(),
                "y_m": sy["exp_avg"].clone(), "y_v": sy["exp_avg_sq"].clone(),
                "z_m": sz["exp_avg"].clone(), "z_v": sz["exp_avg_sq"].clone()}

    def load_state(self, st: Dict[str, Tensor], idx: Sequence[int]) -> None:
        """Continue from elements idx of a saved state (this refiner's elements, in that order)."""
        i = torch.tensor(list(idx), dtype=torch.long)
        with torch.no_grad():
            self.y.copy_(st["y"][i])
            self.z.copy_(st["z"][i])
        self.opt.state[self.y] = {"step": st["step"].clone(), "exp_avg": st["y_m"][i].clone(),
                                  "exp_avg_sq": st["y_v"][i].clone()}
        self.opt.state[self.z] = {"step": st["step"].clone(), "exp_avg": st["z_m"][i].clone(),
                                  "exp_avg_sq": st["z_v"][i].clone()}


def run_batch(br: BatchRefiner, t_start: int, t_end: int, eval_every: int = EVAL_EVERY,
              histories: Optional[List[List[Dict]]] = None, progress: str = "") -> Tuple[List[List[Dict]], float]:
    """Steps t_start .. t_end-1; true loss before any step (if t_start == 0), every eval_every and at t_end."""
    B = len(br.methods)
    hist = histories if histories is not None else [[] for _ in range(B)]

    def ev(t: int):
        for b, h in enumerate(br.hard()):
            hist[b].append({"t": t, **{k: round(v, 7) for k, v in h.items()}})

    t0 = time.perf_counter()
    with R._Frozen(br.model):
        if t_start == 0:
            ev(0)
        for t in range(t_start, t_end):
            br.step(t)
            done = t + 1
            if done % eval_every == 0 or done == t_end:
                ev(done)
            if progress and done % 100 == 0:
                el = time.perf_counter() - t0
                print(f"{progress}: {done}/{t_end} it, {el:.0f} s, "
                      f"{1000 * el / ((done - t_start) * B):.1f} ms/it/element", flush=True)
    return hist, time.perf_counter() - t0


# --------------------------------------------------------------------------- snapshots and BD


def snapshot(history: Sequence[Dict], budget: int) -> Dict:
    """Best-so-far at budget B: the evaluation with the lowest true loss among those at t <= B (earliest on ties)."""
    best = None
    for e in history:
        if e["t"] <= budget and (best is None or e["loss"] < best["loss"]):
            best = e
    if best is None:
        raise ValueError(f"no evaluation at t <= {budget}")
    return best


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Monotone Hermite slopes (Fritsch-Carlson with Butland's harmonic weights; scipy's end rule)."""
    h = np.diff(x)
    m = np.diff(y) / h
    n = len(x)
    if n == 2:
        return np.array([m[0], m[0]])
    d = np.zeros(n)
    for k in range(1, n - 1):
        if m[k - 1] * m[k] <= 0:
            continue
        w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
        d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k])

    def end(h0, h1, m0, m1):
        s = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if np.sign(s) != np.sign(m0):
            return 0.0
        if np.sign(m0) != np.sign(m1) and abs(s) > abs(3 * m0):
            return 3 * m0
        return s

    d[0] = end(h[0], h[1], m[0], m[1])
    d[-1] = end(h[-1], h[-2], m[-1], m[-2])
    return d


def pchip_integral(x: Sequence[float], y: Sequence[float], a: float, b: float) -> float:
    """Exact integral over [a, b] (inside [x0, xn]) of the PCHIP interpolant through (x, y), x increasing."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = _pchip_slopes(x, y)
    total = 0.0
    for k in range(len(x) - 1):
        s, e = max(a, x[k]), min(b, x[k + 1])
        if e <= s:
            continue
        hk = x[k + 1] - x[k]
        mk = (y[k + 1] - y[k]) / hk
        c = (y[k], d[k], (3 * mk - 2 * d[k] - d[k + 1]) / hk, (d[k] + d[k + 1] - 2 * mk) / hk**2)

        def prim(t):
            return t * (c[0] + t * (c[1] / 2 + t * (c[2] / 3 + t * c[3] / 4)))

        total += prim(e - x[k]) - prim(s - x[k])
    return total


def _sorted(xs, ys):
    o = np.argsort(xs)
    return np.asarray(xs, float)[o], np.asarray(ys, float)[o]


def bd_rate(anchor: Sequence[Tuple[float, float]], test: Sequence[Tuple[float, float]]) -> float:
    """BD-rate in % of test vs anchor; points are (rate, psnr). log-rate as a PCHIP of PSNR over the PSNR overlap."""
    pa, la = _sorted([p for _, p in anchor], [math.log(r) for r, _ in anchor])
    pt, lt = _sorted([p for _, p in test], [math.log(r) for r, _ in test])
    lo, hi = max(pa[0], pt[0]), min(pa[-1], pt[-1])
    if hi <= lo:
        return float("nan")
    diff = (pchip_integral(pt, lt, lo, hi) - pchip_integral(pa, la, lo, hi)) / (hi - lo)
    return 100.0 * (math.exp(diff) - 1.0)


def overlaps(anchor: Sequence[Tuple[float, float]], test: Sequence[Tuple[float, float]]) -> Dict[str, float]:
    """Width of the common PSNR range (dB; BD-rate integrates over it) and common log-rate range (ln units;
    BD-PSNR integrates over it) as a fraction of the anchor's; <= 0 means no overlap."""
    pa, pt = [p for _, p in anchor], [p for _, p in test]
    la, lt = [math.log(r) for r, _ in anchor], [math.log(r) for r, _ in test]
    return {"psnr_db": min(max(pa), max(pt)) - max(min(pa), min(pt)),
            "lograte_frac": (min(max(la), max(lt)) - max(min(la), min(lt))) / (max(la) - min(la))}


def bd_psnr(anchor: Sequence[Tuple[float, float]], test: Sequence[Tuple[float, float]]) -> float:
    """BD-PSNR in dB of test vs anchor: PSNR as a PCHIP of log-rate over the log-rate overlap."""
    la, pa = _sorted([math.log(r) for r, _ in anchor], [p for _, p in anchor])
    lt, pt = _sorted([math.log(r) for r, _ in test], [p for _, p in test])
    lo, hi = max(la[0], lt[0]), min(la[-1], lt[-1])
    if hi <= lo:
        return float("nan")
    return (pchip_integral(lt, pt, lo, hi) - pchip_integral(la, pa, lo, hi)) / (hi - lo)


# --------------------------------------------------------------------------- cache


def cache_path(root: str, model_tag: str, method: str, image: str) -> str:
    return os.path.join(root, model_tag, method, image.replace(".png", ".json"))


def _write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=None, separators=(",", ":"))
    os.replace(path + ".tmp", path)


def _read_json(path: str):
    with open(path) as f:
        return json.load(f)


def _params_of(method: str) -> Dict[str, float]:
    return R._params(method, None, R.DEFAULT_R_F, R.DEFAULT_N)


def _schedule_of(method: str) -> Dict:
    if method == "sga":
        return {"name": "sga", "tau": "min(0.5, max(1e-8, 0.5*exp(-1e-3*(t-700))))"}
    return {"name": "sgaplus", "tau": "min(exp(-1e-3*t), 1.0)"}


def _record(model_file, model_lambda, lmbda, method, image, size, iters, hist, seconds, batch, budgets):
    return {"model": os.path.basename(model_file), "model_lambda": model_lambda, "lambda": lmbda, "method": method,
            "params": _params_of(method), "schedule": _schedule_of(method), "image": image, "size_hw": size,
            "downscale": f"Kodak /{DOWNSCALE}, PIL Lanczos, 8-bit", "iters": iters, "lr": R.LR, "seed": SEED,
            "eval_every": EVAL_EVERY, "rate": "estimated from likelihoods (no bitstream)",
            "psnr": "psnr8 = clipped, 8-bit-rounded reconstruction; psnr = unclamped float",
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "batch_seconds": round(seconds, 2), "batch_size": batch,
            "snapshots": {str(B): snapshot(hist, B) for B in budgets if B <= iters}, "history": hist}


def _group_by_size(images: Sequence[str]) -> Dict[Tuple[int, int], List[str]]:
    g: Dict[Tuple[int, int], List[str]] = {}
    for im in images:
        x = kodak_small(im)
        g.setdefault(tuple(x.shape[-2:]), []).append(im)
    return g


# --------------------------------------------------------------------------- commands


def cmd_sweep(a) -> None:
    images = a.images.split(",")
    methods = a.methods.split(",")
    for lmbda, path in family(a.family):
        mtag = tag(lmbda)
        model = R.load_model(path)
        for size, ims in _group_by_size(images).items():
            todo = [(m, im) for m in methods for im in ims
                    if not os.path.exists(cache_path(a.out, mtag, m, im))]
            if not todo:
                print(f"{mtag} {size}: cached", flush=True)
                continue
            x = torch.cat([kodak_small(im) for _, im in todo])
            br = BatchRefiner(model, x, [lmbda] * len(todo), [m for m, _ in todo])
            hist, sec = run_batch(br, 0, a.iters, progress=f"{mtag} {size} B={len(todo)}")
            for (m, im), h in zip(todo, hist):
                _write_json(cache_path(a.out, mtag, m, im),
                            _record(path, lmbda, lmbda, m, im, list(size), a.iters, h, sec, len(todo), BUDGETS))
            os.makedirs(os.path.join(a.out, mtag), exist_ok=True)
            torch.save({"keys": todo, "state": br.state(), "t": a.iters},
                       os.path.join(a.out, mtag, f"state-{size[0]}x{size[1]}-{a.iters}.pt"))
            print(f"{mtag} {size}: {len(todo)} refinements x {a.iters} it in {sec:.0f} s "
                  f"({1000 * sec / (len(todo) * a.iters):.1f} ms/it/element incl. evaluations)", flush=True)


def cmd_extend(a) -> None:
    """Continue sga/ssl from the saved 500-iteration state to LONG_BUDGET (same trajectory as a 1000-it run)."""
    methods = set(a.methods.split(","))
    for lmbda, path in family(a.family):
        mtag = tag(lmbda)
        model = R.load_model(path)
        for sp in sorted(glob.glob(os.path.join(a.out, mtag, "state-*-500.pt"))):
            saved = torch.load(sp)
            keys = [tuple(k) for k in saved["keys"]]
            idx = [i for i, (m, im) in enumerate(keys) if m in methods
                   and _read_json(cache_path(a.out, mtag, m, im))["iters"] < a.iters]
            if not idx:
                continue
            sel = [keys[i] for i in idx]
            recs = [_read_json(cache_path(a.out, mtag, m, im)) for m, im in sel]
            x = torch.cat([kodak_small(im) for _, im in sel])
            br = BatchRefiner(model, x, [lmbda] * len(sel), [m for m, _ in sel])
            br.load_state(saved["state"], idx)
            hist = [r["history"] for r in recs]
            hist, sec = run_batch(br, saved["t"], a.iters, histories=hist, progress=f"{mtag} extend B={len(sel)}")
            for (m, im), r, h in zip(sel, recs, hist):
                r.update(iters=a.iters, history=h, extend_seconds=round(sec, 2), extend_batch=len(sel),
                         snapshots={str(B): snapshot(h, B) for B in BUDGETS + (a.iters,)})
                _write_json(cache_path(a.out, mtag, m, im), r)
            print(f"{mtag}: extended {len(sel)} runs {saved['t']} -> {a.iters} it in {sec:.0f} s", flush=True)


def cmd_retarget(a) -> None:
    lmbda0 = BASE_LAMBDA
    path = model_path(lmbda0, a.family)
    model = R.load_model(path)
    root = os.path.join(a.out, "retarget")
    for size, ims in _group_by_size(a.images.split(",")).items():
        todo = [(f, im) for f in RETARGET_FACTORS for im in ims
                if not os.path.exists(cache_path(root, f"x{f:g}", "ssl", im))]
        for s in range(0, len(todo), a.max_batch):
            chunk = todo[s:s + a.max_batch]
            x = torch.cat([kodak_small(im) for _, im in chunk])
            br = BatchRefiner(model, x, [f * lmbda0 for f, _ in chunk], ["ssl"] * len(chunk))
            hist, sec = run_batch(br, 0, RETARGET_ITERS, progress=f"retarget {size} B={len(chunk)}")
            for (f, im), h in zip(chunk, hist):
                _write_json(cache_path(root, f"x{f:g}", "ssl", im),
                            _record(path, lmbda0, f * lmbda0, "ssl", im, list(size), RETARGET_ITERS, h, sec,
                                    len(chunk), (RETARGET_ITERS,)))
            print(f"retarget {size}: {len(chunk)} refinements in {sec:.0f} s", flush=True)


def _hwc(t: Tensor) -> List[float]:
    return [round(float(v), 8) for v in t[0].permute(1, 2, 0).reshape(-1)]


def cmd_ts_inputs(a) -> None:
    """x, y0 = g_a(x), z0 = h_a(y0) (HWC) for the TS check, and the PyTorch reference (refine.refine, unbatched)."""
    path = model_path(BASE_LAMBDA, a.family)
    model = R.load_model(path)
    out = os.path.join(a.out, "ts-check")
    os.makedirs(out, exist_ok=True)
    for im in TS_IMAGES:
        x = kodak_small(im)
        y0, z0 = R._initial(model, x)
        ref = {}
        for m in TS_METHODS:
            res = R.refine(model, x, BASE_LAMBDA, m, iters=TS_ITERS, seed=SEED, eval_every=EVAL_EVERY)
            last = R.hard_eval(model, x, res["y"], res["z"], BASE_LAMBDA)
            ref[m] = {"true_history": [e._asdict() for e in res["true_history"]], "last": last,
                      "best_t": res["best_t"], "best_loss": res["best_loss"], "seconds": res["seconds"],
                      "ms_per_it": 1000 * res["seconds"] / TS_ITERS}
            print(f"{im} {m}: PyTorch true loss {res['true_history'][0].loss:.5f} -> {last['loss']:.5f} at "
                  f"{TS_ITERS} it (best {res['best_loss']:.5f} at t={res['best_t']}), {res['seconds']:.1f} s",
                  flush=True)
        _write_json(os.path.join(out, im.replace(".png", ".json")), {
            "image": im, "height": x.shape[-2], "width": x.shape[-1], "model": os.path.basename(path),
            "lambda": BASE_LAMBDA, "seed": SEED, "iters": TS_ITERS, "eval_every": EVAL_EVERY,
            "x": _hwc(x), "y0": _hwc(y0), "z0": _hwc(z0), "pytorch": ref, "torch": torch.__version__})


def cmd_bench(a) -> None:
    """Time per iteration of the unbatched reference step at the sweep's image size, per method."""
    from .bench_refine import bench
    rows = [bench(model_path(BASE_LAMBDA, a.family), 128, 192, 1, a.steps, 2, m) for m in METHODS]
    for r in rows:
        print(json.dumps(r), flush=True)
    _write_json(os.path.join(a.out, "bench.json"), rows)


# --------------------------------------------------------------------------- report


def _mean_point(recs: Sequence[Dict], budget: Optional[int]) -> Tuple[float, float]:
    """(mean bpp, mean 8-bit PSNR) over images; budget None = the unrefined point (t = 0)."""
    pts = [r["history"][0] if budget is None else r["snapshots"][str(budget)] for r in recs]
    return float(np.mean([p["bpp"] for p in pts])), float(np.mean([p["psnr8"] for p in pts]))


def load_sweep(root: str, images: Sequence[str], methods: Sequence[str]):
    recs = {}
    for lmbda, _ in family():
        for m in methods:
            for im in images:
                p = cache_path(root, tag(lmbda), m, im)
                if os.path.exists(p):
                    recs[(lmbda, m, im)] = _read_json(p)
    return recs


def summarize(root: str, images: Sequence[str], methods: Sequence[str]) -> Dict:
    recs = load_sweep(root, images, methods)
    lambdas = [l for l, _ in family()]
    complete = [m for m in methods if all((l, m, im) in recs for l in lambdas for im in images)]
    # The unrefined anchor: t = 0 of any method (identical across methods; checked below).
    anchor = []
    spread = 0.0
    for l in lambdas:
        per_m = [_mean_point([recs[(l, m, im)] for im in images], None) for m in complete]
        spread = max(spread, max(abs(p[0] - per_m[0][0]) / per_m[0][0] for p in per_m))
        anchor.append(per_m[0])
    out = {"images": list(images), "lambdas": lambdas, "anchor": anchor, "anchor_max_rel_spread": spread,
           "methods": {}}
    for m in complete:
        budgets = sorted({int(b) for l in lambdas for im in images for b in recs[(l, m, im)]["snapshots"]})
        budgets = [b for b in budgets if all(str(b) in recs[(l, m, im)]["snapshots"] for l in lambdas for im in images)]
        mm = {}
        for b in budgets:
            curve = [_mean_point([recs[(l, m, im)] for im in images], b) for l in lambdas]
            best_t = [recs[(l, m, im)]["snapshots"][str(b)]["t"] for l in lambdas for im in images]
            loss_gain = [100 * (recs[(l, m, im)]["snapshots"][str(b)]["loss"] / recs[(l, m, im)]["history"][0]["loss"] - 1)
                         for l in lambdas for im in images]
            mm[str(b)] = {"curve": curve, "bd_rate": _nan_none(bd_rate(anchor, curve)),
                          "bd_psnr": _nan_none(bd_psnr(anchor, curve)), "overlap": overlaps(anchor, curve),
                          "mean_true_loss_change_pct": float(np.mean(loss_gain)),
                          "best_t_mean": float(np.mean(best_t)), "best_t_at_budget": int(sum(t == b for t in best_t)),
                          "n": len(best_t)}
        out["methods"][m] = mm
    # Pairwise, as the SGA+ paper's Table 1: each method's refined curve against sga's at the same budget.
    if "sga" in out["methods"]:
        out["vs_sga"] = {}
        for m, mm in out["methods"].items():
            if m == "sga":
                continue
            out["vs_sga"][m] = {}
            for b, v in mm.items():
                if b in out["methods"]["sga"]:
                    ref = out["methods"]["sga"][b]["curve"]
                    out["vs_sga"][m][b] = {"bd_rate": _nan_none(bd_rate(ref, v["curve"])),
                                           "bd_psnr": _nan_none(bd_psnr(ref, v["curve"])),
                                           "overlap": overlaps(ref, v["curve"])}
    secs = [(r["batch_seconds"], r["batch_size"], r["iters"]) for r in recs.values()]
    out["ms_per_it_element_batched"] = float(np.mean([1000 * s / (bs * it) for s, bs, it in secs])) if secs else None
    return out


def _nan_none(v: float) -> Optional[float]:
    """JSON has no NaN (JavaScript's JSON.parse rejects it): an undefined BD value is null."""
    return None if v is None or not np.isfinite(v) else float(v)


def _fmt(v: Optional[float], unit: str) -> str:
    return "n/a" if v is None or not np.isfinite(v) else (f"{v:+.1f} %" if unit == "%" else f"{v:+.3f} dB")


def _bd_cell(v: Dict) -> str:
    ov = v["overlap"]["psnr_db"]
    rate = _fmt(v["bd_rate"], "%") + (f" ({ov:.2f} dB)" if v["bd_rate"] is not None else "")
    return f"{rate} / {_fmt(v['bd_psnr'], 'dB')}"


def _budget_table(title: str, budgets: Sequence[int], methods: Dict, cell, col: str = "it",
                  row: str = "{}", missing: str = "—") -> List[str]:
    """A markdown table with one row per method and one column per iteration budget."""
    lines = [title, "", "| method | " + " | ".join(f"{b} {col}" for b in budgets) + " |",
             "|---|" + "---|" * len(budgets)]
    for m, mm in methods.items():
        lines.append(f"| {row.format(m)} | " + " | ".join(cell(mm[str(b)]) if str(b) in mm else missing
                                                        for b in budgets) + " |")
    return lines


def report_tables(summary: Dict, retarget: Dict) -> str:
    budgets = sorted({int(b) for mm in summary["methods"].values() for b in mm})
    methods = summary["methods"]
    lines = _budget_table("BD vs the unrefined curve: BD-rate (width of the PSNR overlap it is averaged over) / BD-PSNR",
                          budgets, methods, _bd_cell, col="iterations", missing="not run")
    lines.append("")
    lines += _budget_table("Log-rate overlap with the unrefined curve used by BD-PSNR (fraction of the unrefined curve's range):",
                           budgets, methods, lambda v: f"{v['overlap']['lograte_frac']:.2f}")
    if summary.get("vs_sga"):
        lines.append("")
        lines += _budget_table("Pairwise, refined vs sga (atanh) at the same budget: BD-rate (PSNR overlap) / BD-PSNR",
                               budgets, summary["vs_sga"], _bd_cell, col="iterations", row="{} vs sga")
    lines.append("")
    lines += _budget_table("Mean true-loss change vs unrefined (%), over all models and images:",
                           budgets, methods, lambda v: f"{v['mean_true_loss_change_pct']:+.2f} %")
    lines.append("")
    lines.append("R-D points (mean bpp / mean PSNR-8bit over images) per base model:")
    lines.append("")
    lines.append("| curve | " + " | ".join(f"λ {l}" for l in summary["lambdas"]) + " |")
    lines.append("|---|" + "---|" * len(summary["lambdas"]))
    lines.append("| unrefined | " + " | ".join(f"{b:.4f} / {p:.2f}" for b, p in summary["anchor"]) + " |")
    for m, mm in summary["methods"].items():
        for b in budgets:
            if str(b) in mm:
                lines.append(f"| {m} @{b} | " + " | ".join(f"{r:.4f} / {p:.2f}" for r, p in mm[str(b)]["curve"]) + " |")
    if retarget:
        lines.append("")
        lines.append(retarget["table"])
    return "\n".join(lines)


def retarget_summary(root: str, images: Sequence[str]) -> Dict:
    base = os.path.join(root, "retarget")
    rows, ok_up, ok_down, exceptions = [], 0, 0, []
    for im in images:
        r = {}
        for f in RETARGET_FACTORS:
            p = cache_path(base, f"x{f:g}", "ssl", im)
            if not os.path.exists(p):
                break
            r[f] = _read_json(p)["snapshots"][str(RETARGET_ITERS)]
        if len(r) < len(RETARGET_FACTORS):
            continue
        lo, mid, hi = r[0.25], r[1.0], r[4.0]
        up = hi["bpp"] > mid["bpp"] and hi["psnr8"] > mid["psnr8"]
        down = lo["bpp"] < mid["bpp"] and lo["psnr8"] < mid["psnr8"]
        ok_up += up
        ok_down += down
        if not (up and down):
            exceptions.append(im)
        rows.append((im, lo, mid, hi, up, down))
    lines = ["| image | λ0/4: bpp / PSNR | λ0: bpp / PSNR | 4·λ0: bpp / PSNR | 4λ0 > λ0 | λ0/4 < λ0 |",
             "|---|---|---|---|---|---|"]
    for im, lo, mid, hi, up, down in rows:
        lines.append(f"| {im[:-4]} | {lo['bpp']:.4f} / {lo['psnr8']:.2f} | {mid['bpp']:.4f} / {mid['psnr8']:.2f} | "
                     f"{hi['bpp']:.4f} / {hi['psnr8']:.2f} | {'yes' if up else 'NO'} | {'yes' if down else 'NO'} |")
    if rows:
        mean = lambda k, f: float(np.mean([row[{0.25: 1, 1.0: 2, 4.0: 3}[f]][k] for row in rows]))
        lines.append(f"| **mean** | {mean('bpp', 0.25):.4f} / {mean('psnr8', 0.25):.2f} | {mean('bpp', 1.0):.4f} / "
                     f"{mean('psnr8', 1.0):.2f} | {mean('bpp', 4.0):.4f} / {mean('psnr8', 4.0):.2f} | {ok_up}/{len(rows)} | "
                     f"{ok_down}/{len(rows)} |")
    return {"n": len(rows), "up_ok": ok_up, "down_ok": ok_down, "exceptions": exceptions, "table": "\n".join(lines),
            "rows": [{"image": im, "x0.25": lo, "x1": mid, "x4": hi} for im, lo, mid, hi, _, _ in rows]}


def plot(summary: Dict, out_svg: str, budgets=(500,), unrefined_images: Optional[Dict] = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "sgaplus"  # reproducible SVG ids
    fig, axes = plt.subplots(1, len(budgets), figsize=(5.2 * len(budgets), 4.2), squeeze=False)
    for ax, b in zip(axes[0], budgets):
        r0, p0 = zip(*summary["anchor"])
        ax.plot(r0, p0, "k-o", label="unrefined", lw=2)
        for m, mm in summary["methods"].items():
            if str(b) in mm:
                r, p = zip(*mm[str(b)]["curve"])
                ax.plot(r, p, "-o", ms=3.5, label=f"{m} (BD-PSNR {mm[str(b)]['bd_psnr']:+.2f} dB)")
        ax.set_title(f"best-so-far at {b} iterations")
        ax.set_xlabel("bpp (estimated from likelihoods)")
        ax.set_ylabel("PSNR-RGB (dB, 8-bit)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    n = len(summary["images"])
    fig.suptitle(f"SGA/SGA+ on tiny CPU models (N=32, M=48), {n} Kodak images /4", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_svg, metadata={"Date": None})
    plt.close(fig)


def plot_retarget(rt: Dict, out_svg: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "sgaplus"
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for f, c in ((0.25, "tab:blue"), (1.0, "k"), (4.0, "tab:red")):
        key = {0.25: "x0.25", 1.0: "x1", 4.0: "x4"}[f]
        ax.scatter([r[key]["bpp"] for r in rt["rows"]], [r[key]["psnr8"] for r in rt["rows"]], s=10, c=c,
                   label=f"ssl 250 it, λ1 = {f:g}·λ0")
    for row in rt["rows"]:
        ax.plot([row["x0.25"]["bpp"], row["x1"]["bpp"], row["x4"]["bpp"]],
                [row["x0.25"]["psnr8"], row["x1"]["psnr8"], row["x4"]["psnr8"]], "-", c="0.7", lw=0.6, zorder=0)
    means = {k: (np.mean([r[k]["bpp"] for r in rt["rows"]]), np.mean([r[k]["psnr8"] for r in rt["rows"]]))
             for k in ("x0.25", "x1", "x4")}
    ax.plot(*zip(*means.values()), "k-D", ms=6, mfc="w", lw=1.2, label="mean over the 24 images")
    ax.set_xlabel("bpp (estimated)")
    ax.set_ylabel("PSNR-RGB (dB, 8-bit)")
    ax.set_title("λ retargeting with the λ0 = 0.0067 model, 24 Kodak images /4", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_svg, metadata={"Date": None})
    plt.close(fig)


def cmd_report(a) -> None:
    images = a.images.split(",")
    summary = summarize(a.out, images, a.methods.split(","))
    rt = retarget_summary(a.out, ALL_IMAGES)
    _write_json(os.path.join(a.out, "summary.json"), {"sweep": summary, "retarget": rt})
    md = report_tables(summary, rt)
    with open(os.path.join(a.out, "tables.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    print(f"\nanchor max relative spread across methods (must be ~0): {summary['anchor_max_rel_spread']:.2e}")
    print(f"retarget: {rt['up_ok']}/{rt['n']} up, {rt['down_ok']}/{rt['n']} down, exceptions {rt['exceptions']}")
    if a.plots:
        os.makedirs(a.plots, exist_ok=True)
        budgets = sorted({int(b) for mm in summary["methods"].values() for b in mm})
        plot(summary, os.path.join(a.plots, "sgaplus-rd.svg"), budgets=[b for b in budgets if b in (100, 500)])
        if rt["rows"]:
            plot_retarget(rt, os.path.join(a.plots, "sgaplus-retarget.svg"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("sweep", "extend", "retarget", "ts-inputs", "bench", "report"))
    p.add_argument("--family", default=FAMILY_DIR)
    p.add_argument("--out", default=SWEEP_DIR)
    p.add_argument("--images", default=None, help="comma list (default: sweep images; retarget: all 24)")
    p.add_argument("--methods", default=None)
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--max-batch", type=int, default=24)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--plots", default=os.path.join(REPO, "docs", "plots"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if a.images is None:
        a.images = ",".join(ALL_IMAGES if a.command == "retarget" else SWEEP_IMAGES)
    if a.methods is None:
        a.methods = ",".join(LONG_METHODS if a.command == "extend" else METHODS)
    if a.iters is None:
        a.iters = LONG_BUDGET if a.command == "extend" else max(BUDGETS)
    os.makedirs(a.out, exist_ok=True)
    {"sweep": cmd_sweep, "extend": cmd_extend, "retarget": cmd_retarget, "ts-inputs": cmd_ts_inputs,
     "bench": cmd_bench, "report": cmd_report}[a.command](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
