# Source this before training on the CPU dev box:  . training/env.sh
# Debian's torch 1.13 links the reference BLAS (BLAS_INFO=generic), which makes
# convolutions ~6x slower; a private OpenBLAS (setup_openblas.sh) fixes that
# without touching the system's BLAS alternative.
_here="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [ -e "$_here/.venv/openblas/libblas.so.3" ]; then
  export LD_LIBRARY_PATH="$_here/.venv/openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export PYTHONPATH="$_here${PYTHONPATH:+:$PYTHONPATH}"
# PyPI's torch (2.x, oneDNN, torch.compile) trains 1.4-1.7x faster per step than Debian's
# 1.13 + OpenBLAS here (training/README.md); setup_torch.sh puts it in .venv/torch. CI and
# the pytest suite keep Debian's small torch.
if [ -x "$_here/.venv/torch/bin/python" ]; then
  export SGAI_PYTHON="${SGAI_PYTHON:-$_here/.venv/torch/bin/python}"
else
  export SGAI_PYTHON="${SGAI_PYTHON:-/usr/bin/python3}"
fi
