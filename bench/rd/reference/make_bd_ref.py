#!/usr/bin/env python3
"""Reference BD-rate / BD-PSNR numbers for test/metrics-bd.test.ts.

Two independent computations per case, which must agree before a number is written:
  1. written here with numpy/scipy: scipy.interpolate.PchipInterpolator(...).integrate and
     numpy.polyfit/polyint (VCEG-M33 cubic);
  2. the published `bjontegaard` package (FAU-LMS, PyPI 1.3.0), whose pchip is stated to equal
     the JCT-VC/JVET CTC Excel sheet; its matplotlib import is stubbed (plots are not used).

  python3 -m venv --system-site-packages /tmp/ref && /tmp/ref/bin/pip install --no-deps bjontegaard==1.3.0
  /tmp/ref/bin/python bench/rd/reference/make_bd_ref.py > bench/rd/reference/bd-reference.json
"""
import json
import sys
import types

import numpy as np
import scipy
from scipy.interpolate import PchipInterpolator

_m = types.ModuleType("matplotlib")
_p = types.ModuleType("matplotlib.pyplot")
_m.pyplot = _p
sys.modules.setdefault("matplotlib", _m)
sys.modules.setdefault("matplotlib.pyplot", _p)
import bjontegaard  # noqa: E402


def _fit(x, y, method):
    o = np.argsort(x)
    x, y = np.asarray(x, float)[o], np.asarray(y, float)[o]
    if method == "pchip":
        f = PchipInterpolator(x, y)
        return x[0], x[-1], lambda a, b: float(f.integrate(a, b))
    p = np.polyint(np.polyfit(x, y, 3))
    return x[0], x[-1], lambda a, b: float(np.polyval(p, b) - np.polyval(p, a))


def _gap(xa, ya, xt, yt, method):
    la, ha, ia = _fit(xa, ya, method)
    lt, ht, it = _fit(xt, yt, method)
    lo, hi = max(la, lt), min(ha, ht)
    return (it(lo, hi) - ia(lo, hi)) / (hi - lo)


def bd_rate(ra, qa, rt, qt, method):
    return (np.exp(_gap(qa, np.log(ra), qt, np.log(rt), method)) - 1) * 100


def bd_psnr(ra, qa, rt, qt, method):
    return _gap(np.log(ra), qa, np.log(rt), qt, method)


# Curves: (rate, quality) lists.
fau_a = ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851])
fau_t = ([9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987])
# High-rate example of the same package's example_usage.py, where the single cubic misbehaves.
fau2_a = ([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615])
fau2_t = ([99896.96, 33952.04, 9787.8, 4469.0], [44.218, 41.490, 40.121, 38.651])
# Published Kodak bpp/PSNR-RGB (shared/docs/sgaplus-method.md section 7).
jpeg = ([0.327, 0.508, 0.729, 1.037], [26.58, 29.04, 30.90, 32.79])
webp = ([0.296, 0.461, 0.675, 0.998], [29.15, 30.94, 32.88, 35.10])
bpg = ([0.161, 0.352, 0.685, 1.200], [28.68, 31.59, 34.86, 38.26])
vtm = ([0.112, 0.246, 0.491, 0.875], [28.49, 31.20, 34.26, 37.42])
av1 = ([0.110, 0.246, 0.499, 0.909], [27.56, 30.44, 33.65, 36.99])
mbt = ([0.124, 0.198, 0.307, 0.461, 0.662, 0.914, 1.234, 1.619],
       [27.70, 29.36, 31.13, 32.95, 34.97, 36.91, 38.84, 40.63])
# A non-monotone-spaced 6-point curve and a partial-overlap partner.
six = ([0.10, 0.18, 0.25, 0.50, 0.60, 1.40], [26.0, 28.3, 29.1, 32.5, 33.0, 37.2])
six_t = ([0.15, 0.21, 0.40, 0.55, 0.90, 2.00], [27.9, 28.8, 31.8, 33.1, 35.6, 39.5])

cases = [
    ("fau-example", fau_a, fau_t),
    ("fau-high-rate", fau2_a, fau2_t),
    ("kodak-webp-vs-jpeg", jpeg, webp),
    ("kodak-bpg-vs-jpeg", jpeg, bpg),
    ("kodak-vtm-vs-bpg", bpg, vtm),
    ("kodak-av1-vs-webp", webp, av1),
    ("kodak-mbt2018mean-vs-bpg", bpg, mbt),
    ("kodak-vtm-vs-mbt2018mean", mbt, vtm),
    ("six-point-partial-overlap", six, six_t),
]

out = {"generator": "bench/rd/reference/make_bd_ref.py",
       "libraries": {"numpy": np.__version__, "scipy": scipy.__version__, "bjontegaard": "1.3.0"},
       "cases": []}
for name, (ra, qa), (rt, qt) in cases:
    c = {"name": name, "anchor": {"rate": ra, "quality": qa}, "test": {"rate": rt, "quality": qt}}
    for m in ("pchip", "cubic"):
        r, p = bd_rate(ra, qa, rt, qt, m), bd_psnr(ra, qa, rt, qt, m)
        kw = {"method": m, "require_matching_points": False}
        if m == "cubic" and (len(ra) < 4 or len(rt) < 4):
            continue
        r2 = bjontegaard.bd_rate(ra, qa, rt, qt, **kw)
        p2 = bjontegaard.bd_psnr(ra, qa, rt, qt, **kw)
        assert abs(r - r2) < 1e-8 and abs(p - p2) < 1e-10, (name, m, r, r2, p, p2)
        c[m] = {"bdRate": r, "bdPsnr": p}
    out["cases"].append(c)
json.dump(out, sys.stdout, indent=2)
print()
