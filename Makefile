# The two commands of the README:  `make serve`  and  `make test`. Both install first (idempotent).
.PHONY: setup setup-serve serve test lint bench

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
