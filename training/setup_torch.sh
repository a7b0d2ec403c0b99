#!/bin/bash
# Once per machine: PyPI's current torch in training/.venv/torch (about 5 GB with its nvidia-*
# wheels, which it needs to import; it then runs on the CPU with oneDNN). For training only:
# CI and the test suite use Debian's python3-torch.
set -e
cd "$(dirname "$0")"
[ -x .venv/torch/bin/python ] || /root/.pyenv/versions/3.11.7/bin/python3 -m venv .venv/torch 2>/dev/null || python3 -m venv .venv/torch
.venv/torch/bin/pip install -q torch numpy pillow pytest safetensors
.venv/torch/bin/python -c 'import torch; print("torch", torch.__version__)'
