"""Reference data for the TypeScript SGA+ engine (test/fixtures/refine/).

    python3 -m sgai_train.make_refine_fixtures           # writes the four files (1 thread)
    python3 -m sgai_train.make_refine_fixtures --check   # regenerates and compares

probabilities.json  log q on distance grids and Gumbel-softmax class weights (float64)
noise.json          golden values of the counter-based Gumbel noise (refine_noise)
trajectory.json     50-iteration refinements (ssl, linear3, sga) of a 128x128 Kodak crop
trajectory.safetensors  their input and latents (float32, HWC)

See test/fixtures/refine/README.md for the formats.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict, List, Tuple

import numpy as np
import torch

from . import refine as R
from . import refine_noise as N
from . import safetensors_io as st
from .data import DATASETS, load_rgb
from .export import load_exported
from .make_test_model import OUT as TEST_MODEL, REPO

OUT_DIR = os.path.join(REPO, "test", "fixtures", "refine")
SOURCE = os.path.join(DATASETS, "kodak", "kodim23.png")
TOP, LEFT, SIZE = 256, 320, 128
LAMBDA = 0.0067  # the test model's card λ
SEED = 7
ITERS = 50
TRAJ_ATOL = 1e-6

D2 = [0.0, 1e-6, 1e-5, 1e-3, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1 - 1e-5, 1.0]
D3 = [0.0, 1e-6, 1e-5, 0.25, 0.5, 0.75, 1 - 1e-5, 1.0, 1.02, 1.03, 1.25, 1.5]
# name, method, params
VARIANTS2 = [("sga", "sga", {}), ("linear", "linear", {}), ("cosine", "cosine", {}),
             ("ssl_a2.3", "ssl", {"a": 2.3}), ("ssl_a1", "ssl", {"a": 1.0})]
VARIANTS3 = [("linear3", "linear3", {"r_f": 0.98, "n": 1.4}), ("cosine3", "cosine3", {"r_f": 0.98, "n": 1.4}),
             ("ssl3", "ssl3", {"a": 1.4, "r_f": 0.98, "n": 1.4})]
# Integer, half-integer (2-class: equal distances; 3-class: round half to even) and generic v.
WEIGHT_V = [0.3, -1.7, 2.0, 0.0, 0.5, -2.5, 1.5, 1.49, 0.999995, -0.2]
WEIGHT_TAU = [1.0, 0.3]
WEIGHT_G = {2: [[0.0, 0.0], [0.25, -0.6]], 3: [[0.0, 0.0, 0.0], [0.25, -0.6, 0.9]]}

NOISE_CASES = [  # seed, stream, t, K, start, count
    (1, 0, 0, 2, 0, 8), (1, 0, 123, 2, 0, 8), (1, 1, 123, 2, 0, 8), (1, 0, 0, 3, 0, 9),
    (7, 0, 0, 2, 0, 8), (7, 1, 49, 2, 0, 8), (0, 0, 0, 2, 0, 4), (4294967295, 1, 100000, 2, 0, 4),
    (1, 0, 0, 2, 1000000, 4), (1, 0, 0, 2, 4294967292, 4),
]

RUNS = [  # name, method, params, schedule (name, r, tau_max)
    ("ssl", "ssl", {"a": 2.3}, ("sgaplus", 1e-3, 1.0)),
    ("linear3", "linear3", {"r_f": 0.98, "n": 1.4}, ("sgaplus", 1e-3, 1.0)),
    ("sga", "sga", {}, ("sga", 1e-3, 0.5)),
]


def _f(x) -> float:
    return float(x)


# --------------------------------------------------------------------------- (a) probabilities


def probabilities() -> Dict:
    d2 = torch.tensor(D2, dtype=torch.float64)
    d3 = torch.tensor(D3, dtype=torch.float64)
    two = [{"name": nm, "method": m, "params": p, "log_q": R.log_q2(d2, m, **p).tolist()} for nm, m, p in VARIANTS2]
    three = [{"name": nm, "method": m, "params": p, "log_q": R.log_q3(d3, m, **p).tolist()} for nm, m, p in VARIANTS3]
    weights = []
    for nm, m, p in VARIANTS2 + VARIANTS3:
        K = R.classes_of(m)
        kw = {"a": p.get("a"), "r_f": p.get("r_f", R.DEFAULT_R_F), "n": p.get("n", R.DEFAULT_N)}
        for v in WEIGHT_V:
            for tau in WEIGHT_TAU:
                for g in WEIGHT_G[K]:
                    vt = torch.tensor(v, dtype=torch.float64)
                    gt = torch.tensor(g, dtype=torch.float64)
                    k, d, w = R.class_weights(vt, tau, gt, m, **kw)
                    value = R.relax(vt, tau, gt, m, **kw)
                    lq = R.log_q2(d, m, **p) if K == 2 else R.log_q3(d, m, **p)
                    weights.append({"name": nm, "method": m, "params": p, "v": v, "tau": tau, "g": g,
                                    "candidates": k.tolist(), "d": d.tolist(), "log_q": lq.tolist(),
                                    "w": w.tolist(), "value": float(value)})
    return {
        "description": "log q (natural log) of the rounding functions, and Gumbel-softmax weights; float64",
        "dtype": "float64",
        "two_class": {"d": D2, "clip": "d is clipped to <= 1-1e-5 (and >= 1e-5 for sga and ssl) before log q",
                      "variants": two},
        "three_class": {"D": D3, "variants": three},
        "weights": weights,
        "weights_formula": "w = softmax((log_q / tau + g) / tau); value = sum(w * candidates); 2-class candidates "
                           "[floor v, ceil v], d = [v - floor v, ceil v - v] clipped to <= 1-1e-5; 3-class "
                           "candidates [r-1, r, r+1], r = round half to even, d = |v - k|",
    }


# --------------------------------------------------------------------------- (b) noise


def noise() -> Dict:
    cases = []
    for seed, stream, t, K, start, count in NOISE_CASES:
        u = N.uniform_np(seed, stream, t, count, start)
        i = (np.arange(start, start + count, dtype=np.uint64) & np.uint64(N.M32))
        bits = N.fmix32_np(np.uint64(N.key(seed, stream, t)) ^ N.fmix32_np(i))
        cases.append({"seed": seed, "stream": stream, "t": t, "K": K, "start": start,
                      "key": N.key(seed, stream, t), "i": [int(v) for v in i],
                      "bits": [int(b) for b in bits], "u": u.tolist(),
                      "g": [float(v) for v in N.gumbel_np(seed, stream, t, count, start)]})
    # Layout example: a [1, C=3, H=2, W=2] tensor, K=2, seed 1, stream 0, t 0, as g[c][h][w][k] (NCHW
    # order, batch dropped) - element (h, w, c) uses counters ((h*W + w)*C + c)*K + k.
    g = N.gumbel_for(1, 0, 0, (1, 3, 2, 2), 2)[0]
    return {
        "description": "counter-based Gumbel noise, see training/sgai_train/refine_noise.py",
        "formula": {
            "fmix32": "h ^= h >> 16; h = h*0x85EBCA6B mod 2^32; h ^= h >> 13; h = h*0xC2B2AE35 mod 2^32; h ^= h >> 16",
            "key": "fmix32(fmix32(seed ^ 0x9E3779B9) ^ (stream*0x85EBCA6B mod 2^32) ^ (t*0xC2B2AE35 mod 2^32))",
            "bits": "fmix32(key ^ fmix32(i mod 2^32)), i = e*K + k, e = flat HWC element index",
            "u": "clip((bits + 0.5) / 2^32, 1e-10, 1 - 1e-10) in float64",
            "g": "float32(-log(-log(u)))",
        },
        "fmix32_examples": [{"in": h, "out": N.fmix32_int(h)} for h in (0, 1, 2, 0x9E3779B9, 4294967295)],
        "cases": cases,
        "layout_example": {"shape_nchw": [1, 3, 2, 2], "K": 2, "seed": 1, "stream": 0, "t": 0,
                           "g_chwk": g.tolist(),
                           "note": "element (c, h, w) uses counters ((h*W + w)*C + c)*K + k"},
    }


# --------------------------------------------------------------------------- (c) trajectory


def crop_x() -> np.ndarray:
    img = load_rgb(SOURCE)[TOP:TOP + SIZE, LEFT:LEFT + SIZE]
    return img.astype(np.float32) / 255.0


def hwc(t: torch.Tensor) -> np.ndarray:
    return t.detach()[0].permute(1, 2, 0).contiguous().numpy().astype(np.float32)


def run_trajectory(model, x: torch.Tensor, method: str, params: Dict, sched: Tuple[str, float, float],
                   iters: int = ITERS, seed: int = SEED) -> Tuple[Dict, Dict[str, np.ndarray]]:
    """Same loop as refine.refine (checked by the tests), plus t=0 internals for debugging the port."""
    name, r, tmax = sched
    with R._Frozen(model):
        return _run(model, x, method, params, name, r, tmax, iters, seed)


def _run(model, x, method, params, name, r, tmax, iters, seed):
    ref = R.Refiner(model, x, LAMBDA, method, R.LR, seed, params.get("a"), params.get("r_f", R.DEFAULT_R_F),
                    params.get("n", R.DEFAULT_N), name, r, tmax)
    tensors = {}
    true = [dict(t=0, **ref.hard())]
    rows = {"tau": [], "loss": [], "bpp": [], "mse": []}
    for t in range(iters):
        out, tau = ref.step(t)
        for k in ("loss", "bpp", "mse"):
            rows[k].append(float(out[k]))
        rows["tau"].append(tau)
        if t == 0:
            tensors.update({"y_hat_t0": hwc(out["y_hat"]), "z_hat_t0": hwc(out["z_hat"]),
                            "grad_y_t0": hwc(ref.y.grad), "grad_z_t0": hwc(ref.z.grad),
                            "y_step1": hwc(ref.y), "z_step1": hwc(ref.z)})
    true.append(dict(t=iters, **ref.hard()))
    tensors.update({"y_final": hwc(ref.y), "z_final": hwc(ref.z)})
    info = {"method": method, "params": params, "schedule": {"name": name, "r": r, "tau_max": tmax}, **rows,
            "true": true}
    return info, tensors


def trajectory() -> Tuple[Dict, Dict[str, np.ndarray]]:
    torch.set_num_threads(1)
    model = R.load_model(TEST_MODEL)
    x_np = crop_x()
    x = torch.from_numpy(x_np).permute(2, 0, 1)[None].contiguous()
    y0, z0 = R._initial(model, x)
    tensors = {"x": x_np, "y0": hwc(y0), "z0": hwc(z0),
               "medians": model.entropy_bottleneck.medians().detach().numpy().astype(np.float32)}
    runs = {}
    for nm, m, p, sched in RUNS:
        info, t = run_trajectory(model, x, m, p, sched)
        runs[nm] = info
        tensors.update({f"{nm}.{k}": v for k, v in t.items()})
    meta = {
        "model": os.path.relpath(TEST_MODEL, REPO),
        "source": f"kodak/kodim23.png rows {TOP}..{TOP + SIZE - 1}, cols {LEFT}..{LEFT + SIZE - 1}, /255",
        "lambda": LAMBDA, "lr": R.LR, "betas": list(R.BETAS), "eps": R.ADAM_EPS, "seed": SEED, "iters": ITERS,
        "pytorch": torch.__version__, "threads": 1, "dtype": "float32",
    }
    return {**meta, "runs": runs}, tensors


# --------------------------------------------------------------------------- IO


FILES = ("probabilities.json", "noise.json", "trajectory.json", "trajectory.safetensors")


def compute() -> Dict[str, object]:
    torch.set_num_threads(1)
    traj, tensors = trajectory()
    return {"probabilities.json": probabilities(), "noise.json": noise(), "trajectory.json": traj,
            "trajectory.safetensors": tensors}


def tensor_atol(name: str) -> float:
    """1e-6 for the input and encoder latents; 1e-4 for tensors after relaxation / Adam steps.

    With the same BLAS everything regenerates bit-exactly. Another BLAS (e.g. Debian's
    reference BLAS instead of OpenBLAS) changes conv sums in the last bits, and Adam's
    first step, lr * g / (|g| + eps), turns that into up to ~5e-5 for elements whose
    gradient is near zero; losses still agree to 1e-6 (relative).
    """
    return TRAJ_ATOL if name in ("x", "y0", "z0", "medians") else 1e-4


def _close(a, b, atol: float, path: str = "") -> List[str]:
    """Differences between two JSON-like trees (numbers within atol, everything else equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys differ {sorted(set(a) ^ set(b))}"]
        return [e for k in a for e in _close(a[k], b[k], atol, f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [e for i, (u, v) in enumerate(zip(a, b)) for e in _close(u, v, atol, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        ok = (a == b) or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol * max(1.0, abs(b)))
        return [] if ok else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def check(out_dir: str = OUT_DIR, fresh: Dict[str, object] = None) -> List[str]:
    """Regenerate and list differences with the files on disk (empty list = identical within tolerance).

    JSON numbers: probabilities/noise 1e-12, trajectory 1e-6 (both relative to max(1, |value|));
    tensors: see tensor_atol. The pytorch version string is not compared.
    """
    fresh = fresh or compute()
    errors = []
    for name in FILES:
        path = os.path.join(out_dir, name)
        if name.endswith(".json"):
            with open(path) as f:
                old = json.load(f)
            new = json.loads(json.dumps(fresh[name]))
            if name == "trajectory.json":
                old.pop("pytorch", None)
                new.pop("pytorch", None)
            errors += _close(new, old, TRAJ_ATOL if name == "trajectory.json" else 1e-12, name)
        else:
            old, _ = st.load_file(path)
            new = fresh[name]
            if set(old) != set(new):
                errors.append(f"{name}: tensor names differ {sorted(set(old) ^ set(new))}")
                continue
            for k in old:
                if old[k].shape != new[k].shape:
                    errors.append(f"{name}:{k}: shape {old[k].shape} != {new[k].shape}")
                elif old[k].size and np.max(np.abs(old[k] - new[k])) > tensor_atol(k):
                    errors.append(f"{name}:{k}: max diff {np.max(np.abs(old[k] - new[k])):.3g}")
    return errors


def write(out_dir: str = OUT_DIR) -> None:
    os.makedirs(out_dir, exist_ok=True)
    data = compute()
    for name in FILES:
        path = os.path.join(out_dir, name)
        if name.endswith(".json"):
            with open(path, "w") as f:
                json.dump(data[name], f, indent=1)
                f.write("\n")
        else:
            traj = data["trajectory.json"]
            st.save_file(data[name], path, {"source": traj["source"], "model": traj["model"],
                                            "layout": "float32 HWC (batch dropped, channels last); medians [N]",
                                            "pytorch": traj["pytorch"]})
        print("wrote", path)
    for nm, run in data["trajectory.json"]["runs"].items():
        l = run["loss"]
        print(f"{nm}: relaxed loss t=0 {l[0]:.6f} t=10 {l[10]:.6f} t=49 {l[49]:.6f}; "
              f"true {run['true'][0]['loss']:.6f} -> {run['true'][1]['loss']:.6f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=OUT_DIR)
    p.add_argument("--check", action="store_true", help="compare with the existing files instead of writing")
    a = p.parse_args(argv)
    if a.check:
        errors = check(a.out)
        for e in errors[:50]:
            print(e)
        print("refine fixtures match" if not errors else f"{len(errors)} differences")
        return 1 if errors else 0
    write(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
