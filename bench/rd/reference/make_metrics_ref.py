#!/usr/bin/env python3
"""Reference numbers for test/metrics-msssim.test.ts, from implementations that are not ours:
pytorch_msssim 1.0.0 (MS-SSIM and SSIM, float64) and numpy (PSNR-RGB, PSNR-Y).

  npx tsx bench/rd/reference/metric-pairs.ts /tmp/mpairs
  python3 -m venv --system-site-packages /tmp/ref && /tmp/ref/bin/pip install --no-deps pytorch-msssim==1.0.0
  /tmp/ref/bin/python bench/rd/reference/make_metrics_ref.py /tmp/mpairs > bench/rd/reference/metrics-reference.json

(torch and numpy from Debian's python3-torch / python3-numpy.)
"""
import json
import sys

import numpy as np
import pytorch_msssim
import torch

d = sys.argv[1]
pairs = json.load(open(f"{d}/pairs.json"))
out = {"generator": "bench/rd/reference/make_metrics_ref.py",
       "libraries": {"pytorch_msssim": pytorch_msssim.__version__ if hasattr(pytorch_msssim, "__version__") else "1.0.0",
                     "torch": torch.__version__, "numpy": np.__version__},
       "conventions": "samples/255 with data_range=1; MS-SSIM RGB = mean over channels of per-channel MS-SSIM "
                      "(pytorch_msssim size_average over channels); Y = 0.299R+0.587G+0.114B unrounded",
       "pairs": [], "msssimFloat32Window": {}}


def load(name, w, h):
    a = np.fromfile(f"{d}/{name}", dtype=np.uint8).reshape(h, w, 3).astype(np.float64) / 255.0
    return a


def window(channels):
    # pytorch_msssim builds its Gaussian in float32 (an error of ~1e-7 in each weight, ~1e-6 in
    # the result); the same window in float64 lets the comparison be tight.
    c = np.arange(11, dtype=np.float64) - 5
    g = np.exp(-(c ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    return torch.from_numpy(g).reshape(1, 1, 1, 11).repeat(channels, 1, 1, 1)


def to_t(x):  # HWC -> NCHW float64
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


for p in pairs:
    w, h, name = p["width"], p["height"], p["name"]
    a, b = load(f"{name}.a.rgb", w, h), load(f"{name}.b.rgb", w, h)
    ya = a @ np.array([0.299, 0.587, 0.114])
    yb = b @ np.array([0.299, 0.587, 0.114])
    ta, tb = to_t(a), to_t(b)
    tya, tyb = to_t(ya[..., None]), to_t(yb[..., None])
    ms_rgb = pytorch_msssim.ms_ssim(ta, tb, data_range=1.0, win=window(3)).item()
    ms_y = pytorch_msssim.ms_ssim(tya, tyb, data_range=1.0, win=window(1)).item()
    ss_y = pytorch_msssim.ssim(tya, tyb, data_range=1.0, win=window(1)).item()
    # Also record the stock call (float32 window) to show how little it differs.
    out["msssimFloat32Window"][name] = pytorch_msssim.ms_ssim(ta, tb, data_range=1.0).item()
    mse = np.mean((a - b) ** 2)
    mse_y = np.mean((ya - yb) ** 2)
    out["pairs"].append({
        "name": name, "width": w, "height": h, "bSha256": p["bSha256"],
        "psnrRgb": float(-10 * np.log10(mse)), "psnrY": float(-10 * np.log10(mse_y)),
        "msssimRgb": ms_rgb, "msssimY": ms_y, "ssimY": ss_y,
    })
json.dump(out, sys.stdout, indent=2)
print()
