#!/bin/bash
# Wait for a run's training process to end, then export it:
#   training/export_when_done.sh <run-name> <model-id> [export args...]
set -e
cd "$(dirname "$0")/.."
. training/env.sh
run="training/runs/$1"; id="$2"; shift 2
while kill -0 "$(cat "$run/pid")" 2>/dev/null; do sleep 20; done
nice -n 10 /usr/bin/python3 -m sgai_train.export --ckpt "$run/last.pt" --out "resources/models/$id.safetensors" "$@"
