# The two commands of the README:  `make serve`  and  `make test`. Both install first (idempotent).
.PHONY: setup setup-serve serve test lint bench gtm

setup:
	@bash scripts/setup.sh

setup-serve:
	@bash scripts/setup.sh serve

serve: setup-serve
	.venv/bin/gtm-mcp serve --transport http --port 8765

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check .

bench: setup
	.venv/bin/python benchmarks/server_throughput.py

# The first GTM: the packaged SmolLM2-135M fine-tuned on CPU on a synthesis export, installed as
# `gtm-smollm2` in the models cache (`make gtm EXPORT=path/to/export`; RESUME=1 continues a build).
gtm: setup
	@test -n "$(EXPORT)" || { echo "make gtm EXPORT=path/to/export (written by gtm-synth export)"; exit 2; }
	.venv/bin/gtm-train build --data "$(EXPORT)" $(if $(RESUME),--resume)
