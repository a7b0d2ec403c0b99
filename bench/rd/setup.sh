#!/usr/bin/env bash
# Installs the classic codec command-line tools the R-D benchmark compares against (Debian 12).
# Each is optional: bench:rd skips a codec whose binaries are missing and says why.
#   libjpeg-turbo-progs  cjpeg/djpeg (baseline JPEG anchor)
#   webp                 cwebp/dwebp
#   libavif-bin          avifenc/avifdec (libaom inside)
#   libjxl-tools         cjxl/djxl
#   libheif-examples     heif-enc/heif-dec (HEVC via libx265 / libde265)
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  libjpeg-turbo-progs webp libavif-bin libjxl-tools libheif-examples
# The reference generators under bench/rd/reference/ (optional, only to regenerate test numbers)
# also want python3-numpy and python3-scipy: pass --reference to install them.
if [ "${1:-}" = "--reference" ]; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-numpy python3-scipy python3-venv
fi
