#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 on a unix socket in a temp dir and print its SQLAlchemy URL.
# Usage: eval "$(scripts/throwaway_postgres.sh start)"  ...  scripts/throwaway_postgres.sh stop "$PG_TMPDIR"
# initdb refuses to run as root, so as root the cluster is owned by (and run as) the postgres user.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_owner() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    [ -x "$PG_BIN/initdb" ] || { echo "echo 'PostgreSQL server binaries not found in $PG_BIN' >&2"; exit 3; }
    dir=$(mktemp -d /tmp/crm-pg.XXXXXX)
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$dir"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U crm --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 4; }
    # Unix socket only (listen_addresses=''), fsync off: this data is thrown away after the run.
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=512MB -c work_mem=64MB" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 5; }
    as_owner "$PG_BIN/createdb" -h "$dir" -U crm crm
    echo "export PG_TMPDIR=$dir"
    echo "export CRM_TEST_POSTGRES_URL='postgresql+psycopg2://crm@/crm?host=$dir'"
    ;;
  stop)
    dir=${2:?temp dir}
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
