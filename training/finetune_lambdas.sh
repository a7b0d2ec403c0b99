#!/bin/bash
# Fine-tune other rate points from a base checkpoint, one after the other, then
# export each to resources/models. Detached, nice'd, 1 thread:
#   nohup setsid training/finetune_lambdas.sh <family> <N> <M> <base.pt> <steps> <lambda>... \
#     > training/runs/<family>-finetune.log 2>&1 &
# <family> is the model-id stem: c64 (compact N=64/M=96) or s128 (standard N=128/M=192).
# LATENT_GAIN=auto (or a number) starts each fine-tune from the base with its latents rescaled to
# suit the new lambda (sgai_train.latent_gain); without it the optimiser alone moves the rate.
# Each run is resumable: re-running the script continues unfinished runs
# (train.py resumes from <run>/last.pt) and re-exports.
set -e
cd "$(dirname "$0")/.."
. training/env.sh
family="$1"; n="$2"; m="$3"; base="$4"; steps="$5"; shift 5
[ $# -gt 0 ] || { echo "usage: $0 <family> <N> <M> <base.pt> <steps> <lambda>..." >&2; exit 2; }
# Freeze the base: its run may keep overwriting its last.pt.
snap="training/runs/$family-finetune-base.pt"
[ -e "$snap" ] || cp "$base" "$snap"
for l in "$@"; do
  tag=$(printf "%05.0f" "$(echo "$l * 10000" | bc -l)")   # 0.0018 -> 00018
  tag="l${tag:1}"                                          # -> l0018, 0.013 -> l0130, 0.0932 -> l0932
  run="training/runs/$family-$tag"
  nice -n 10 "$SGAI_PYTHON" -m sgai_train.train --run "$run" --n "$n" --m "$m" --lmbda "$l" \
    --steps "$steps" --lr-drop-at $((steps * 9 / 10)) --init-from "$snap" --warmup 20 --seed 2 --threads 1 --ckpt-minutes 5 \
    ${LATENT_GAIN:+--latent-gain "$LATENT_GAIN"}
  nice -n 10 "$SGAI_PYTHON" -m sgai_train.export --ckpt "$run/last.pt" \
    --out "resources/models/sgai-msh-$family-$tag.safetensors"
done
echo "finetune chain done: $family"
