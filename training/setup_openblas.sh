#!/bin/sh
# Unpack Debian's OpenBLAS into training/.venv/openblas (no system change).
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb root)
mkdir -p .venv
rm -rf .venv/openblas
cp -r "$tmp"/root/usr/lib/x86_64-linux-gnu/openblas-pthread .venv/openblas
rm -rf "$tmp"
echo "OpenBLAS in $(pwd)/.venv/openblas; now: . training/env.sh"
