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
