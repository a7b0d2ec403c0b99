#!/bin/bash
# This session's standard-family plan (CPU): the λ=0.0067 standard run (widened from the compact
# model, training/runs/s128-l0067) keeps going on one core; once the compact chain has freed the
# other core, the other rates are fine-tuned from a snapshot of it, one after the other.
#   nohup setsid training/chain_standard.sh > training/runs/chain-standard.log 2>&1 &
set -e
cd "$(dirname "$0")/.."
. training/env.sh
ft="${FT_STEPS:-150}"
until grep -q "finetune chain done: c64" training/runs/chain-compact.log 2>/dev/null; do sleep 30; done
snap="training/runs/s128-finetune-base.pt"
[ -e "$snap" ] || cp training/runs/s128-l0067/last.pt "$snap"
echo "fine-tuning from $(/usr/bin/python3 -c "import torch; print('step', torch.load('$snap', map_location='cpu')['step'])")"
training/finetune_lambdas.sh s128 128 192 "$snap" "$ft" 0.0018 0.025 0.0932
