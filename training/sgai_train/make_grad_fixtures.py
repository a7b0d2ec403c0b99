"""PyTorch autograd reference for the SGA+ gradient graphs on ONNX Runtime (test/refine-ort.test.ts).

    python3 -m sgai_train.make_grad_fixtures                 # writes test/fixtures/refine-ort/grad-random.safetensors
    python3 -m sgai_train.make_grad_fixtures --check         # regenerates and compares
    python3 -m sgai_train.make_grad_fixtures --real OUT.safetensors \\
        --weights resources/models/sgai-msh-c64-l0067.safetensors --image kodim23.png --size 256
                                                             # real latents (g_a/h_a of a Kodak crop); the test runs this

The loss is the relaxed SGA+ objective as the TypeScript engine defines it (refine/differentiable.ts,
src/core/ort/refine-graphs.ts):

    L = lambda * 255^2 * MSE(g_s(y^)[crop], x[crop]) + (bits_y + bits_z) / (crop_h * crop_w)
    bits_y = -log2 max(Phi((0.5 - r)/s) - Phi((-0.5 - r)/s), 1e-9),  r = |y^ - means|, s = max(scales, 0.11)
    bits_z = -log2 max(factorized likelihood of z^, 1e-9)

with the floors as plain clamps (zero gradient where they clamp, as tf.maximum and the ONNX graph
have it), not the training LowerBound, whose gradient passes through where it points upwards.
Everything else is the model's own modules (h_s, g_s, the entropy bottleneck's logits network)
differentiated by autograd.

Two gradients are recorded per case:
- the loss graph's: inputs z^, y^ and dMeans (= dy^/dmeans); outputs dL/dy^ (not through the
  means) and the total dL/dz^ (means, scales and prior; dL/dy^ * dMeans folded into the means).
  Autograd sees y^ + (means - means.detach()) * dMeans, which has y^'s value and that sensitivity.
- the composed one: dL/dy and dL/dz through the relaxation, z^ = med + relax(z - med),
  y^ = means + relax(y - means), with the counter-based Gumbel noise of iteration `t`.

Tensors are float32, HWC (batch dropped). The random case's image is generated from an integer
hash (test_image), so only the latents and results are stored.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict, Tuple

import numpy as np
import torch

from . import refine as R
from . import safetensors_io as st
from .data import DATASETS, load_rgb
from .make_test_model import OUT as TEST_MODEL, REPO
from .refine_noise import STREAM_Y, STREAM_Z, GumbelSource

OUT_DIR = os.path.join(REPO, "test", "fixtures", "refine-ort")
RANDOM_FILE = "grad-random.safetensors"
# Random case: 128x192 padded image, loss over a 120x180 crop (the crop mask is part of the graph).
H, W, CROP_H, CROP_W = 128, 192, 120, 180
LAMBDA = 0.0067
SEED, T = 5, 40  # noise seed and iteration of the composed case
TAU = 0.6
METHODS = ("ssl", "linear3")
SCALE_FLOOR = 0.11
LIKELIHOOD_FLOOR = 1e-9
ATOL = 1e-5  # regeneration tolerance (relative to each tensor's largest value); BLAS changes the last bits


def test_image(h: int, w: int, salt: int = 0) -> np.ndarray:
    """[h, w, 3] float32 in [0, 1): (fmix-like integer hash of the HWC index) / 2^32, same in TS."""
    i = np.arange(h * w * 3, dtype=np.uint64) + np.uint64(salt)
    v = (i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    v ^= v >> np.uint64(15)
    v = (v * np.uint64(2246822519)) & np.uint64(0xFFFFFFFF)
    v ^= v >> np.uint64(13)
    return (v.astype(np.float64) / 4294967296.0).astype(np.float32).reshape(h, w, 3)


def nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].contiguous()


def hwc(t: torch.Tensor) -> np.ndarray:
    return t.detach()[0].permute(1, 2, 0).contiguous().numpy().astype(np.float32)


def y_nats(y_hat: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    s = torch.clamp(scales, min=SCALE_FLOOR)
    r = torch.abs(y_hat - means)
    upper = 0.5 * torch.erfc((r - 0.5) / s * math.sqrt(0.5))
    lower = 0.5 * torch.erfc((r + 0.5) / s * math.sqrt(0.5))
    return -torch.log(torch.clamp(upper - lower, min=LIKELIHOOD_FLOOR)).sum()


def z_nats(model, z_hat: torch.Tensor) -> torch.Tensor:
    c = z_hat.shape[1]
    v = z_hat[0].reshape(c, 1, -1)
    lik = model.entropy_bottleneck.likelihood_cv(v)
    return -torch.log(torch.clamp(lik, min=LIKELIHOOD_FLOOR)).sum()


def loss_terms(model, x: torch.Tensor, y_hat: torch.Tensor, z_hat: torch.Tensor, scales: torch.Tensor,
               means: torch.Tensor, lmbda: float, ch: int, cw: int) -> Dict[str, torch.Tensor]:
    x_hat = model.g_s(y_hat)[..., :ch, :cw]
    mse = torch.mean((x_hat - x[..., :ch, :cw]) ** 2)
    by = y_nats(y_hat, means, scales) / math.log(2)
    bz = z_nats(model, z_hat) / math.log(2)
    bpp = (by + bz) / (ch * cw)
    return {"loss": lmbda * 255.0 ** 2 * mse + bpp, "bpp": bpp, "mse": mse, "bits_y": by, "bits_z": bz}


def graph_case(model, x: torch.Tensor, y_hat: np.ndarray, z_hat: np.ndarray, d_means: np.ndarray, lmbda: float,
               ch: int, cw: int) -> Dict[str, np.ndarray]:
    """The loss graph's outputs for given z^, y^, dMeans."""
    y = nchw(y_hat).requires_grad_(True)
    z = nchw(z_hat).requires_grad_(True)
    scales, means = model.hyper_params(z)
    y_eff = y + (means - means.detach()) * nchw(d_means)
    t = loss_terms(model, x, y_eff, z, scales, means, lmbda, ch, cw)
    t["loss"].backward()
    out = {k: np.array([float(v)], dtype=np.float32) for k, v in t.items()}
    out.update(grad_y_hat=hwc(y.grad), grad_z_hat=hwc(z.grad))
    return out


