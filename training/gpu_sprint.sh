#!/bin/bash
# Train the shipped family on a lent GPU for a fixed wall budget; weights land in OUT as it goes.
#   bash training/gpu_sprint.sh [--budget-s 540] [--out "$OUT"] [--tiny] [--preflight] [sgai_train.sprint run options]
# Device tool: command `bash training/gpu_sprint.sh --out "$OUT"`, carry ["carry/sprint-pack"],
# timeout_s 600 (the budget includes startup; 540 s leaves the tool's 600 s limit a margin).
# --preflight (run HERE before firing): prints the travelling tree size, fails if over 64 MiB.
# --tiny: the CI path (same code, CPU or GPU, N=32/M=48, 2 lambdas, ~60 s budget).
# No Node, no network, no datasets needed: only the working tree and the carried pack.
t0=$(date +%s.%N)  # the budget counts from here, interpreter startup included
set -eo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-training/runs/sprint-out}" budget="" family=compact preflight="" rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --budget-s) budget="$2"; shift 2 ;;
    --tiny) family=tiny; shift ;;
    --family) family="$2"; shift 2 ;;
    --preflight) preflight=1; shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
[ "${SGAI_SPRINT_TINY:-}" = 1 ] && family=tiny
budget="${budget:-$([ $family = tiny ] && echo 60 || echo 540)}"
PY="${SGAI_PYTHON:-python3}"  # on the device machine python3 is the one with torch + CUDA
export PYTHONPATH="$PWD/training${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -n "$preflight" ]; then
  exec "$PY" -m sgai_train.sprint preflight "${rest[@]}"
fi
mkdir -p "$out"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
# sprint.out is one of the <= 8 files that come back (5 models + cards.json + sprint-log.json + it).
"$PY" -m sgai_train.sprint run --t0 "$t0" --out "$out" --budget-s "$budget" --family "$family" "${rest[@]}" 2>&1 \
  | tee "$out/sprint.out"
