# Shortcuts; the README's two commands call the scripts directly (no make needed on a fresh machine).
.PHONY: run test lint bench

run:
	bash scripts/run_app.sh

test:
	bash scripts/run_tests.sh

lint:
	bash scripts/setup_venv.sh && .venv/bin/ruff check crm tests pages Home.py

## Benchmarks at 100k customers / 1M orders on SQLite and a throwaway PostgreSQL (prints a table).
bench:
	bash scripts/setup_venv.sh && .venv/bin/python -m crm bench
