#!/bin/sh
# Install the real CompressAI for Debian's /usr/bin/python3 (3.11, python3-torch 1.13) without
# pulling PyPI's multi-GB torch: every PyPI package goes in with --no-deps, and the compiled
# dependencies come from Debian, built against Debian's torch. Only the interop tests need it
# (training/tests/test_import_compressai.py, the fixture generator); sgai import-model does not.
#
# Why each piece: compressai 1.2.8 ships a cp311 wheel whose rANS extensions (ans, _CXX) are
# plain pybind11 modules (no libtorch ABI), so it works with torch 1.13 although its metadata
# asks for >= 1.13.1. `import compressai` imports its whole registry, which needs torchvision
# and torch_geometric.transforms (no torch_geometric extension modules), pandas, tqdm, einops
# and pytorch_msssim; torch_geometric.utils imports scipy.sparse. PyPI has no torchvision for
# torch 1.13 on Python 3.11; Debian does (and its scipy matches Debian's numpy).
# Idempotent: does nothing when compressai already imports.
set -e
PY=/usr/bin/python3
if "$PY" -c 'import compressai' 2>/dev/null; then
  "$PY" -c 'import compressai; print("compressai", compressai.__version__, "already installed")'
  exit 0
fi
if ! "$PY" -c 'import torchvision, tqdm, pandas, scipy.sparse' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-torchvision python3-tqdm python3-pandas python3-scipy >/dev/null
fi
"$PY" -m pip install -q --no-deps --break-system-packages --root-user-action=ignore \
  compressai==1.2.8 torch_geometric==2.3.1 einops==0.8.2 pytorch-msssim==1.0.0
"$PY" -c 'import compressai; from compressai.models import MeanScaleHyperprior; print("compressai", compressai.__version__)'