def composed_case(model, x: torch.Tensor, y0: np.ndarray, z0: np.ndarray, method: str, lmbda: float,
                  ch: int, cw: int) -> Dict[str, np.ndarray]:
    """dL/dy, dL/dz through the relaxation at temperature TAU with the noise of (SEED, T)."""
    y = nchw(y0).requires_grad_(True)
    z = nchw(z0).requires_grad_(True)
    K = R.classes_of(method)
    med = R.medians_of(model)
    z_hat = med + R.relax(z - med, TAU, GumbelSource(SEED, STREAM_Z, z.shape, K)(T), method)
    scales, means = model.hyper_params(z_hat)
    y_hat = means + R.relax(y - means, TAU, GumbelSource(SEED, STREAM_Y, y.shape, K)(T), method)
    t = loss_terms(model, x, y_hat, z_hat, scales, means, lmbda, ch, cw)
    t["loss"].backward()
    return {"loss": np.array([float(t["loss"])], dtype=np.float32), "grad_y": hwc(y.grad), "grad_z": hwc(z.grad)}


def floored(model, y_hat: np.ndarray, z_hat: np.ndarray) -> Dict[str, int]:
    """How many elements the floors clamp (where the training LowerBound's gradient would differ)."""
    with torch.no_grad():
        scales, means = model.hyper_params(nchw(z_hat))
        s = scales
        r = torch.abs(nchw(y_hat) - means)
        sc = torch.clamp(s, min=SCALE_FLOOR)
        lik = 0.5 * torch.erfc((r - 0.5) / sc * math.sqrt(0.5)) - 0.5 * torch.erfc((r + 0.5) / sc * math.sqrt(0.5))
        return {"scale_floor": int((s < SCALE_FLOOR).sum()), "likelihood_floor": int((lik < LIKELIHOOD_FLOOR).sum())}


def cases(model, x: torch.Tensor, y: np.ndarray, z: np.ndarray, d_means: np.ndarray, lmbda: float, ch: int,
          cw: int, rng: np.random.Generator) -> Tuple[Dict[str, np.ndarray], Dict]:
    """The loss-graph case at relaxed-looking latents, and composed cases for METHODS, for latents y, z."""
    tensors = {"y": y, "z": z, "d_means": d_means}
    # Loss graph inputs: z^ and y^ near (not on) the integer grid around the medians / means, as a
    # relaxation produces them.
    med = R.medians_of(model)[0, :, 0, 0].numpy()
    z_hat = (med + np.round(z - med) + rng.uniform(-0.45, 0.45, z.shape)).astype(np.float32)
    with torch.no_grad():
        means = hwc(model.hyper_params(nchw(z_hat))[1])
    y_hat = (means + np.round(y - means) + rng.uniform(-0.45, 0.45, y.shape)).astype(np.float32)
    tensors.update(z_hat=z_hat, y_hat=y_hat)
    for k, v in graph_case(model, x, y_hat, z_hat, d_means, lmbda, ch, cw).items():
        tensors[f"graph.{k}"] = v
    for m in METHODS:
        for k, v in composed_case(model, x, y, z, m, lmbda, ch, cw).items():
            tensors[f"{m}.{k}"] = v
    meta = {"lambda": lmbda, "crop": [ch, cw], "seed": SEED, "t": T, "tau": TAU, "methods": list(METHODS),
            "floored": floored(model, y_hat, z_hat), "pytorch": torch.__version__}
    return tensors, meta


