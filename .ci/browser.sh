#!/usr/bin/env bash
# The report's browser tests drive Debian's chromium (never a downloaded browser build):
# install it when it is missing.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version 2>/dev/null | head -1 || true
