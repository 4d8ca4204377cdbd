#!/usr/bin/env bash
# The whole test suite: lint, then pytest on SQLite and on a throwaway PostgreSQL 15 that this
# script starts (unix socket only) and removes again. Used by `make test` and by .ci/run.
# Under CI=true a missing PostgreSQL or chromium is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
in_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }

# System packages a fresh Debian 12 lacks: PostgreSQL 15 server and chromium (browser tests).
need=()
[ -x "$PG_BIN/initdb" ] || need+=(postgresql-15)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "Installing ${need[*]} …"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: missing ${need[*]} and no root to install them" >&2
  fi
fi

bash scripts/setup_venv.sh
.venv/bin/ruff check crm tests pages Home.py

pg_dir=""
cleanup() { [ -n "$pg_dir" ] && scripts/throwaway_postgres.sh stop "$pg_dir"; }
trap cleanup EXIT
if pg_env=$(scripts/throwaway_postgres.sh start); then
  eval "$pg_env"
  pg_dir=$PG_TMPDIR
  echo "Throwaway PostgreSQL at $CRM_TEST_POSTGRES_URL"
elif in_ci; then
  echo "error: PostgreSQL could not be started; CI requires the PostgreSQL tests." >&2
  exit 1
else
  echo "warning: PostgreSQL could not be started; its tests will be skipped." >&2
fi

# Two workers for two cores; each browser test file starts its own app server.
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
