#!/bin/bash
# Start (or resume) a training run detached, 1 thread, nice'd.
#   training/launch_bg.sh <run-name> [train args...]
# Re-running the same command resumes from training/runs/<run-name>/last.pt.
set -e
cd "$(dirname "$0")/.."
. training/env.sh
name="$1"; shift
run="training/runs/$name"
mkdir -p "$run"
nohup setsid nice -n 10 "$SGAI_PYTHON" -m sgai_train.train --run "$run" --threads 1 "$@" \
  >>"$run/stdout.log" 2>&1 < /dev/null &
echo $! > "$run/pid"
echo "started pid $(cat "$run/pid") -> $run"