def random_case() -> Tuple[Dict[str, np.ndarray], Dict]:
    torch.set_num_threads(1)
    model = R.load_model(TEST_MODEL)
    rng = np.random.default_rng(12)
    x = nchw(test_image(H, W))
    with torch.no_grad():
        y_enc = hwc(model.g_a(x))
        z_enc = hwc(model.h_a(model.g_a(x)))
    # Random latents of the encoder's scale, so rates and both floors are exercised.
    y = (y_enc + rng.normal(0.0, 1.5, y_enc.shape)).astype(np.float32)
    z = (z_enc + rng.normal(0.0, 1.0, z_enc.shape)).astype(np.float32)
    d_means = rng.uniform(-0.5, 1.5, y.shape).astype(np.float32)
    with R._Frozen(model):
        tensors, meta = cases(model, x, y, z, d_means, LAMBDA, CROP_H, CROP_W, rng)
    meta.update(model=os.path.relpath(TEST_MODEL, REPO), size=[H, W],
                image="test_image(H, W): hash of the HWC index, see make_grad_fixtures.test_image")
    return tensors, meta


def real_case(weights: str, image: str, size: int, lmbda: float) -> Tuple[Dict[str, np.ndarray], Dict]:
    """Encoder latents of the centre size x size crop of a Kodak image, as the refinement starts."""
    torch.set_num_threads(1)
    model = R.load_model(weights)
    path = image if os.path.isabs(image) else os.path.join(DATASETS, "kodak", image)
    img = load_rgb(path)
    top, left = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    x_np = img[top:top + size, left:left + size].astype(np.float32) / 255.0
    x = nchw(x_np)
    with torch.no_grad():
        y_t = model.g_a(x)
        y, z = hwc(y_t), hwc(model.h_a(y_t))
    rng = np.random.default_rng(3)
    d_means = rng.uniform(-0.5, 1.5, y.shape).astype(np.float32)
    with R._Frozen(model):
        tensors, meta = cases(model, x, y, z, d_means, lmbda, size, size, rng)
    tensors["x"] = x_np
    meta.update(model=os.path.basename(weights), image=f"{os.path.basename(path)} centre {size}x{size}, /255",
                size=[size, size])
    return tensors, meta


def save(tensors: Dict[str, np.ndarray], meta: Dict, path: str) -> None:
    st.save_file(tensors, path, {"meta": json.dumps(meta), "layout": "float32 HWC (batch dropped, channels last)"})


def check(path: str) -> list:
    old, _ = st.load_file(path)
    new, _ = random_case()
    errors = [] if set(old) == set(new) else [f"tensor names differ {sorted(set(old) ^ set(new))}"]
    for k in sorted(set(old) & set(new)):
        scale = max(1.0, float(np.max(np.abs(old[k])))) if old[k].size else 1.0
        if old[k].shape != new[k].shape:
            errors.append(f"{k}: shape {old[k].shape} != {new[k].shape}")
        elif old[k].size and np.max(np.abs(old[k] - new[k])) > ATOL * scale:
            errors.append(f"{k}: max diff {np.max(np.abs(old[k] - new[k])):.3g} (scale {scale:.3g})")
    return errors


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(OUT_DIR, RANDOM_FILE))
    p.add_argument("--check", action="store_true", help="regenerate the random case and compare with --out")
    p.add_argument("--real", metavar="OUT", help="write the real-latent case to OUT instead")
    p.add_argument("--weights", default=os.path.join(REPO, "resources", "models", "sgai-msh-c64-l0067.safetensors"))
    p.add_argument("--image", default="kodim23.png")
    p.add_argument("--size", type=int, default=256, help="centre crop, a multiple of 64")
    p.add_argument("--lmbda", type=float, default=None, help="default: the model card's lambda")
    a = p.parse_args(argv)
    if a.real:
        lmbda = a.lmbda or R.card_lambda(a.weights) or LAMBDA
        tensors, meta = real_case(a.weights, a.image, a.size, lmbda)
        save(tensors, meta, a.real)
        print(json.dumps({"wrote": a.real, **meta}))
        return 0
    if a.check:
        errors = check(a.out)
        for e in errors[:50]:
            print(e)
        print("gradient fixtures match" if not errors else f"{len(errors)} differences")
        return 1 if errors else 0
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tensors, meta = random_case()
    save(tensors, meta, a.out)
    print(json.dumps({"wrote": a.out, **meta}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
