"""Reference tensors of the test model for the TypeScript port.

    python3 -m sgai_train.make_parity_fixtures           # writes test/fixtures/parity/parity.safetensors
    python3 -m sgai_train.make_parity_fixtures --check   # regenerates and compares (atol 1e-5)

Input: a 128x192 crop (rows 192..319, columns 320..511) of kodim23.png
scaled to [0,1] float32. All tensors are float32 in HWC layout (the batch
dimension dropped, channels last) - see test/fixtures/parity/README.md.
The model is loaded from the committed test-model .safetensors, so the
fixtures depend only on committed files.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict

import numpy as np
import torch

from . import safetensors_io as st
from .data import DATASETS, load_rgb
from .export import load_exported
from .make_test_model import OUT as TEST_MODEL, REPO

PARITY = os.path.join(REPO, "test", "fixtures", "parity", "parity.safetensors")
SOURCE = os.path.join(DATASETS, "kodak", "kodim23.png")
TOP, LEFT, HEIGHT, WIDTH = 192, 320, 128, 192  # multiples of 64: no padding needed
ATOL = 1e-5


def hwc(t: torch.Tensor) -> np.ndarray:
    """[1,C,H,W] -> [H,W,C] float32."""
    return t[0].permute(1, 2, 0).contiguous().numpy().astype(np.float32)


@torch.no_grad()
def compute(model_path: str = TEST_MODEL, source: str = SOURCE) -> Dict[str, np.ndarray]:
    torch.set_num_threads(1)
    model = load_exported(model_path).eval()
    img = load_rgb(source)[TOP:TOP + HEIGHT, LEFT:LEFT + WIDTH]
    x_np = img.astype(np.float32) / 255.0
    x = torch.from_numpy(x_np).permute(2, 0, 1)[None].contiguous()

    eb, gc = model.entropy_bottleneck, model.gaussian_conditional
    y = model.g_a(x)
    z = model.h_a(y)
    med = eb.medians().reshape(1, -1, 1, 1)
    z_hat = torch.round(z - med) + med
    scales, means = model.hyper_params(z_hat)
    y_hat = torch.round(y - means) + means
    y_lik = gc.likelihood(y_hat, scales, means)
    z_lik = eb.likelihood(z_hat)
    x_hat = model.g_s(y_hat)  # not clamped
    return {
        "x": x_np, "y": hwc(y), "z": hwc(z), "z_hat": hwc(z_hat), "scales": hwc(scales), "means": hwc(means),
        "y_hat": hwc(y_hat), "y_likelihoods": hwc(y_lik), "z_likelihoods": hwc(z_lik), "x_hat": hwc(x_hat),
        "medians": eb.medians().detach().numpy().astype(np.float32),
    }


METADATA = {
    "model": "test/fixtures/models/sgai-test-n32m48.safetensors",
    "source": f"kodak/kodim23.png rows {TOP}..{TOP + HEIGHT - 1}, cols {LEFT}..{LEFT + WIDTH - 1}",
    "layout": "float32, HWC (batch dropped, channels last); medians is [N]",
    "x": "input / 255",
    "z_hat": "round(z - medians) + medians",
    "y_hat": "round(y - means) + means; scales = h_s(z_hat)[:M], means = h_s(z_hat)[M:]",
    "likelihoods": "floored at 1e-9; scales floored at 0.11 inside the likelihood",
    "x_hat": "g_s(y_hat), not clamped",
}


def compare(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray], atol: float = ATOL) -> Dict[str, float]:
    if set(a) != set(b):
        raise AssertionError(f"tensor names differ: {sorted(set(a) ^ set(b))}")
    worst = {}
    for k in a:
        if a[k].shape != b[k].shape:
            raise AssertionError(f"{k}: shape {a[k].shape} != {b[k].shape}")
        worst[k] = float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) if a[k].size else 0.0
    bad = {k: v for k, v in worst.items() if v > atol}
    if bad:
        raise AssertionError(f"max abs differences over {atol}: {bad}")
    return worst


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=PARITY)
    p.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    a = p.parse_args(argv)
    t = compute()
    if a.check:
        ref, _ = st.load_file(a.out)
        worst = compare(ref, t)
        print("parity fixtures match; max abs diff per tensor:", {k: f"{v:.2e}" for k, v in worst.items()})
        return 0
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    st.save_file(t, a.out, METADATA)
    for k, v in t.items():
        print(f"{k}: {list(v.shape)} range [{v.min():.4g}, {v.max():.4g}]")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
