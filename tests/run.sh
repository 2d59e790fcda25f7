#!/usr/bin/env bash
# Install what the tests need (Python packages, Debian's chromium, postgresql and nginx) and run them, offline.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's packages the tests drive: chromium (browser tests), postgresql (tests/postgres.py starts a throwaway
# cluster with its binaries), nginx (two replicas behind deploy/nginx.conf). One apt-get run for what is missing.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python -m pip install -q --disable-pip-version-check -r requirements-test.txt

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
python -m ruff check --quiet arena tests assets app.py
python -m pytest "$@"
