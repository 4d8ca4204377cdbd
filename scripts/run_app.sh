#!/usr/bin/env bash
# Run Pulse CRM on the embedded SQLite database (data/crm.db) with demo data, in demo mode.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
mkdir -p data
# A random cookie-signing key per checkout, kept in data/ (production sets CRM_COOKIE_KEY itself).
[ -s data/.cookie_key ] || .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(32))" > data/.cookie_key
export CRM_COOKIE_KEY=${CRM_COOKIE_KEY:-$(cat data/.cookie_key)}
export CRM_DEMO_MODE=${CRM_DEMO_MODE:-1}
.venv/bin/python -m crm init
.venv/bin/python -m crm demo --customers 5000 --orders 50000 --if-empty
exec .venv/bin/streamlit run Home.py --server.address "${CRM_ADDRESS:-127.0.0.1}" --server.port "${CRM_PORT:-8501}" "$@"
