#!/bin/bash
# Fine-tune other rate points from a base checkpoint, one after the other, then
# export each to resources/models. Detached, nice'd, 1 thread:
#   nohup setsid training/finetune_lambdas.sh <base.pt> <steps> [lambdas...] > training/runs/finetune.log 2>&1 &
# Each run is resumable: re-running the script continues unfinished runs
# (train.py resumes from <run>/last.pt) and re-exports.
set -e
cd "$(dirname "$0")/.."
. training/env.sh
base="$1"; steps="$2"; shift 2
if [ $# -gt 0 ]; then lambdas=("$@"); else lambdas=(0.0018 0.0035 0.013); fi
# Freeze the base: the main run keeps overwriting its last.pt.
snap="training/runs/finetune-base.pt"
[ -e "$snap" ] || cp "$base" "$snap"
for l in "${lambdas[@]}"; do
  tag=$(printf "%05.0f" "$(echo "$l * 10000" | bc -l)")   # 0.0018 -> 00018
  tag="l${tag:1}"                                          # -> l0018, 0.013 -> l0130
  run="training/runs/c64-$tag"
  nice -n 10 /usr/bin/python3 -m sgai_train.train --run "$run" --n 64 --m 96 --lmbda "$l" \
    --steps "$steps" --lr-drop-at $((steps * 9 / 10)) --init-from "$snap" --seed 2 --threads 1 --ckpt-minutes 5
  nice -n 10 /usr/bin/python3 -m sgai_train.export --ckpt "$run/last.pt" \
    --out "resources/models/sgai-msh-c64-$tag.safetensors"
done
echo "finetune chain done"
