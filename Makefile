# Two entry points for a fresh Debian machine with Python 3.11: `make run` and `make test`.
VENV := .venv
PYTHON := $(VENV)/bin/python
# A random cookie key per checkout; production sets CRM_COOKIE_KEY itself.
KEY_FILE := data/.cookie_key

.PHONY: run test venv lint bench

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

## Run the app on the embedded SQLite database with demo data (http://localhost:8501).
run: venv
	mkdir -p data
	test -s $(KEY_FILE) || $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $(KEY_FILE)
	$(PYTHON) -m crm init
	$(PYTHON) -m crm demo --customers 5000 --orders 50000 --if-empty
	CRM_DEMO_MODE=1 CRM_COOKIE_KEY=$$(cat $(KEY_FILE)) $(VENV)/bin/streamlit run Home.py

## Run every test on SQLite and a throwaway PostgreSQL 15 (started and stopped here).
test:
	bash scripts/run_tests.sh

lint: venv
	$(VENV)/bin/ruff check crm tests pages Home.py

## Benchmarks at 100k customers / 1M orders on SQLite and PostgreSQL (prints a table).
bench: venv
	bash scripts/run_bench.sh
