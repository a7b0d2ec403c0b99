#!/bin/bash
# This session's standard-family plan (CPU, 1 thread per run). Two lanes, each waiting for a core:
#   training/chain_standard.sh base   # when the λ=0.0067 standard run ends: export it, fine-tune 0.0932 then 0.025
#   training/chain_standard.sh second # when the compact re-fine-tunes end: fine-tune 0.0018
# Fine-tunes start from the finished λ=0.0067 standard run with an automatic latent gain.
set -e
cd "$(dirname "$0")/.."
. training/env.sh
ft="${FT_STEPS:-150}"
base_run=training/runs/s128-l0067
while kill -0 "$(cat "$base_run/pid")" 2>/dev/null; do sleep 20; done
if [ "$1" = base ]; then
  nice -n 10 "$SGAI_PYTHON" -m sgai_train.export --ckpt "$base_run/last.pt" --out resources/models/sgai-msh-s128-l0067.safetensors \
    --history "Run s128-l0067 (seed 3): the compact run c64-l0067 at step 4054 widened to N=128/M=192 (sgai_train.widen), then Adam lr 5e-4 with a 100-step warm-up, x0.1 for the last 40 steps."
  LATENT_GAIN=auto training/finetune_lambdas.sh s128 128 192 "$base_run/last.pt" "$ft" 0.0932 0.025
else
  until grep -q "finetune chain done: c64" training/runs/chain-compact-gain.log 2>/dev/null; do sleep 30; done
  sleep 60  # let the base lane take its snapshot of the finished run first
  LATENT_GAIN=auto training/finetune_lambdas.sh s128 128 192 "$base_run/last.pt" "$ft" 0.0018
fi
