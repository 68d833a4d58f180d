#!/usr/bin/env bash
# Install Debian packages the setup needs (as root, or through sudo when available).
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "please install these Debian packages: $*" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "$@" >/dev/null
